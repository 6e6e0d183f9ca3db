"""Input problems that stay visible until an operator acknowledges them.

A quarantined file, or one whose rejected records pushed a run over ``ingest.max_reject_ratio``,
is marked done like any other (its content was judged; reading it again changes nothing). So
that its exit 65 does not last just one night, each such file leaves a record in
``W/state/attention/<sha256>.json``; every nightly run exits 65 and lists them while any is
there, until ``auditor inbox ack`` moves it to ``W/state/attention/acknowledged/``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from auditor import atomic
from auditor.errors import AuditorError
from auditor.workspace import Workspace


def _acknowledged_dir(ws: Workspace) -> Path:
    return ws.attention_dir / "acknowledged"


def raise_for(ws: Workspace, *, path: str, sha256: str, status: str, reason: str, run_id: str) -> None:
    """Record a file that needs an operator (kept as first raised if it already is pending)."""
    target = ws.attention_dir / f"{sha256}.json"
    if target.exists():
        return
    record = {
        "path": path,
        "sha256": sha256,
        "status": status,
        "reason": reason,
        "run_id": run_id,
        "raised": dt.datetime.now(dt.UTC).isoformat(),
    }
    atomic.write_text(target, json.dumps(record, ensure_ascii=False, indent=1) + "\n")


def pending(ws: Workspace) -> list[dict[str, Any]]:
    """Unacknowledged records, oldest first."""
    if not ws.attention_dir.is_dir():
        return []
    records = [json.loads(p.read_text(encoding="utf-8")) for p in ws.attention_dir.glob("*.json")]
    return sorted(records, key=lambda r: (r["raised"], r["path"]))


def acknowledge(ws: Workspace, names: list[str], *, by: str) -> list[dict[str, Any]]:
    """Acknowledge the records naming ``names`` (a path as listed, or a sha256 prefix of 8+
    characters); all pending ones when ``names`` is empty. An unknown name acknowledges nothing."""
    records = pending(ws)
    chosen = records if not names else []
    for name in names:
        matches = [
            r
            for r in records
            if name in (r["path"], Path(r["path"]).name) or (len(name) >= 8 and r["sha256"].startswith(name))
        ]
        if not matches:
            raise AuditorError(f"nothing to acknowledge named {name!r}: see `auditor inbox list`")
        chosen += [m for m in matches if m not in chosen]
    now = dt.datetime.now(dt.UTC).isoformat()
    for record in chosen:
        done = record | {"acknowledged": now, "acknowledged_by": by}
        atomic.write_text(
            _acknowledged_dir(ws) / f"{record['sha256']}.json",
            json.dumps(done, ensure_ascii=False, indent=1) + "\n",
        )
        (ws.attention_dir / f"{record['sha256']}.json").unlink()
    return chosen
