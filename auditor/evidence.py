"""Evidence export: one zip per finding, person or case, that anyone can verify later.

The zip holds the findings, each with the messages around it (masked through ``masking`` unless
``unmasked``), every ledger event about them, a README, and ``manifest.json`` with the SHA-256 and
size of every other member, written last. Member names are generated here (``context/0001.json``),
never taken from chat content or ids, so nothing in a zip can point outside the folder it is
unpacked into. The bytes are deterministic (fixed timestamps and permissions, sorted members, no
wall-clock time inside): the same workspace state exports to the same file. An unmasked export
marks every member RESTRICTED and says so in the manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow.compute as pc

from auditor import __version__, atomic, lake
from auditor.errors import AuditorError
from auditor.ledger import Ledger, action_label, appeal_label, parse_label
from auditor.masking import mask_text, unmasked_excerpt
from auditor.workspace import Workspace

FORMAT = "wecom-auditor evidence 1"
MANIFEST = "manifest.json"
EXPORT_LOG = "evidence-exports.jsonl"  # in W/logs: who exported what, when
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no export carries the time it was made
MASKED = "masked: personal data and secrets replaced by their masks"
RESTRICTED = "RESTRICTED: unmasked personal data and secrets; authorised investigators only"
MESSAGE_COLUMNS = ["msgid", "roomid", "sender", "sender_kind", "msgtime", "msgtype", "text", "action"]


@dataclass(frozen=True)
class Selection:
    kind: str  # finding, person or case
    value: str


def _findings_of(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Every finding with all its columns, msgtime as ISO text."""
    out = {}
    for date in lake.dates(ws.findings_dir):
        path = lake.findings_path(ws.findings_dir, date)
        if path.exists():
            for row in lake.read_single(path, lake.FINDING_SCHEMA).to_pylist():
                row["msgtime"] = row["msgtime"].isoformat()
                out[row["finding_id"]] = row
    return out


def _rows(ledger: Ledger) -> list[dict[str, Any]]:
    rows = []
    for row in ledger.events():
        event = dict(row)
        event["details"] = json.loads(event["details"])
        if event["kind"] == "action":
            event["action_id"] = action_label(event["event_id"])
        elif event["kind"] == "appeal_filed":
            event["appeal_id"] = appeal_label(event["event_id"])
        rows.append(event)
    return rows


def select(ws: Workspace, selection: Selection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(findings, ledger events) a selection covers. A finding the lake no longer has (re-audited
    away) comes from the facts its review kept."""
    current = _findings_of(ws)
    with Ledger(ws.ledger_path) as ledger:
        events = _rows(ledger)
    kept = {
        e["finding_id"]: {"finding_id": e["finding_id"], **e["details"], "gone": True}
        for e in events
        if e["kind"] == "review" and e["finding_id"] not in current
    }
    known = current | kept
    actions = {e["event_id"]: e for e in events if e["kind"] == "action"}
    if selection.kind == "finding":
        if selection.value not in known:
            raise AuditorError(f"unknown finding id: {selection.value}")
        ids = {selection.value}
        action_ids = {a for a, e in actions.items() if ids & set(e["details"].get("findings", []))}
    elif selection.kind == "person":
        ids = {fid for fid, f in known.items() if f["sender"] == selection.value}
        action_ids = {a for a, e in actions.items() if e["subject"] == selection.value}
        if not ids and not action_ids:
            raise AuditorError(f"no findings and no actions about {selection.value!r}: nothing to export")
    else:
        event_id = parse_label(selection.value, "ACT")
        if event_id not in actions:
            raise AuditorError(f"no action {selection.value}")
        action_ids = {event_id}
        ids = {fid for fid in actions[event_id]["details"].get("findings", []) if fid in known}
    appeal_ids = {e["event_id"] for e in events if e["kind"] == "appeal_filed" and e["ref"] in action_ids}
    chosen = [
        e
        for e in events
        if (e["kind"] == "review" and e["finding_id"] in ids)
        or (e["kind"] == "action" and e["event_id"] in action_ids)
        or (e["kind"] in ("appeal_filed", "action_voided", "notice_sent") and e["ref"] in action_ids)
        or (e["kind"] == "appeal_resolved" and e["ref"] in appeal_ids)
    ]
    findings = sorted(
        (known[i] for i in ids), key=lambda f: (str(f["date"]), str(f.get("msgtime", "")), f["finding_id"])
    )
    return findings, chosen


def _masked_json(value: Any) -> Any:
    """Every string inside (evidence holds matched terms, URLs, file names) through ``mask_text``."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [_masked_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked_json(v) for k, v in value.items()}
    return value


def _context(ws: Workspace, finding: dict[str, Any], unmasked: bool) -> dict[str, Any]:
    """The finding with the messages around it in its conversation."""
    show = (lambda text: text) if unmasked else mask_text
    date, roomid = str(finding["date"]), finding["roomid"]
    table = lake.read_partition(ws.messages_dir, date, lake.MESSAGE_SCHEMA, MESSAGE_COLUMNS)
    table = table.filter(pc.equal(table.column("roomid"), roomid))
    rows = sorted(table.to_pylist(), key=lambda m: (m["msgtime"], m["msgid"]))
    around = ws.config["report"]["context_messages"]
    if finding.get("msgid"):
        at = next((i for i, m in enumerate(rows) if m["msgid"] == finding["msgid"]), None)
    else:  # a conversation-level finding: the messages around its anchor time
        at = next(
            (i for i, m in enumerate(rows) if m["msgtime"].isoformat() >= str(finding.get("msgtime", ""))),
            None,
        )
    window = [] if at is None else rows[max(0, at - around) : at + around + 1]
    item = dict(finding)
    if "evidence" in item and isinstance(item["evidence"], str):
        item["evidence"] = json.loads(item["evidence"])
    if unmasked:
        own = next((m for m in rows if m["msgid"] == finding.get("msgid")), None)
        if own is not None and finding.get("start") is not None:
            item["excerpt"] = unmasked_excerpt(own["text"], finding["start"], finding["end"])
    else:
        item = _masked_json(item)
    messages = [
        {
            "msgid": m["msgid"],
            "time": m["msgtime"].isoformat(),
            "sender": m["sender"],
            "sender_kind": m["sender_kind"],
            "msgtype": m["msgtype"],
            "action": m["action"],
            "text": show(m["text"]),
            "is_finding": m["msgid"] == finding.get("msgid"),
        }
        for m in window
    ]
    return {"finding": item, "messages": messages}


def _iso_date(value: object) -> str:
    """Lake dates are date32 (datetime.date in Python); JSON carries them as ISO strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(marking: str, body: dict[str, Any]) -> bytes:
    document = {"classification": marking, **body}
    return (
        json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True, default=_iso_date) + "\n"
    ).encode()


def build(ws: Workspace, selection: Selection, *, unmasked: bool = False) -> dict[str, bytes]:
    """The members of the export (manifest.json included), by name."""
    findings, events = select(ws, selection)
    marking = RESTRICTED if unmasked else MASKED
    members: dict[str, bytes] = {}
    contexts = [_context(ws, f, unmasked) for f in findings]
    for n, context in enumerate(contexts, start=1):
        members[f"context/{n:04d}.json"] = _json(marking, context)
    listed = [c["finding"] for c in contexts]
    members["findings.json"] = _json(marking, {"findings": listed})
    shown_events = events if unmasked else _masked_json(events)
    members["decisions.json"] = _json(marking, {"events": shown_events})
    readme = [
        marking,
        "",
        f"Evidence export of {selection.kind} {selection.value} (wecom-auditor {__version__}).",
        f"{len(findings)} finding(s) in findings.json, each with the messages around it in",
        "context/NNNN.json;",
        f"{len(events)} ledger event(s) about them in decisions.json (reviews, actions, appeals, notices).",
        "manifest.json lists the SHA-256 of every other file; `auditor check-evidence FILE.zip`",
        "verifies them.",
    ]
    members["README.txt"] = ("\n".join(readme) + "\n").encode()
    with Ledger(ws.ledger_path) as ledger:
        newest = ledger.last_event_id()
    manifest = {
        "format": FORMAT,
        "selection": {"kind": selection.kind, "value": selection.value},
        "classification": "RESTRICTED" if unmasked else "masked",
        "unmasked": unmasked,
        "ledger_event_id": newest,
        "findings": [f["finding_id"] for f in findings],
        "members": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(members.items())
        },
    }
    members[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    return members


def zip_bytes(members: dict[str, bytes], comment: str) -> bytes:
    """Deterministic zip bytes: sorted members, then the manifest last; fixed times and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.comment = comment.encode("utf-8")
        for name in [*sorted(n for n in members if n != MANIFEST), MANIFEST]:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr means the same everywhere
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()


def export_bytes(
    ws: Workspace, selection: Selection, *, unmasked: bool = False
) -> tuple[bytes, dict[str, Any]]:
    """The zip's bytes and what they hold (findings, members, classification, hashes)."""
    members = build(ws, selection, unmasked=unmasked)
    manifest = json.loads(members[MANIFEST])
    data = zip_bytes(members, RESTRICTED if unmasked else MASKED)
    return data, {
        "findings": len(manifest["findings"]),
        "members": len(members),
        "classification": manifest["classification"],
        "manifest_sha256": hashlib.sha256(members[MANIFEST]).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def export(ws: Workspace, selection: Selection, out: Path, *, unmasked: bool = False) -> dict[str, Any]:
    """Write the export atomically to ``out``; returns what was written (for the CLI to print)."""
    data, written = export_bytes(ws, selection, unmasked=unmasked)
    atomic.write_bytes(out, data)
    return {"path": str(out), **written}


def record_export(
    ws: Workspace, selection: Selection, written: dict[str, Any], *, by: str, role: str, at: dt.datetime
) -> None:
    """Append who exported what, when, to ``W/logs/evidence-exports.jsonl`` (one JSON line per export).

    Not in the manifest: its bytes carry no time or name, so the same state exports to the same
    file. Not in the ledger: a new event kind would need a ledger migration. The line is one
    ``write`` on an ``O_APPEND`` descriptor, flushed to disk before the zip is handed out, so an
    export that cannot be recorded is not given at all."""
    line = json.dumps(
        {
            "at": at.isoformat(timespec="seconds"),
            "by": by,
            "role": role,
            "selection": {"kind": selection.kind, "value": selection.value},
            "classification": written["classification"],
            "findings": written["findings"],
            "sha256": written["sha256"],
            "manifest_sha256": written["manifest_sha256"],
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    ws.logs_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(ws.logs_dir / EXPORT_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def download_name(selection: Selection, written: dict[str, Any]) -> str:
    """A file name made here, never from chat content: the finding's hex id or the action's label,
    else (a person, whose userid comes from the chat data) the zip's own hash."""
    value = selection.value
    generated = {"finding": r"[0-9a-f]{8,64}", "case": r"ACT-\d{1,12}"}.get(selection.kind)
    stem = value if generated and re.fullmatch(generated, value) else written["sha256"][:16]
    marking = "RESTRICTED" if written["classification"] == "RESTRICTED" else "masked"
    return f"evidence-{selection.kind}-{stem}-{marking}.zip"


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and ".." not in path.parts
        and "\\" not in name
        and ":" not in name
    )


def check(path: Path) -> tuple[list[str], dict[str, Any] | None]:
    """Every problem of an export (missing, altered, extra or unsafe members; a bad manifest), and its
    manifest when readable. An empty list: every member is as exported."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable zip file ({exc})"], None
    problems: list[str] = []
    with archive:
        names = [info.filename for info in archive.infolist()]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{name}: appears more than once")
        for name in names:
            if not _safe_name(name):
                problems.append(f"{name!r}: unsafe member name (absolute or leaving the folder)")
        try:
            manifest = json.loads(archive.read(MANIFEST))
            listed = manifest["members"]
            if manifest.get("format") != FORMAT or not isinstance(listed, dict):
                raise ValueError("not an evidence manifest")
        except KeyError:
            return [*problems, f"{MANIFEST}: missing"], None
        except (ValueError, TypeError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            return [*problems, f"{MANIFEST}: unreadable ({exc})"], None
        for name, entry in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name}: missing")
                continue
            try:
                data = archive.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:  # CRC, deflate
                problems.append(f"{name}: altered (unreadable: {exc})")
                continue
            if hashlib.sha256(data).hexdigest() != entry.get("sha256") or len(data) != entry.get("size"):
                problems.append(f"{name}: altered (SHA-256 or size differs from the manifest)")
        for name in sorted(set(names) - set(listed) - {MANIFEST}):
            problems.append(f"{name}: extra (not in the manifest)")
    return problems, manifest
