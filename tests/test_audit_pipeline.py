"""The audit overlaps dates: the engine analyses a date while the main process finishes the one
before. Findings are the same as auditing date by date, at most two dates are read at once, and a
date that cannot be read fails the run only after the dates before it are written."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import audit as audit_module
from auditor import lake
from auditor.audit import audit
from auditor.cli import cli
from auditor.engines import chunk, local
from auditor.errors import AuditorError
from auditor.ingest import ingest
from auditor.lake_view import LakeView
from auditor.sample import TZ, generate
from auditor.workspace import Workspace

DATES = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]


def repeated_on_the_last_date(exports: Path) -> None:
    """Two messages of one sender five minutes apart on the last date, beside the archive: a repeat
    (not a burst) that fires whatever the generated chat holds."""
    first = json.loads((exports / f"archive-{DATES[0]}.jsonl").read_text(encoding="utf-8").splitlines()[0])
    noon = dt.datetime.fromisoformat(f"{DATES[-1]}T15:00:00").replace(tzinfo=TZ)
    records = [
        first
        | {
            "msgid": f"repeat-{i}",
            "msgtime": round((noon + dt.timedelta(minutes=5 * i)).timestamp() * 1000),
            "msgtype": "text",
            "text": {"content": "这周的周报大家记得交一下"},
            "seq": 10**9 + i,
        }
        for i in range(2)
    ]
    (exports / "repeat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Workspace:
    """A realistic four-day archive, with repeats made to fire (2 near-identical messages in 10
    minutes) so the repeat keys the engine keeps from date to date are exercised too."""
    root = tmp_path_factory.mktemp("pipeline")
    generate(root / "archive", messages=2400, groups=4, days=4, seed=5, realism="real")
    repeated_on_the_last_date(root / "archive" / "exports")
    ws = Workspace(root / "base")
    ws.init()
    shutil.copytree(root / "archive" / "company-dictionaries", ws.dictionaries_dir, dirs_exist_ok=True)
    config = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(
        config.replace("repeat_messages = 5", "repeat_messages = 2").replace(
            "repeat_seconds = 300", "repeat_seconds = 600"
        ),
        encoding="utf-8",
    )
    ingest(ws, [root / "archive" / "exports"])
    assert lake.dates(ws.messages_dir) == DATES
    return ws


def copy(base: Workspace, tmp_path, name: str) -> Workspace:
    ws = Workspace(tmp_path / name)
    shutil.copytree(base.root, ws.root)
    return ws


def findings(ws: Workspace) -> dict[str, bytes]:
    return {d: lake.findings_path(ws.findings_dir, d).read_bytes() for d in lake.dates(ws.findings_dir)}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_pipelined_audit_writes_what_a_date_by_date_one_writes(
    workers, base, tmp_path, runner, monkeypatch
):
    monkeypatch.setattr(chunk, "CHUNK", 100)  # many chunks, so the pool really spreads the work
    together, apart = copy(base, tmp_path, "together"), copy(base, tmp_path, "apart")
    result = runner.invoke(cli, ["-w", str(together.root), "audit", "--workers", workers])
    assert result.exit_code == 0, result.output
    for date in DATES:  # a fresh engine per date: nothing is carried over or overlapped
        result = runner.invoke(cli, ["-w", str(apart.root), "audit", "--workers", workers, "--date", date])
        assert result.exit_code == 0, result.output
    assert findings(together) == findings(apart) and len(findings(together)) == len(DATES)
    rules = lake.read_partition(together.findings_dir, DATES[-1], lake.FINDING_SCHEMA, ["rule"])
    assert "flooding.repeat" in rules.column("rule").to_pylist()


def test_the_next_date_is_analysed_while_this_one_finishes(base, tmp_path, monkeypatch):
    monkeypatch.setattr(chunk, "CHUNK", 100)
    steps: list[tuple[str, str]] = []

    def logged(step, function, date_of):
        def call(*args, **kwargs):
            steps.append((step, date_of(*args)))
            return function(*args, **kwargs)

        return call

    date_of_keys: dict[int, str] = {}  # a date's keys are submitted without the date
    read = audit_module.read_date

    def read_date(date, sources):
        messages = read(date, sources)
        date_of_keys[id(messages.keys)] = date
        return messages

    monkeypatch.setattr(audit_module, "read_date", logged("read", read_date, lambda d, s: d))
    finish = logged("finish", audit_module.finish_date, lambda m, *rest: m.date)
    monkeypatch.setattr(audit_module, "finish_date", finish)
    submit = logged("submit", local.LocalEngine.submit, lambda engine, keys: date_of_keys[id(keys)])
    monkeypatch.setattr(local.LocalEngine, "submit", submit)
    audit(copy(base, tmp_path, "ws"), DATES, workers=2)
    first, second, third, fourth = DATES
    assert steps == [
        ("read", first),
        ("submit", first),
        ("read", second),  # while the first is analysed
        ("submit", second),  # before the first is collected: the workers go straight on
        ("finish", first),  # while the second is analysed
        ("read", third),  # the first is finished: two dates in memory at most
        ("submit", third),
        ("finish", second),
        ("read", fourth),
        ("submit", fourth),
        ("finish", third),
        ("finish", fourth),
    ]


def test_a_date_may_be_submitted_one_ahead_and_dates_are_collected_in_order(base):
    from auditor.analyzer import Ruleset

    engine = local.LocalEngine(Ruleset(base.config, base.dictionaries_dir), workers=1)
    first = engine.submit(chunk.DateKeys.of_keys([("收到", False)]))
    second = engine.submit(chunk.DateKeys.of_keys([("好的", False)]))
    with pytest.raises(RuntimeError, match="two before it"):
        engine.submit(chunk.DateKeys.of_keys([("好", False)]))
    with pytest.raises(RuntimeError, match="in the order"):
        engine.collect(second)
    assert engine.collect(first).to_pylist() == ["收到"]
    assert engine.collect(second).to_pylist() == ["好的"]
    engine.close()


def test_a_date_that_cannot_be_read_fails_after_the_dates_before_it_are_written(base, tmp_path, monkeypatch):
    ws = copy(base, tmp_path, "ws")
    real = LakeView.read_day

    def read_day(view, date):
        if date == DATES[2]:
            raise AuditorError(f"corrupt messages partition for {date}")
        return real(view, date)

    monkeypatch.setattr(LakeView, "read_day", read_day)
    done: list[str] = []
    with pytest.raises(AuditorError, match="corrupt"):
        audit(ws, DATES, workers=2, on_date=lambda date, messages, found: done.append(date))
    assert done == DATES[:2] and lake.dates(ws.findings_dir) == DATES[:2]


def test_the_pool_starts_before_the_first_date_only_when_that_date_fills_two_chunks(base, tmp_path):
    """A day of a few hundred messages is analysed inline: starting workers (a CPU second each)
    for it would cost more than it saves. A larger first date starts them while it is read."""
    from auditor.analyzer import Ruleset

    view = LakeView.of_workspace(base)
    assert view.message_count(DATES[0]) == len(view.read_day(DATES[0]).frame) == 600
    engine = local.LocalEngine(Ruleset(base.config, base.dictionaries_dir), workers=2)
    engine.start(view.message_count(DATES[0]))
    assert engine._pool is None
    engine.start(chunk.CHUNK + 1)
    assert engine._pool is not None  # a thread starts it; the first chunk sent waits for it
    assert engine._started_pool() is engine._pool.pool()
    engine.close()


def test_the_message_count_of_an_unreadable_date_is_left_to_the_read_to_report(base, tmp_path):
    ws = copy(base, tmp_path, "ws")
    for path in lake.partition_files(ws.messages_dir, DATES[0]):
        path.write_bytes(b"not parquet")
    view = LakeView.of_workspace(ws)
    assert view.message_count(DATES[0]) == 0
    with pytest.raises(pa.ArrowInvalid):  # what the audit's read of the date then fails with
        view.read_day(DATES[0])


KEYS = [("收到", False), ("好的", False), ("你这个傻逼", False), ("傻逼", False), ("报价单.xlsx", True)]
KEYS += [("操场上见", False), ("收到", True), ("👍", False), ("http://bit.ly/x 领红包", False)]


def _run(engine: local.LocalEngine, dates: list[list], ahead: bool) -> tuple[list, list, dict]:
    """Each date's analysed keys and repeat keys, the dates submitted one ahead or one by one."""
    analysed, repeats = [], []

    def collect(submitted):
        repeats.append(engine.collect(submitted).to_pylist())
        positions = np.concatenate([np.empty(0, dtype=np.int64), *submitted.work])
        analysed.append(sorted(submitted.keys.keys(positions)))

    pending = None
    for keys in dates:
        submitted = engine.submit(chunk.DateKeys.of_keys(keys))
        if not ahead:
            collect(submitted)
        elif pending is not None:
            collect(pending)
        pending = submitted
    if ahead and pending is not None:
        collect(pending)
    return analysed, repeats, engine.hits


@pytest.fixture(scope="module")
def analyzer(base):
    from auditor.analyzer import Ruleset, audit_analyzer

    return audit_analyzer(Ruleset(base.config, base.dictionaries_dir))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(KEYS)), max_size=12), min_size=1, max_size=4))
def test_submitting_ahead_analyses_the_same_keys_as_date_by_date(base, analyzer, dates):
    """The next date sent before this one is collected waits only for the keys they share: the keys
    analysed, the repeat keys and the hits are those of dates analysed one after the other."""
    from auditor.analyzer import Ruleset

    runs = []
    for ahead in (False, True):
        engine = local.LocalEngine(Ruleset(base.config, base.dictionaries_dir), workers=1)
        engine._analyzer = analyzer  # built once for every example
        runs.append(_run(engine, dates, ahead))
        engine.close()
    assert runs[0] == runs[1]


def test_the_pool_sends_a_date_ahead_and_the_shared_keys_after(base, monkeypatch):
    from auditor.analyzer import Ruleset

    monkeypatch.setattr(chunk, "CHUNK", 2)  # every date fills several chunks: the pool's path
    dates = [KEYS[:5] * 3, [KEYS[0], *KEYS[2:], ("新的一句话", False)] * 2, KEYS[::2] * 2]
    runs = []
    for ahead, workers in ((False, 1), (True, 2)):
        engine = local.LocalEngine(Ruleset(base.config, base.dictionaries_dir), workers=workers)
        runs.append(_run(engine, dates, ahead))
        assert (engine._pool is not None) is (workers == 2)
        engine.close()
    assert runs[0] == runs[1]
    analysed = runs[0][0]
    assert ("收到", False) in analysed[0] and ("收到", False) not in analysed[1]  # repeated: kept
    assert ("收到", True) in analysed[1]  # the same text as a file name: not the same key
    assert ("新的一句话", False) in analysed[1]
