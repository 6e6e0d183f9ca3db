"""Evidence export: round trip, deterministic bytes, tampering found, hostile content never a path."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from auditor.cli import cli
from auditor.evidence import Selection, check, export
from auditor.violations import load_findings, record_action, review
from auditor.workspace import Workspace
from tests import report_fixture


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evidence")
    ws = report_fixture.build(root)
    findings = sorted(load_findings(ws).values(), key=lambda f: f["finding_id"])
    theirs = [f["finding_id"] for f in findings if f["sender"] == "zhangwei"]
    review(ws, theirs[:2], "confirmed", by="officer", reason="<b>clear</b>", on=dt.date(2026, 11, 17))
    record_action(
        ws, "zhangwei", "warning", by="officer", reason="", finding_ids=theirs[:2], on=dt.date(2026, 11, 17)
    )
    return root


@pytest.fixture
def ws(prepared, tmp_path) -> Workspace:
    shutil.copytree(prepared, tmp_path / "copy")
    return Workspace(tmp_path / "copy" / "ws")


def _pii_finding(ws: Workspace) -> str:
    return next(f["finding_id"] for f in load_findings(ws).values() if f["msgid"] == "pii1")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_case_round_trips_masked_with_its_decisions(ws, tmp_path, runner):
    out = tmp_path / "case.zip"
    result = runner.invoke(
        cli, ["-w", str(ws.root), "export", "evidence", "--case", "ACT-000003", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    members = _members(out)
    assert list(members)[-1] == "manifest.json"  # written last
    names = sorted(n for n in members if n != "manifest.json")
    assert names == [
        "README.txt",
        "context/0001.json",
        "context/0002.json",
        "decisions.json",
        "findings.json",
    ]
    decisions = json.loads(members["decisions.json"])
    assert [e["kind"] for e in decisions["events"]] == ["review", "review", "action"]
    assert decisions["events"][-1]["action_id"] == "ACT-000003"
    manifest = json.loads(members["manifest.json"])
    assert manifest["classification"] == "masked" and manifest["unmasked"] is False
    checked = runner.invoke(cli, ["check-evidence", str(out)])
    assert checked.exit_code == 0 and checked.output.startswith("ok: 5 files as exported (masked)")


def test_masked_by_default_unmasked_marked_restricted(ws, tmp_path):
    finding = _pii_finding(ws)
    export(ws, Selection("finding", finding), tmp_path / "m.zip")
    masked = _members(tmp_path / "m.zip")
    assert not any(b"13812345678" in data for data in masked.values())
    context = json.loads(masked["context/0001.json"])
    assert context["classification"].startswith("masked")
    assert [m["is_finding"] for m in context["messages"]].count(True) == 1

    export(ws, Selection("finding", finding), tmp_path / "u.zip", unmasked=True)
    unmasked = _members(tmp_path / "u.zip")
    assert any(b"13812345678" in data for data in unmasked.values())
    for name, data in unmasked.items():
        if name.endswith(".json") and name != "manifest.json":
            assert json.loads(data)["classification"].startswith("RESTRICTED")
    assert unmasked["README.txt"].startswith(b"RESTRICTED")
    manifest = json.loads(unmasked["manifest.json"])
    assert manifest["classification"] == "RESTRICTED" and manifest["unmasked"] is True
    assert zipfile.ZipFile(tmp_path / "u.zip").comment.startswith(b"RESTRICTED")


def test_same_state_same_bytes(ws, tmp_path):
    first = export(ws, Selection("person", "zhangwei"), tmp_path / "a.zip")
    second = export(ws, Selection("person", "zhangwei"), tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first["sha256"] == second["sha256"] and first["findings"] >= 2
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def _rewrite(source: Path, target: Path, change) -> None:
    members = _members(source)
    change(members)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: m.update({"findings.json": m["findings.json"].replace(b"zhangwei", b"zhangwex")}),
         "findings.json: altered"),
        (lambda m: m.pop("decisions.json"), "decisions.json: missing"),
        (lambda m: m.update({"extra.txt": b"planted"}), "extra.txt: extra"),
        (lambda m: m.update({"../../etc/passwd": b"x"}), "'../../etc/passwd': unsafe member name"),
        (lambda m: m.pop("manifest.json"), "manifest.json: missing"),
        (lambda m: m.update({"manifest.json": b"{not json"}), "manifest.json: unreadable"),
    ],
)  # fmt: skip
def test_tampering_is_named_and_exit_65(ws, tmp_path, runner, change, problem):
    export(ws, Selection("person", "zhangwei"), tmp_path / "good.zip")
    _rewrite(tmp_path / "good.zip", tmp_path / "bad.zip", change)
    problems, _ = check(tmp_path / "bad.zip")
    assert any(p.startswith(problem) for p in problems), problems
    result = runner.invoke(cli, ["check-evidence", str(tmp_path / "bad.zip")])
    assert result.exit_code == 65 and problem in result.output


def test_a_flipped_byte_in_the_file_is_found(ws, tmp_path, runner):
    export(ws, Selection("person", "zhangwei"), tmp_path / "e.zip")
    data = bytearray((tmp_path / "e.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "e.zip") as archive:
        info = archive.getinfo("findings.json")
    data[info.header_offset + 30 + len(info.filename) + 5] ^= 0x01  # inside the compressed data
    (tmp_path / "e.zip").write_bytes(bytes(data))
    result = runner.invoke(cli, ["check-evidence", str(tmp_path / "e.zip")])
    assert result.exit_code == 65 and "findings.json: altered" in result.output
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    assert runner.invoke(cli, ["check-evidence", str(tmp_path / "junk.zip")]).exit_code == 65


def test_hostile_ids_and_content_never_become_member_names(ws, tmp_path):
    """The fixture has a room named ../../etc and <script> messages: names stay generated."""
    traversal = next(f["finding_id"] for f in load_findings(ws).values() if f["roomid"] == "../../etc")
    export(ws, Selection("finding", traversal), tmp_path / "t.zip")
    names = set(_members(tmp_path / "t.zip"))
    assert names == {"README.txt", "context/0001.json", "decisions.json", "findings.json", "manifest.json"}
    export(ws, Selection("person", "zhangwei"), tmp_path / "p.zip")
    assert all(n == "manifest.json" or n.startswith(("context/", "README", "decisions", "findings"))
               for n in _members(tmp_path / "p.zip"))  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--finding", "nope"], "unknown finding id: nope"),
        (["--person", "nobody"], "nothing to export"),
        (["--case", "ACT-000099"], "no action ACT-000099"),
        (["--case", "12"], "not an ACT id"),
        (["--finding", "x", "--person", "y"], "exactly one of"),
        ([], "exactly one of"),
    ],
)
def test_bad_selections_are_exit_2_and_write_nothing(ws, tmp_path, runner, args, message):
    out = tmp_path / "x.zip"
    result = runner.invoke(cli, ["-w", str(ws.root), "export", "evidence", *args, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output
    assert not out.exists()


def test_a_failed_write_leaves_no_file(ws, tmp_path, monkeypatch):
    from auditor import evidence

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evidence, "zip_bytes", lambda *a: b"x" * 10)
    monkeypatch.setattr("pathlib.Path.write_bytes", disk_full)
    with pytest.raises(OSError):
        export(ws, Selection("person", "zhangwei"), tmp_path / "full.zip")
    assert list(tmp_path.glob("*full.zip*")) == []
