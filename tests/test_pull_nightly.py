"""Several nights of `nightly` pulling from the fake SDK, with faults, key rotation and a crash:
the lake ends with every message exactly once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from auditor import failpoints, lake
from auditor.pipeline import nightly
from auditor.wecom import pull as wecom_pull
from auditor.wecom.pull import Clients, load_state, run_pull
from tests.factories import BASE_MS, message
from tests.fake_wecom import FakeArchive, Fault, write_pem
from tests.test_pull import configure

DAY_MS = 86_400_000


class Crash(BaseException):
    """The process dies between writing a page and moving the checkpoint."""


def lake_msgids(ws) -> Counter:
    ids: Counter = Counter()
    for date in lake.dates(ws.messages_dir):
        ids.update(
            lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, ["msgid"])
            .column("msgid")
            .to_pylist()
        )
    return ids


def night(archive: FakeArchive, n: int, count: int, version: int) -> list[str]:
    """``count`` messages sent on day ``n`` under key ``version``; returns their msgids."""
    ids = []
    for i in range(count):
        msgid = f"n{n}-{i}"
        text = "项目进度同步" if i % 3 else "这条消息有\x07控制字符\x1b[31m"
        archive.add(
            message(msgid, payload={"content": text}, msgtime=BASE_MS + n * DAY_MS + i * 60_000), version
        )
        ids.append(msgid)
    return ids


def test_nights_with_faults_rotation_and_a_crash_keep_every_message_exactly_once(
    ws,
    keypairs,
    monkeypatch,
):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    monkeypatch.setattr(wecom_pull, "PAGE_LIMIT", 7)
    monkeypatch.setattr(wecom_pull, "RETRY_DELAYS", (0, 0, 0))
    configure(ws, keypairs, versions=(1, 2))
    archive = FakeArchive(keys=keypairs)
    clients = Clients(archive.open_sdk, None)
    sent: list[str] = []

    # night 1: the network drops twice, then recovers
    sent += night(archive, 1, 12, version=1)
    archive.faults = [Fault(ret=10001), Fault(errcode=10003)]
    result = nightly(ws, workers=1, interactive=False, wecom=clients)
    assert result.exit_code == 0, result.manifest
    assert result.manifest["pull"]["decrypted"] == 12

    # night 2: the key is rotated mid-day, one record under a version not yet configured,
    # an overlapping page and a message served twice
    sent += night(archive, 2, 5, version=1) + night(archive, 3, 5, version=2)
    unknown = night(archive, 4, 1, version=3)
    sent += unknown
    archive.add(
        message("n2-1", payload={"content": "项目进度同步"}, msgtime=BASE_MS + 2 * DAY_MS + 60_000), 2
    )
    archive.faults = [Fault(), Fault(overlap=3)]
    result = nightly(ws, workers=1, interactive=False, wecom=clients)
    assert result.exit_code == 0, result.manifest
    assert result.manifest["pull"]["quarantined"] == 1
    assert result.manifest["pull"]["quarantine_waiting"] == 1
    assert result.manifest["pull"]["duplicate_msgids"] == 1

    # night 3: the process dies after a page is in the inbox, before the checkpoint moves
    sent += night(archive, 5, 9, version=2)
    seq_before = load_state(ws)["seq"]

    def crash(name):
        if name == "pull-page-written":
            raise Crash

    monkeypatch.setattr(failpoints, "reached", crash)
    with pytest.raises(Crash):
        nightly(ws, workers=1, interactive=False, wecom=clients)
    monkeypatch.setattr(failpoints, "reached", lambda name: None)
    assert load_state(ws)["seq"] == seq_before

    # night 4: the operator adds key 3 and re-decrypts; WeCom is unreachable all night, yet the
    # inbox (the crashed night's page, the re-decrypted record) is ingested and the exit code is 75
    write_pem(keypairs[3], ws.root / "keys" / "v3.pem")
    ws.config_path.write_text(
        ws.config_path.read_text().replace('2 = "keys/v2.pem"', '2 = "keys/v2.pem", 3 = "keys/v3.pem"')
    )
    ws._config = None
    assert run_pull(ws, clients, redecrypt_only=True).report.decrypted == 1
    archive.faults = [Fault(ret=10001)] * 10
    result = nightly(ws, workers=1, interactive=False, wecom=clients)
    assert result.exit_code == 75
    assert result.manifest["status"] == "pull-failed" and result.manifest["pull"]["exit_code"] == 75
    assert result.manifest["counts"]["accepted"] > 0
    assert set(unknown) <= set(lake_msgids(ws))

    # night 5: back to normal; the crashed page is pulled again, byte for byte the page already
    # ingested, so the inbox tracker skips it (a page cut differently would count as duplicates)
    archive.faults = []
    sent += night(archive, 6, 3, version=2)
    result = nightly(ws, workers=1, interactive=False, wecom=clients)
    assert result.exit_code == 0, result.manifest
    assert result.manifest["pull"]["seq_from"] == seq_before
    assert result.manifest["pull"]["quarantine_waiting"] == 0
    assert result.manifest["counts"]["rejected"] == 0

    stored = lake_msgids(ws)
    assert sorted(stored) == sorted(sent)
    assert set(stored.values()) == {1}  # every message exactly once
    assert load_state(ws)["seq"] == len(archive.items)
    runs = [json.loads(p.read_text()) for p in sorted(ws.runs_dir.glob("nightly-*.json"))]
    assert [r["exit_code"] for r in runs] == [0, 0, 1, 75, 0]


def test_nightly_without_wecom_settings_does_not_pull(ws):
    result = nightly(ws, workers=1, interactive=False, wecom=Clients(lambda s: pytest.fail("pulled"), None))
    assert "pull" not in result.manifest and result.manifest["status"] == "nothing-new"


def test_a_failed_pull_with_nothing_in_the_inbox_says_so_and_alarms_on_the_index(
    ws,
    keypairs,
    monkeypatch,
):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    configure(ws, keypairs)
    archive = FakeArchive(keys=keypairs)
    archive.faults = [Fault(ret=10010)]
    result = nightly(ws, workers=1, interactive=False, wecom=Clients(archive.open_sdk, None))
    assert result.exit_code == 65
    assert result.manifest["status"] == "pull-failed"
    assert any("10010" in a for a in result.manifest["alarms"])
    assert "expired (10010)" in (ws.reports_dir / "index.html").read_text(encoding="utf-8")
    assert "ALARM" in (ws.logs_dir / "auditor.log").read_text(encoding="utf-8")


def test_cli_nightly_reports_a_failed_pull_and_still_ingests(runner, ws, keypairs, monkeypatch, tmp_path):
    from auditor.cli import cli
    from tests.factories import write_jsonl

    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    monkeypatch.setattr(wecom_pull, "RETRY_DELAYS", (0,))
    configure(ws, keypairs)
    archive = FakeArchive(keys=keypairs)
    archive.faults = [Fault(ret=10003)] * 5
    monkeypatch.setattr(Clients, "real", classmethod(lambda cls, w: cls(archive.open_sdk, None)))
    write_jsonl(ws.inbox_dir / "export.jsonl", [message("hand-1")])
    result = runner.invoke(cli, ["-w", str(ws.root), "nightly", "--workers", "1"])
    assert result.exit_code == 75
    assert "ingested 1 records (1 accepted" in result.stdout
    assert "Error: pull from WeCom failed: GetChatData from seq 0" in result.stderr
    assert set(lake_msgids(ws)) == {"hand-1"}
