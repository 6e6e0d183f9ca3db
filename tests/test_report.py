"""Reports: content, masking, markup and path safety, summary.json, snapshots."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zoneinfo
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor import lake
from auditor.cli import cli
from auditor.report.model import ReportSources, local_hours, page_name
from auditor.report.render import render_day, report
from tests import report_fixture

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    ws = report_fixture.build(tmp_path_factory.mktemp("report"))
    report(ws, ["2026-11-16"])
    return ws


def pages(ws) -> dict[str, str]:
    folder = ws.reports_dir / "2026-11-16"
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.html"))}


def test_index_group_pages_and_summary(reported):
    folder = reported.reports_dir / "2026-11-16"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["masked"] is True
    assert {g["roomid"] for g in summary["groups"]} == {"wrA", "wrC", report_fixture.TRAVERSAL_ROOM}
    for group in summary["groups"]:
        assert (folder / group["page"]).is_file()
    risks = [g["risk"] for g in summary["groups"]]
    assert risks == sorted(risks, reverse=True)
    assert summary["totals"]["findings"] == sum(g["findings"] for g in summary["groups"])
    assert (
        summary["ingest"]["records"]
        == summary["ingest"]["accepted"] + summary["ingest"]["duplicates"] + summary["ingest"]["rejected"]
    )
    index = pages(reported)["index.html"]
    assert "企业微信群合规日报" in index and "<svg" in index


@pytest.mark.parametrize(
    "payload",
    ["<script>window.__pwned", "<img src=x onerror", "<svg onload", "<b>内部</b>", "<script>alert(1)"],
)
def test_message_content_never_becomes_markup(reported, payload):
    for name, html in pages(reported).items():
        assert payload not in html, name


def test_javascript_links_are_text_never_links(reported):
    for html in pages(reported).values():
        assert not re.search(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I)
        assert not re.search(r"""(?:href|src)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)  # nothing external


def test_escaped_content_is_still_shown(reported):
    html = pages(reported)[f"groups/{page_name('wrA')}"]
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;傻逼" in html
    assert "研发部&lt;b&gt;内部&lt;/b&gt;群" in html


def test_room_ids_never_become_paths(reported):
    folder = reported.reports_dir / "2026-11-16"
    names = {p.name for p in (folder / "groups").iterdir()}
    assert page_name(report_fixture.TRAVERSAL_ROOM) in names
    assert all(re.fullmatch(r"g-[0-9a-f]{16}\.html", n) for n in names)
    assert not (reported.root / "etc").exists() and not (reported.reports_dir / "etc").exists()


def test_personal_data_masked_everywhere_by_default(reported):
    for html in pages(reported).values():
        assert report_fixture.PHONE not in html
    assert any("138****5678" in html for html in pages(reported).values())


def test_every_page_has_a_content_security_policy(reported):
    for html in pages(reported).values():
        assert 'http-equiv="Content-Security-Policy"' in html and "default-src 'none'" in html


def test_unmasked_needs_the_flag_and_marks_every_page_restricted(reported, tmp_path):
    sources = ReportSources.of_workspace(reported)
    render_day(sources, "2026-11-16", tmp_path, unmasked=True)
    htmls = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")]
    assert any(report_fixture.PHONE in h for h in htmls)
    assert all("RESTRICTED" in h for h in htmls)
    assert (
        json.loads((tmp_path / "2026-11-16" / "summary.json").read_text(encoding="utf-8"))["masked"] is False
    )
    assert not any("RESTRICTED" in h for h in pages(reported).values())


def test_english_labels(reported, tmp_path):
    render_day(ReportSources.of_workspace(reported), "2026-11-16", tmp_path, lang="en")
    index = (tmp_path / "2026-11-16" / "index.html").read_text(encoding="utf-8")
    assert "WeCom group compliance report" in index and 'lang="en"' in index


def test_rerender_replaces_the_folder_and_leaves_no_temporary_files(reported):
    report(reported, ["2026-11-16"])
    assert not [p for p in reported.reports_dir.iterdir() if p.name.startswith(".")]


def test_report_cli(runner, reported, tmp_path):
    ok = runner.invoke(cli, ["-w", str(reported.root), "report", "--date", "2026-11-16"])
    assert ok.exit_code == 0 and ok.output.strip().endswith("2026-11-16/index.html")
    english = runner.invoke(
        cli,
        ["-w", str(reported.root), "report", "--date", "2026-11-16", "--lang", "en", "--out", str(tmp_path)],
    )
    assert english.exit_code == 0 and english.output.strip() == str(tmp_path / "2026-11-16" / "index.html")
    missing = runner.invoke(cli, ["-w", str(reported.root), "report", "--date", "2026-12-01"])
    assert missing.exit_code == 2 and "no messages in the lake" in missing.output


def test_report_of_an_unaudited_date_is_a_clear_error(runner, reported, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reported.root, copy)
    shutil.rmtree(copy / "lake" / "findings")
    result = runner.invoke(cli, ["-w", str(copy), "report", "--date", "2026-11-16"])
    assert result.exit_code == 2 and "has not been audited yet" in result.output


@pytest.mark.parametrize("page", ["index.html", "group.html"])
def test_snapshot_of_the_fixture_day(reported, tmp_path, page):
    """Rendered HTML for the fixed day; UPDATE_SNAPSHOTS=1 rewrites the snapshots (deliberate changes)."""
    render_day(
        ReportSources.of_workspace(reported), "2026-11-16", tmp_path, generated_at="2026-11-17 06:00:00 CST"
    )
    folder = tmp_path / "2026-11-16"
    html = (folder / ("index.html" if page == "index.html" else f"groups/{page_name('wrA')}")).read_text(
        "utf-8"
    )
    html = re.sub(r"wecom-auditor \d+\.\d+\.\d+", "wecom-auditor X", html)
    html = re.sub(
        r"(规则版本|Ruleset) [0-9a-f]{16}", r"\1 X", html
    )  # dictionaries change often; layout rarely
    snapshot = SNAPSHOTS / page
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(html, encoding="utf-8")
    assert snapshot.exists(), f"no snapshot {snapshot}: run UPDATE_SNAPSHOTS=1 pytest {__file__}"
    assert html == snapshot.read_text(encoding="utf-8")


def test_overview_lists_every_reported_date(reported):
    overview = (reported.reports_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="2026-11-16/index.html"' in overview
    assert "default-src 'none'" in overview and "<script" not in overview
    day_index = (reported.reports_dir / "2026-11-16" / "index.html").read_text(encoding="utf-8")
    assert 'href="../index.html"' in day_index


def test_report_without_dates_covers_the_audited_ones(runner, tmp_path):
    from auditor.ingest import ingest
    from auditor.workspace import Workspace
    from tests.factories import BASE_MS, message, write_jsonl

    ws = Workspace(tmp_path / "ws")
    ws.init()
    ingest(
        ws, [write_jsonl(tmp_path / "a.jsonl", [message("m1"), message("m2", msgtime=BASE_MS + 86_400_000)])]
    )
    nothing = runner.invoke(cli, ["-w", str(ws.root), "report"])
    assert nothing.exit_code == 2 and "auditor audit" in nothing.output
    assert (
        runner.invoke(cli, ["-w", str(ws.root), "audit", "--date", "2026-11-17", "--workers", "1"]).exit_code
        == 0
    )
    result = runner.invoke(cli, ["-w", str(ws.root), "report"])
    assert result.exit_code == 0 and result.output.strip().endswith("2026-11-17/index.html")


_rooms = st.sampled_from(["", "wrA", "wrB", "wr\u00e9", "wr房", "wr\U0001f600", "a" * 40])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(_rooms, st.integers(0, 5), st.sampled_from(["m1", "m2", "m10", "M", "é", ""])),
        max_size=60,
    ),
    st.integers(1, 4),
)
def test_the_day_order_is_arrows_three_key_sort(rows, chunks):
    """The report's (roomid, msgtime, msgid) order, made by time first and then stably by room, is
    the order Arrow's sort on the three keys gives: ties in time, byte order of non-ASCII rooms, a
    day read as several files (chunks)."""
    from auditor.report.model import _room_time_order

    columns = {"roomid": [r[0] for r in rows], "msgtime": [r[1] for r in rows], "msgid": [r[2] for r in rows]}
    table = pa.table(
        {k: pa.array(v, pa.int64() if k == "msgtime" else pa.string()) for k, v in columns.items()}
    )
    size = -(-len(rows) // chunks) or 1
    table = pa.Table.from_batches(table.to_batches(max_chunksize=size), table.schema)
    expected = pc.sort_indices(
        table, sort_keys=[("roomid", "ascending"), ("msgtime", "ascending"), ("msgid", "ascending")]
    )
    order, rooms = _room_time_order(table)
    # rows equal in all three keys may come in either order: compare the keys row by row
    assert table.take(order).to_pylist() == table.take(expected).to_pylist()
    assert rooms.dictionary.take(rooms.indices).to_pylist() == table.column("roomid").take(order).to_pylist()


def _without_times(folder: Path) -> dict[str, str]:
    """Every page and summary under ``folder``, the generation time blanked out."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [A-Z]+", "TIME", path.read_text("utf-8"))
            out[str(path.relative_to(folder))] = text
    return out


@pytest.fixture(scope="module")
def several_days(tmp_path_factory):
    """Three audited days of the sample with a decision in the ledger."""
    from auditor.audit import audit
    from auditor.ingest import ingest
    from auditor.sample import generate
    from auditor.violations import load_findings
    from auditor.workspace import Workspace

    root = tmp_path_factory.mktemp("days")
    generate(root / "archive", messages=900, groups=4, days=3, seed=5)
    ws = Workspace(root / "ws")
    ws.init()
    report_ = ingest(ws, sorted((root / "archive" / "exports").iterdir()))
    dates = sorted(set().union(*(f.dates for f in report_.files)))
    audit(ws, dates, workers=1)
    finding = sorted(load_findings(ws))[0]
    result = CliRunner().invoke(cli, ["-w", str(ws.root), "review", "confirm", finding, "--by", "lina"])
    assert result.exit_code == 0, result.output
    return ws, dates


@pytest.mark.parametrize(
    ("lang", "unmasked", "confirmed"), [("zh", False, "已确认"), ("en", True, "confirmed")]
)
def test_dates_rendered_in_a_pool_are_the_pages_rendered_one_by_one(
    several_days, tmp_path, lang, unmasked, confirmed
):
    ws, dates = several_days
    assert len(dates) == 3
    seen = []
    options = {"lang": lang, "unmasked": unmasked}
    report(ws, dates, out_dir=tmp_path / "one", workers=1, **options)
    report(ws, dates, out_dir=tmp_path / "pool", workers=2, on_date=seen.append, **options)
    assert seen == dates  # in order, each once its pages are in place
    one, pool = _without_times(tmp_path / "one"), _without_times(tmp_path / "pool")
    assert one == pool and confirmed in "".join(pool.values()).lower()  # the ledger's view reached them
    assert ("RESTRICTED" in pool[f"{dates[0]}/index.html"]) == unmasked


def test_a_date_failing_in_a_worker_stops_the_run_with_its_error(several_days, tmp_path):
    import shutil

    from auditor.errors import AuditorError
    from auditor.workspace import Workspace

    ws, dates = several_days
    copy = Workspace(tmp_path / "copy")
    shutil.copytree(ws.root, copy.root)
    lake.findings_path(copy.findings_dir, dates[1]).unlink()
    seen = []
    with pytest.raises(AuditorError, match=f"{dates[1]} has not been audited yet"):
        report(copy, dates, workers=2, on_date=seen.append)
    assert seen == dates[:1] and (copy.reports_dir / dates[0] / "index.html").exists()
    assert not (copy.reports_dir / dates[1]).exists()
    assert not [p for p in copy.reports_dir.iterdir() if p.name.startswith(".")]  # no staging left


# Zones whose offsets change: at DST by an hour (New York, London), by half an hour (Lord Howe), at odd
# offsets (Kathmandu +05:45, Chatham +12:45/+13:45), once in history (Shanghai's DST of 1986-1991).
ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
]
# Seconds around 2026's DST changes, and Shanghai's of 1986-1991.
AROUND = [1_773_000_000, 1_774_700_000, 1_790_000_000, 1_792_000_000, 515_000_000, 653_000_000]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    base=st.sampled_from(AROUND),
    offsets=st.lists(st.integers(0, 40 * 86_400), min_size=1, max_size=300, unique=True),
)
def test_local_hours_are_each_seconds_own(zone, base, offsets):
    """Converted an hour's run at a time, every second gets the hour ``fromtimestamp`` gives it,
    across DST changes of any size and odd offsets."""
    tz = zoneinfo.ZoneInfo(zone)
    seconds = np.array(sorted(base + o for o in offsets), np.int64)
    expected = [dt.datetime.fromtimestamp(int(s), tz).hour for s in seconds]
    assert local_hours(seconds, tz).tolist() == expected


def _offset_changes(tz: zoneinfo.ZoneInfo, year: int) -> list[int]:
    """The seconds at which ``tz``'s UTC offset changes in ``year`` (found a quarter hour, then a
    second at a time)."""

    def offset(second: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(second, tz).utcoffset()

    start = int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())
    changes = []
    for s in range(start, start + 366 * 86_400, 900):
        if offset(s) != offset(s + 900):
            changes.append(next(t for t in range(s, s + 901) if offset(t) != offset(s)))
    return changes


@pytest.mark.parametrize("zone", ZONES)
def test_local_hours_across_every_change_of_a_year(zone):
    """Every second of the two hours around each of 2026's offset changes, including Chatham's,
    which fall at :45 of the hour."""
    tz = zoneinfo.ZoneInfo(zone)
    for change in _offset_changes(tz, 2026):
        seconds = np.arange(change - 7200, change + 7200, dtype=np.int64)
        expected = [dt.datetime.fromtimestamp(int(s), tz).hour for s in seconds]
        assert local_hours(seconds, tz).tolist() == expected
