"""The HR roster (``roster.csv``): who is staff, and who has left (membership rules need it)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.wecom.files import OversizeInput, RawRecord, TruncatedInput, decode_utf8, iter_chunks
from auditor.wecom.messages import RecordError

ROSTER_COLUMNS = ("userid", "name", "department", "status", "left_date")
OPTIONAL_COLUMNS = ("email",)  # a roster without them stays valid
STATUSES = ("active", "left")


def read_roster_records(
    path: Path, name: str | None = None, max_bytes: int | None = None
) -> Iterator[RawRecord]:
    """One RawRecord per data row; the header must name every roster column.

    The file is parsed whole, so it may decompress to at most ``max_bytes``."""
    name = name or str(path)
    try:
        text = decode_utf8(b"".join(iter_chunks(path, max_bytes)).removeprefix(b"\xef\xbb\xbf"))
    except (RecordError, TruncatedInput, OversizeInput) as exc:
        yield RawRecord(name, 1, b"", error=f"roster unreadable: {exc}")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        yield RawRecord(name, 1, ",".join(header).encode(), error=f"roster header lacks {', '.join(missing)}")
        return
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        raw = json.dumps(row, ensure_ascii=False).encode("utf-8")
        if len(row) != len(header):
            yield RawRecord(
                name, reader.line_num, raw, error=f"expected {len(header)} columns, got {len(row)}"
            )
            continue
        yield RawRecord(name, reader.line_num, raw, dict(zip(header, row, strict=True)))


def parse_roster_row(row: dict[str, str]) -> dict[str, Any]:
    userid = row["userid"].strip()
    if not userid:
        raise RecordError("empty userid")
    status = row["status"].strip().lower()
    if status not in STATUSES:
        raise RecordError(f"status must be active or left, got {row['status']!r}")
    left_raw = row["left_date"].strip()
    left_date = None
    if left_raw:
        try:
            left_date = dt.date.fromisoformat(left_raw)
        except ValueError:
            raise RecordError(f"left_date must be YYYY-MM-DD, got {left_raw!r}") from None
    if status == "left" and left_date is None:
        raise RecordError("status 'left' needs a left_date")
    email = (row.get("email") or "").strip()
    if email and not is_email_address(email):
        raise RecordError(f"email is not an e-mail address: {email!r}")
    return {
        "userid": userid,
        "name": row["name"].strip(),
        "department": row["department"].strip(),
        "status": status,
        "left_date": left_date,
        "email": email or None,
    }


def is_email_address(value: str) -> bool:
    """One address, nothing else: no display name, no second address, no whitespace or control
    characters (it becomes a To: header)."""
    local, at, domain = value.rpartition("@")
    return bool(
        at
        and local
        and "." in domain
        and all(c.isprintable() and not c.isspace() and c not in '<>,;:"()[]\\' for c in value)
        and "@" not in local
    )
