"""Finding export files and reading them as a stream of raw records.

Reading is defensive: gzip is recognised by its magic bytes and decompressed in chunks so a
truncated stream still yields every complete line before it; lines are bytes until decoded,
so one invalid line is rejected without losing the rest of the file.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.wecom.messages import RecordError

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".txt")


@dataclass(frozen=True)
class RawRecord:
    """One input record before validation: where it came from and its bytes.

    ``value`` is the decoded JSON (or CSV row); ``error`` says why it could not be decoded.
    """

    file: str
    line: int
    raw: bytes
    value: Any = None
    error: str | None = None

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"


def _logical_name(path: Path) -> str:
    name = path.name.lower()
    return name.removesuffix(".gz")


def classify(path: Path) -> str:
    """messages / groups / roster, by file name (``groups*.json``, ``*.csv``)."""
    name = _logical_name(path)
    if name.endswith(".csv"):
        return "roster"
    if name.startswith("groups") and name.endswith(".json"):
        return "groups"
    return "messages"


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories recursively; explicit files are always taken, found ones by suffix."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise AuditorError(f"no such file or directory: {given}")
        if path.is_file():
            found.append(path)
            continue
        for child in sorted(path.rglob("*")):
            hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
            if child.is_file() and not hidden and _logical_name(child).endswith(INPUT_SUFFIXES):
                found.append(child)
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


class TruncatedInput(Exception):
    pass


def iter_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, gunzipped when it starts with the gzip magic (multi-member aware).

    Raises TruncatedInput after yielding everything that could be decompressed.
    """
    with open(path, "rb") as handle:
        head = handle.read(2)
        handle.seek(0)
        if head != GZIP_MAGIC:
            while chunk := handle.read(CHUNK):
                yield chunk
            return
        decomp = zlib.decompressobj(wbits=31)
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            while chunk:
                try:
                    data = decomp.decompress(chunk)
                except zlib.error as exc:
                    raise TruncatedInput(f"corrupt gzip data: {exc}") from exc
                if data:
                    yield data
                if decomp.eof:  # next gzip member, if any
                    chunk = decomp.unused_data
                    decomp = zlib.decompressobj(wbits=31) if chunk else decomp
                    if not chunk:
                        break
                else:
                    chunk = b""
        if not decomp.eof:
            tail = decomp.flush()
            if tail:
                yield tail
            raise TruncatedInput("gzip stream is truncated")


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a byte stream into lines without the line ending (\\n or \\r\\n)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            yield line.removesuffix(b"\r")
    if pending:
        yield pending.removesuffix(b"\r")


def decode_utf8(data: bytes) -> str:
    """Decode or raise RecordError naming the offending byte, and GBK when it looks like GBK."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = ""
        try:
            data.decode("gbk")
            hint = "; it decodes as GBK: re-export the file as UTF-8"
        except UnicodeDecodeError:
            pass
        raise RecordError(f"not valid UTF-8 at byte {exc.start}{hint}") from None


def _parse_json_line(data: bytes, max_bytes: int) -> tuple[Any, str | None]:
    if len(data) > max_bytes:
        return (
            None,
            f"record is {len(data):,} bytes, over the limit of {max_bytes:,} (ingest.max_record_bytes)",
        )
    try:
        text = decode_utf8(data)
        return json.loads(text), None
    except RecordError as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "malformed JSON: nested too deeply"


def read_records(path: Path, max_bytes: int, name: str | None = None) -> Iterator[RawRecord]:
    """Records of a message or groups file: JSONL, or one JSON document (batch, list, object).

    A ``.json`` document that is a GetChatData batch yields its ``chatdata`` items; a list
    yields its items; anything that does not parse as one document is read as JSONL.
    """
    name = name or str(path)
    lineno = 0
    try:
        if _logical_name(path).endswith(".json"):
            data = b"".join(iter_chunks(path))
            yield from _json_document(name, data, max_bytes)
            return
        for lineno, line in enumerate(iter_lines(iter_chunks(path)), start=1):
            if lineno == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if line.strip():
                yield _jsonl_record(name, lineno, line, max_bytes)
    except TruncatedInput as exc:
        yield RawRecord(name, lineno + 1, b"", error=f"{exc} after line {lineno}: the rest is unreadable")


def _jsonl_record(name: str, lineno: int, line: bytes, max_bytes: int) -> RawRecord:
    value, error = _parse_json_line(line, max_bytes)
    return RawRecord(name, lineno, line, value, error)


def _json_document(name: str, data: bytes, max_bytes: int) -> Iterator[RawRecord]:
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        doc = json.loads(decode_utf8(body))
    except (RecordError, json.JSONDecodeError, RecursionError):
        doc = None
    if isinstance(doc, dict) and "chatdata" in doc:
        if doc.get("errcode", 0) != 0:
            yield RawRecord(
                name, 1, data, error=f"batch has errcode {doc.get('errcode')}: {doc.get('errmsg', '')}"
            )
            return
        items = doc["chatdata"]
        if not isinstance(items, list):
            yield RawRecord(name, 1, data, error="'chatdata' must be a list")
            return
    elif isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict):
        items = [doc]
    else:  # not one document: JSON Lines under a .json name
        for lineno, line in enumerate(iter_lines([data]), start=1):
            if line.strip():
                yield _jsonl_record(name, lineno, line, max_bytes)
        return
    for index, item in enumerate(items, start=1):
        raw = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        error = None
        if len(raw) > max_bytes:
            error = f"record is {len(raw):,} bytes, over the limit of {max_bytes:,} (ingest.max_record_bytes)"
        yield RawRecord(name, index, raw, None if error else item, error)
