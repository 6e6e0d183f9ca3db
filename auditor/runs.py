"""Run manifests in ``W/runs/``: what each nightly run did, for monitoring."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

from auditor import atomic


def new_run_id(kind: str) -> str:
    """Sortable by time, unique across concurrent processes."""
    return f"{kind}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(3)}"


def write_run(runs_dir: Path, run_id: str, record: dict[str, Any]) -> Path:
    path = runs_dir / f"{run_id}.json"
    atomic.write_text(path, json.dumps(record, ensure_ascii=False, indent=2, default=str) + "\n")
    return path
