"""`auditor pull` against the fake SDK: pages, checkpoint, key ring, quarantine, faults, media, exit codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import failpoints, lake
from auditor.config import load_config
from auditor.errors import AuditorError
from auditor.ingest import ingest
from auditor.wecom import pull as wecom_pull
from auditor.wecom.pull import Clients, PullReport, load_state, run_pull, save_state
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message
from tests.fake_wecom import CHUNK, FakeArchive, Fault, write_pem


def configure(ws: Workspace, keypairs, versions=(1, 2), **extra: str) -> None:
    for version in versions:
        write_pem(keypairs[version], ws.root / "keys" / f"v{version}.pem")
    keys = ", ".join(f'{v} = "keys/v{v}.pem"' for v in versions)
    lines = "".join(f"{k} = {v}\n" for k, v in extra.items())
    ws.config_path.write_text(
        ws.config_path.read_text(encoding="utf-8")
        + '\n[wecom]\ncorp_id = "wwfake"\nsecret_env = "TEST_ARCHIVE_SECRET"\n'
        + f"private_keys = {{ {keys} }}\n{lines}",
        encoding="utf-8",
    )
    ws._config = None


@pytest.fixture
def wecom_ws(ws, keypairs, monkeypatch):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    configure(ws, keypairs)
    return ws


@pytest.fixture
def archive(keypairs):
    return FakeArchive(keys=keypairs)


def run(ws, archive, **kw):
    sleeps: list[float] = []
    outcome = run_pull(ws, Clients(archive.open_sdk, None), sleep=sleeps.append, **kw)
    outcome.sleeps = sleeps
    return outcome


def inbox_records(ws) -> list[dict]:
    out = []
    for path in sorted((ws.inbox_dir / "wecom").glob("pull-*.jsonl")) + sorted(
        (ws.inbox_dir / "wecom").glob("redecrypted-*.jsonl")
    ):
        out += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return out


def test_pull_decrypts_every_key_version_adds_seq_and_checkpoints(wecom_ws, archive):
    for i in range(5):
        archive.add(message(f"m{i}", payload={"content": f"第{i}条"}), version=1 + i % 2)
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 0, outcome.error
    records = inbox_records(wecom_ws)
    assert [r["msgid"] for r in records] == [f"m{i}" for i in range(5)]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]  # the plaintext has none: the puller adds it
    assert records[3]["text"]["content"] == "第3条"
    state = load_state(wecom_ws)
    assert state["seq"] == 5 and state["last_success"] and state["rooms"] == ["wr001"]
    assert archive.open_instances == 0  # the SDK instance is destroyed
    again = run(wecom_ws, archive)
    assert again.report.records == 0 and again.report.pages == 0


def test_pages_hold_at_most_1000_records_from_the_saved_seq(wecom_ws, archive, monkeypatch):
    asked = []
    original = archive.open_sdk

    def spy(settings):
        sdk = original(settings)
        get = sdk.get_chat_data
        sdk.get_chat_data = lambda seq, limit: asked.append((seq, limit)) or get(seq, limit)
        return sdk

    monkeypatch.setattr(wecom_pull, "PAGE_LIMIT", 4)
    for i in range(10):
        archive.add(message(f"m{i}"), version=1)
    outcome = run_pull(wecom_ws, Clients(spy, None), sleep=lambda _: None)
    assert outcome.report.pages == 3
    assert asked == [(0, 4), (4, 4), (8, 4)]  # a short page ends the pull
    assert wecom_pull.PAGE_LIMIT <= 1000
    monkeypatch.undo()
    assert wecom_pull.PAGE_LIMIT == 1000


def test_network_errors_are_retried_with_backoff(wecom_ws, archive):
    archive.add(message("m1"), version=1)
    archive.faults = [Fault(ret=10001), Fault(ret=10003), Fault(errcode=10001)]
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 0
    assert outcome.sleeps == [2, 4, 8]
    assert [r["msgid"] for r in inbox_records(wecom_ws)] == ["m1"]


def test_persistent_network_errors_exit_75_and_keep_the_checkpoint(wecom_ws, archive):
    archive.add(message("m1"), version=1)
    archive.faults = [Fault(ret=10001)] * 10
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 75
    assert "after 6 attempts" in outcome.error and "proxy" in outcome.error
    assert load_state(wecom_ws)["seq"] == 0


@pytest.mark.parametrize(
    ("fault", "fix"),
    [
        (Fault(ret=10000), "corp_id"),
        (Fault(ret=10009), "trusted IPs"),
        (Fault(errcode=10009), "trusted IPs"),  # errcode in the JSON, call returned 0
        (Fault(ret=10011), "public keys"),
    ],
)
def test_configuration_errors_exit_2_saying_what_to_fix(wecom_ws, archive, fault, fix):
    archive.add(message("m1"), version=1)
    archive.faults = [fault]
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 2
    assert fix in outcome.error
    assert outcome.sleeps == []  # not retried


def test_setup_errors_exit_2(wecom_ws, archive, monkeypatch, tmp_path):
    archive.secret = "another"
    assert run(wecom_ws, archive).exit_code == 2  # Init refuses the secret
    monkeypatch.delenv("TEST_ARCHIVE_SECRET")
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 2 and "TEST_ARCHIVE_SECRET" in outcome.error
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    (wecom_ws.root / "keys" / "v2.pem").unlink()
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 2 and "private_keys.2" in outcome.error
    (wecom_ws.root / "keys" / "v2.pem").write_text("not a key")
    assert "not an unencrypted PEM" in run(wecom_ws, archive).error
    missing = run_pull(wecom_ws, Clients(wecom_pull.open_ctypes_sdk, None))  # the real binding, no library
    assert missing.exit_code == 2


def test_secret_from_a_file(ws, keypairs, archive, monkeypatch):
    monkeypatch.delenv("TEST_ARCHIVE_SECRET", raising=False)
    (ws.root / "secret.txt").write_text("archive-secret\n")
    configure(ws, keypairs, secret_file='"secret.txt"')
    archive.add(message("m1"), version=1)
    assert run(ws, archive).exit_code == 0


def test_expired_data_is_an_alarm_in_log_state_and_report_index(wecom_ws, archive, caplog):
    archive.faults = [Fault(ret=10010)]
    with caplog.at_level("ERROR", logger="auditor"):
        outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 65
    assert any("expired (10010)" in a for a in outcome.report.alarms)
    assert wecom_pull.pull_alarms(wecom_ws) == outcome.report.alarms
    assert any(r.getMessage().startswith("ALARM: WeCom reports the archive expired") for r in caplog.records)
    from auditor.report.render import report

    report(wecom_ws, [])  # `auditor report` keeps the alarm on the index too
    assert "expired (10010)" in (wecom_ws.reports_dir / "index.html").read_text(encoding="utf-8")


def test_a_pull_older_than_max_pull_age_days_is_an_alarm(wecom_ws, archive):
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    save_state(wecom_ws, {"seq": 0, "last_success": old, "rooms": [], "alarms": []})
    archive.faults = [Fault(ret=10001)] * 10
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 75
    assert any("3 days ago" in a and "max_pull_age_days = 2" in a for a in outcome.report.alarms)
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    save_state(wecom_ws, {"seq": 0, "last_success": recent, "rooms": [], "alarms": []})
    archive.faults = [Fault(ret=10001)] * 10
    assert run(wecom_ws, archive).report.alarms == []


def test_unknown_key_version_is_quarantined_then_redecrypted(wecom_ws, archive, keypairs):
    archive.add(message("m1"), version=1)
    archive.add(message("m2"), version=3)  # rotated in the console, not yet in auditor.toml
    archive.add(message("m3"), version=2)
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 0
    assert (outcome.report.decrypted, outcome.report.quarantined) == (2, 1)
    assert load_state(wecom_ws)["seq"] == 3  # the quarantine holds it: the pull moves on
    entries = [
        json.loads(x)
        for p in (wecom_ws.root / "quarantine").glob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert [(e["msgid"], e["publickey_ver"]) for e in entries] == [("m2", 3)]
    assert "publickey_ver 3" in entries[0]["reason"] and "encrypt_chat_msg" in entries[0]["record"]
    # the wrong key stays quarantined, reported as such
    assert run(wecom_ws, archive, redecrypt_only=True).report.quarantined == 1
    write_pem(keypairs[3], wecom_ws.root / "keys" / "v3.pem")
    wecom_ws.config_path.write_text(
        wecom_ws.config_path.read_text().replace('2 = "keys/v2.pem"', '2 = "keys/v2.pem", 3 = "keys/v3.pem"')
    )
    wecom_ws._config = None
    again = run(wecom_ws, archive, redecrypt_only=True)
    assert (again.report.decrypted, again.report.quarantined) == (1, 0)
    assert sorted(r["msgid"] for r in inbox_records(wecom_ws)) == ["m1", "m2", "m3"]
    assert not list((wecom_ws.root / "quarantine").glob("*.jsonl"))


@pytest.mark.parametrize(
    ("plaintext", "reason"),
    [
        (b"\xff\xfe not utf-8", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"msgid": "m1", "action"', "not JSON"),
    ],
)
def test_undecodable_payloads_are_quarantined_with_the_reason(wecom_ws, archive, plaintext, reason):
    archive.add(message("m1"), version=1, plaintext=plaintext)
    archive.add(message("m2"), version=1)
    outcome = run(wecom_ws, archive)
    assert outcome.report.quarantined == 1 and outcome.report.decrypted == 1
    (entry,) = [
        json.loads(x)
        for p in (wecom_ws.root / "quarantine").glob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert reason in entry["reason"]


def test_tampered_ciphertext_fails_decryption_and_is_quarantined(wecom_ws, archive):
    archive.add(message("m1"), version=1)
    archive.items[0]["encrypt_chat_msg"] = archive.items[0]["encrypt_chat_msg"][:-8] + "AAAAAAA="
    outcome = run(wecom_ws, archive)
    assert outcome.report.quarantined == 1
    (entry,) = [
        json.loads(x)
        for p in (wecom_ws.root / "quarantine").glob("*.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert "10006" in entry["reason"]


def test_control_characters_survive_pull_and_ingest(wecom_ws, archive):
    raw = '{"msgid":"c1","action":"send","from":"zhangwei","tolist":[],"roomid":"wr001",'
    raw += '"msgtime":1794800000000,'
    raw += '"msgtype":"text","text":{"content":"a\x01b\x1fc\x00d"}}'
    archive.add({"msgid": "c1"}, version=1, plaintext=raw.encode())
    assert run(wecom_ws, archive).exit_code == 0
    report = ingest(wecom_ws, [wecom_ws.inbox_dir / "wecom"])
    assert report.total("accepted") == 1
    assert inbox_records(wecom_ws)[0]["text"]["content"] == "a\x01b\x1fc\x00d"


def test_overlapping_pages_and_duplicate_msgids_never_double_a_message(wecom_ws, archive, monkeypatch):
    monkeypatch.setattr(wecom_pull, "PAGE_LIMIT", 3)
    for i in range(7):
        archive.add(message(f"m{i}"), version=1)
    archive.add(message("m2"), version=2)  # WeCom sent the same message again under a new seq
    archive.faults = [Fault(), Fault(overlap=2), Fault(overlap=5)]
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 0
    assert outcome.report.overlapping == 5  # 2 records, then a page of only already-pulled ones
    assert [r["seq"] for r in inbox_records(wecom_ws)] == list(range(1, 8))
    assert outcome.report.duplicate_msgids == 1
    report = ingest(wecom_ws, [wecom_ws.inbox_dir / "wecom"])
    assert (report.total("accepted"), report.total("rejected")) == (7, 0)
    archive.add(message("m3"), version=1)  # served again on a later night: a duplicate in the lake
    later = run(wecom_ws, archive)
    report = ingest(wecom_ws, [Path(p) for p in later.report.files])
    assert (report.total("accepted"), report.total("duplicates"), report.total("rejected")) == (0, 1, 0)


class Crash(BaseException):
    """A process death between two statements (the checkpoint is never written)."""


def test_a_crash_between_page_write_and_checkpoint_repulls_the_page(wecom_ws, archive, monkeypatch):
    for i in range(3):
        archive.add(message(f"m{i}"), version=1)

    def crash(name):
        if name == "pull-page-written":
            raise Crash

    monkeypatch.setattr(failpoints, "reached", crash)
    with pytest.raises(Crash):
        run(wecom_ws, archive)
    assert load_state(wecom_ws)["seq"] == 0
    assert len(inbox_records(wecom_ws)) == 3  # the page is already safe in the inbox
    monkeypatch.setattr(failpoints, "reached", lambda name: None)
    archive.add(message("m3"), version=1)
    assert run(wecom_ws, archive).exit_code == 0
    assert load_state(wecom_ws)["seq"] == 4
    report = ingest(wecom_ws, [wecom_ws.inbox_dir / "wecom"])
    assert (report.total("accepted"), report.total("duplicates")) == (4, 3)


def test_the_checkpoint_never_moves_backwards(wecom_ws):
    save_state(wecom_ws, {"seq": 40})
    save_state(wecom_ws, {"seq": 12})
    assert load_state(wecom_ws)["seq"] == 40


def test_a_damaged_checkpoint_is_exit_2_not_a_restart_from_zero(wecom_ws, archive):
    wecom_ws.state_dir.mkdir(parents=True, exist_ok=True)
    (wecom_ws.state_dir / "pull.json").write_text("{not json")
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 2 and "pull.json is damaged" in outcome.error


def _file_message(msgid: str, sdkfileid: str, data: bytes, md5: str | None = None) -> dict:
    return message(
        msgid,
        msgtype="file",
        payload={"sdkfileid": sdkfileid, "md5sum": md5 or hashlib.md5(data).hexdigest(), "filename": "a.pdf"},
    )


def test_media_download_in_chunks_checked_and_content_addressed(ws, keypairs, archive, monkeypatch):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    configure(ws, keypairs, media='"download"')
    big = bytes(range(256)) * (CHUNK * 2 // 256 + 100)  # three chunks
    archive.media = {"f1": big, "f2": big, "bad": b"tampered"}
    archive.add(_file_message("m1", "f1", big), version=1)
    archive.add(_file_message("m2", "f2", big), version=1)  # same content: stored once
    archive.add(_file_message("m3", "bad", b"original"), version=1)  # md5 mismatch
    archive.add(_file_message("m4", "gone", b"x"), version=1)  # the SDK has no such file
    outcome = run(ws, archive)
    assert outcome.exit_code == 0
    assert outcome.report.media_downloaded == 2
    assert sorted(f["msgid"] for f in outcome.report.media_failed) == ["m3", "m4"]
    stored = [p for p in (ws.root / "media").rglob("*") if p.is_file() and p.parent.name != "index"]
    assert len(stored) == 1 and stored[0].read_bytes() == big
    assert stored[0].name == hashlib.sha256(big).hexdigest()
    assert len(inbox_records(ws)) == 4  # failed downloads never block the messages


def test_media_is_kept_as_sdkfileid_by_default(wecom_ws, archive):
    archive.media = {"f1": b"data"}
    archive.add(_file_message("m1", "f1", b"data"), version=1)
    outcome = run(wecom_ws, archive)
    assert outcome.report.media_downloaded == 0 and not (wecom_ws.root / "media").exists()
    assert inbox_records(wecom_ws)[0]["file"]["sdkfileid"] == "f1"


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('media = "all"', "media must be id or download"),
        ("private_keys = { 1 = 5 }", "private_keys' must be a table of str"),
        ('private_keys = { v1 = "k.pem" }', "key version 'v1' must be a number"),
        ('proxy = "ftp://x"', "proxy must start with"),
        ("timeout_s = 0", "timeout_s must be between"),
        ("max_pull_age_days = 0", "max_pull_age_days must be at least"),
        ('corp_id = "ww1"', "private_keys needs a key"),
        ('secret = "abc"', "unknown setting 'wecom.secret'"),  # the secret never goes in the toml
    ],
)
def test_wecom_settings_are_validated(tmp_path, toml, error):
    path = tmp_path / "auditor.toml"
    path.write_text(f"[wecom]\n{toml}\n")
    with pytest.raises(AuditorError, match=error):
        load_config(path)


def test_pull_report_counts_are_kept_when_the_pull_stops(wecom_ws, archive, monkeypatch):
    monkeypatch.setattr(wecom_pull, "PAGE_LIMIT", 2)
    for i in range(4):
        archive.add(message(f"m{i}"), version=1)
    archive.faults = [Fault(), Fault(ret=10009)]
    outcome = run(wecom_ws, archive)
    assert outcome.exit_code == 2
    assert isinstance(outcome.report, PullReport) and outcome.report.decrypted == 2
    assert load_state(wecom_ws)["seq"] == 2  # the first page is kept


def test_cli_pull_and_redecrypt(runner, wecom_ws, archive, monkeypatch):
    archive.add(message("m1"), version=1)
    monkeypatch.setattr(Clients, "real", classmethod(lambda cls, ws: cls(archive.open_sdk, None)))
    result = runner.invoke(
        __import__("auditor.cli").cli.cli,
        ["-w", str(wecom_ws.root), "pull", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decrypted"] == 1
    result = runner.invoke(
        __import__("auditor.cli").cli.cli, ["-w", str(wecom_ws.root), "pull", "--redecrypt"]
    )
    assert result.exit_code == 0
    archive.faults = [Fault(ret=10009)]
    archive.add(message("m2"), version=1)
    result = runner.invoke(__import__("auditor.cli").cli.cli, ["-w", str(wecom_ws.root), "pull"])
    assert result.exit_code == 2 and "trusted IPs" in result.stderr


def test_cli_pull_without_wecom_settings_is_exit_2(runner, ws):
    from auditor.cli import cli

    result = runner.invoke(cli, ["-w", str(ws.root), "pull"])
    assert result.exit_code == 2 and "corp_id" in result.stderr


def test_workspace_paths(wecom_ws):
    assert wecom_pull.state_path(wecom_ws) == wecom_ws.root / "state" / "pull.json"
    assert wecom_ws.quarantine_dir in wecom_ws.locked_folders


FAULTS = st.one_of(
    st.builds(Fault, ret=st.sampled_from([10001, 10003])),
    st.builds(Fault, errcode=st.sampled_from([10001, 10003])),
    st.builds(Fault, overlap=st.integers(1, 6)),
    st.just(Fault()),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(0, 14),
    page=st.integers(1, 5),
    faults=st.lists(FAULTS, max_size=8),
    crash_at=st.one_of(st.none(), st.integers(1, 4)),
)
def test_any_fault_script_ends_with_every_message_exactly_once(
    keypairs, monkeypatch, count, page, faults, crash_at
):
    """Whatever the faults and wherever a crash falls, pulling until the archive is drained and ingesting
    what the inbox holds gives every message once, and the checkpoint only ever grows."""
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    monkeypatch.setattr(wecom_pull, "PAGE_LIMIT", page)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.init()
        configure(ws, keypairs)
        archive = FakeArchive(keys=keypairs)
        for i in range(count):
            archive.add(message(f"m{i}", msgtime=BASE_MS + i), version=1 + i % 2)
        archive.faults = list(faults)
        pages_written = [0]
        checkpoints = []

        def crash(name):
            if name != "pull-page-written":
                return
            pages_written[0] += 1
            if pages_written[0] == crash_at:
                raise Crash

        monkeypatch.setattr(failpoints, "reached", crash)
        for _ in range(10):
            try:
                outcome = run(ws, archive)
            except Crash:
                checkpoints.append(load_state(ws)["seq"])
                continue
            checkpoints.append(load_state(ws)["seq"])
            # A run that meets more than MAX_STALE_PAGES pages in a row of only already-pulled records
            # ends successfully and leaves the rest to the next run (pull.py): success is not "drained".
            if outcome.exit_code == 0 and checkpoints[-1] == count:
                break
        assert outcome.exit_code == 0
        assert checkpoints == sorted(checkpoints) and checkpoints[-1] == count
        report = ingest(ws, [ws.inbox_dir]) if count else None
        if report is not None:
            assert report.total("rejected") == 0
            (date,) = lake.dates(ws.messages_dir)
            stored = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid"]).column(
                "msgid"
            )
            assert sorted(stored.to_pylist()) == sorted(f"m{i}" for i in range(count))


def test_quarantined_records_are_backed_up(wecom_ws, archive):
    from auditor import backup

    archive.add(message("m1"), version=3)  # no key for it
    run(wecom_ws, archive)
    manifest = backup.create(wecom_ws)
    assert any(path.startswith("quarantine/pull-") for path in manifest["files"])
