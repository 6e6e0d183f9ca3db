"""Finding export files and reading them as a stream of raw records.

Reading is defensive: gzip is recognised by its magic bytes and decompressed in chunks so a
truncated stream still yields every complete line before it; lines are bytes until decoded,
so one invalid line is rejected without losing the rest of the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auditor.errors import AuditorError
from auditor.wecom.messages import RecordError

# Bytes read (or inflated) at a time; a JSONL file's chunk is a decoding block (about 13,000 realistic
# records). Each block pays a few dozen Arrow calls and a zlib call: decoding the 1M archive's day files
# in one process took 1.65 / 1.95-2.06 CPU s (plain / gzip) at 1 MB, 1.49-1.51 / 1.74-1.75 at 4 MB,
# no less at 8 or 16 MB.
CHUNK = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
INPUT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".txt")
PREVIEW_BYTES = 16 * 1024  # of an over-long record, what the rejects keep (with its length and hash)


class _NotDecoded:
    """The one value of ``RawRecord.value`` that says the JSON was not decoded (see ``decoded``).
    It pickles as a reference to ``NOT_DECODED``, so a record crossing to another process (a
    decoding worker's result) is still ``is NOT_DECODED`` there."""

    def __repr__(self) -> str:
        return "NOT_DECODED"

    def __reduce__(self) -> str:
        return "NOT_DECODED"


NOT_DECODED: Any = _NotDecoded()


class RawRecord(NamedTuple):  # a tuple: one is made for every input record
    """One input record before validation: where it came from and its bytes.

    ``value`` is the decoded JSON (or CSV row), or NOT_DECODED when the reader was asked to leave
    that to the caller (see ``decoded``); ``error`` says why it could not be decoded.
    When ``raw`` is only the first bytes of an over-long line, ``length`` and ``sha256`` are
    the whole line's.
    """

    file: str
    line: int
    raw: bytes
    value: Any = None
    error: str | None = None
    length: int | None = None
    sha256: str | None = None

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


@dataclass(frozen=True)
class Skipped:
    """An input that was not read, and why (an unreadable file, a symlink leading out of its folder)."""

    path: Path
    reason: str


@dataclass
class Found:
    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _walk(root: Path, found: Found) -> None:
    """Input files under ``root``. A symlink is followed only to a file inside ``root`` itself:
    a link out of the folder would let whoever drops files in the inbox read any file the
    auditor can (and copy it into W/rejects). Linked folders are never descended."""
    inside = root.resolve()
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        linked_dirs = [d for d in dirnames if os.path.islink(os.path.join(folder, d))]
        for name in sorted([*filenames, *linked_dirs]):
            if name.startswith("."):
                continue
            child = Path(folder, name)
            wanted = _logical_name(child).endswith(INPUT_SUFFIXES)
            if not child.is_symlink():
                if wanted and child.is_file():
                    found.files.append(child)
                continue
            target = child.resolve()
            if not (wanted or target.is_dir()):
                continue
            if not target.exists():
                found.skipped.append(Skipped(child, "dangling symlink: not followed"))
            elif not target.is_relative_to(inside):
                found.skipped.append(Skipped(child, f"symlink to {target}, outside {root}: not followed"))
            elif not target.is_dir():  # a linked folder inside is found under its own name
                found.files.append(child)


def discover(paths: Iterable[str | Path]) -> Found:
    """Expand directories recursively; explicit files are always taken, found ones by suffix."""
    found = Found()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise AuditorError(f"no such file or directory: {given}")
        if path.is_file():
            found.files.append(path)
        else:
            _walk(path, found)
    seen: set[Path] = set()
    unique = []
    for path in found.files:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    found.files = unique
    return found


class TruncatedInput(Exception):
    pass


class OversizeInput(Exception):
    """The file decompresses to more bytes than the cap: it is quarantined, not read."""


def _decompressed(path: Path) -> Iterator[bytes]:
    """The file's bytes, gunzipped when it starts with the gzip magic (multi-member aware).

    Each step inflates at most CHUNK bytes (``max_length``), so a gzip bomb costs CHUNK of
    memory per step, never its decompressed size. Raises TruncatedInput after yielding
    everything that could be decompressed.
    """
    with open(path, "rb") as handle:
        head = handle.read(2)
        handle.seek(0)
        if head != GZIP_MAGIC:
            while chunk := handle.read(CHUNK):
                yield chunk
            return
        decomp = zlib.decompressobj(wbits=31)
        started = False  # the current member has been fed bytes
        pending = b""
        while True:
            if not pending:
                pending = handle.read(CHUNK)
                if not pending:
                    break
            try:
                data = decomp.decompress(pending, CHUNK)
            except zlib.error as exc:
                raise TruncatedInput(f"corrupt gzip data: {exc}") from exc
            started = True
            pending = decomp.unconsumed_tail
            if data:
                yield data
            if decomp.eof:  # next gzip member, if any
                pending = decomp.unused_data
                decomp = zlib.decompressobj(wbits=31)
                started = False
        if started and not decomp.eof:
            while tail := decomp.decompress(b"", CHUNK):  # output held back by the max_length cap
                yield tail
            if not decomp.eof:
                raise TruncatedInput("gzip stream is truncated")


def iter_chunks(path: Path, max_bytes: int | None = None) -> Iterator[bytes]:
    """The file's (decompressed) bytes; OversizeInput once more than ``max_bytes`` came out."""
    total = 0
    for data in _decompressed(path):
        total += len(data)
        if max_bytes is not None and total > max_bytes:
            raise OversizeInput(f"decompresses to more than {max_bytes:,} bytes")
        yield data


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic (whatever its name)."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def exceeds(path: Path, max_bytes: int, decompress: bool = True) -> bool:
    """Whether the file decompresses to more than ``max_bytes``: one bounded pass before any
    record is read, so a file is either read whole or quarantined, never half stored.
    ``decompress=False``: only its size on disk is checked (the caller reads a gzip file with
    ``strict_cap``, which checks the rest as it reads)."""
    if path.stat().st_size > max_bytes:
        return True
    if not decompress or not is_gzip(path):
        return False  # its size is what it decompresses to
    try:
        for _ in iter_chunks(path, max_bytes):
            pass
    except OversizeInput:
        return True
    except TruncatedInput:
        pass  # reading reports it, keeping every complete line before it
    return False


@dataclass(frozen=True)
class OverlongLine:
    """A line over the cap: only its first bytes, length and hash are kept while it streams by."""

    head: bytes
    length: int
    sha256: str


class _Line:
    """The line being assembled across chunks, in memory bounded by the cap."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.length = 0
        self.digest: Any = None  # set once the line is over the cap
        self.head = b""

    def add(self, piece: bytes) -> None:
        self.length += len(piece)
        if self.digest is not None:
            self.digest.update(piece)
            if len(self.head) < PREVIEW_BYTES:  # the preview is the line's first bytes, however it is cut
                self.head += piece[: PREVIEW_BYTES - len(self.head)]
        elif self.length > self.max_bytes:
            self.digest = hashlib.sha256()
            for part in (*self.parts, piece):
                self.digest.update(part)
            self.head = b"".join(self.parts)[:PREVIEW_BYTES]
            self.head += piece[: PREVIEW_BYTES - len(self.head)]
            self.parts = []
        else:
            self.parts.append(piece)

    def take(self) -> bytes | OverlongLine:
        if self.digest is not None:
            line: bytes | OverlongLine = OverlongLine(self.head, self.length, self.digest.hexdigest())
        else:
            line = b"".join(self.parts).removesuffix(b"\r")
        self.parts, self.length, self.digest, self.head = [], 0, None, b""
        return line


def iter_lines(
    chunks: Iterable[bytes], max_bytes: int, first_line: int = 1
) -> Iterator[tuple[int, bytes | OverlongLine]]:
    """(line number, line) for every non-empty line, without the line ending (\\n or \\r\\n);
    the chunks' first line is number ``first_line``."""
    for numbers, lines in iter_line_blocks(chunks, max_bytes, first_line):
        yield from zip(numbers, lines, strict=True)


def iter_line_blocks(
    chunks: Iterable[bytes], max_bytes: int, first_line: int = 1
) -> Iterator[tuple[Sequence[int], list[bytes | OverlongLine]]]:
    """``iter_lines`` a chunk at a time: (numbers, lines) of the chunk's non-empty lines, so a reader
    handles a chunk's thousands of lines in a few C calls rather than a loop step each.

    Linear in the input, whatever its shape: a chunk is split once, and a line over ``max_bytes``
    is hashed as it streams by rather than joined.
    """
    lineno = first_line  # the number of the line the chunk's first piece belongs to
    line = _Line(max_bytes)
    start = 0  # the number of a line continuing from an earlier chunk, else 0
    for chunk in chunks:
        pieces = chunk.split(b"\n")
        tail = pieces.pop()  # after the chunk's last newline: continues into the next chunk
        numbers: list[int] = []
        lines: list[bytes | OverlongLine] = []
        if start and pieces:  # the line continuing from earlier chunks ends with this chunk's first piece
            line.add(pieces[0])
            numbers.append(start)
            lines.append(line.take())
            start = 0
            lineno += 1
            del pieces[0]
        if pieces and all(pieces) and max(map(len, pieces)) <= max_bytes:  # the usual case
            numbers += range(lineno, lineno + len(pieces))
            lines += [p.removesuffix(b"\r") for p in pieces] if b"\r" in chunk else pieces
        else:
            for number, piece in enumerate(pieces, start=lineno):
                if not piece:
                    continue
                numbers.append(number)
                if len(piece) <= max_bytes:
                    lines.append(piece.removesuffix(b"\r"))
                else:
                    line.add(piece)
                    lines.append(line.take())
        lineno += len(pieces)
        if tail:
            start = start or lineno
            line.add(tail)
        if lines:
            yield numbers, lines
    if start:
        yield [start], [line.take()]


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


def _over_limit(length: int, max_bytes: int) -> str:
    return f"record is {length:,} bytes, over the limit of {max_bytes:,} (ingest.max_record_bytes)"


# msgspec parses valid UTF-8 JSON into the same values as the json module (arbitrary-precision
# integers, last duplicate key wins, the same recursion limit) at several times its speed. Whatever
# it refuses is parsed again by the json module, so a rejected record keeps the json module's
# verdict and reason, and the few inputs only the json module accepts (NaN, lone surrogates) still
# parse as before.
_fast_decode = msgspec.json.Decoder().decode
_fast_encode = msgspec.json.Encoder().encode
# The json module writes small and large floats with an exponent (1e-05, 1e+16) where msgspec does
# not (0.00001) or writes it otherwise (1e16); output that may hold such a number (a value first or
# after : , or [) is written by the json module. Text that only looks like one costs speed, not bytes.
# Searched as "first, or after a delimiter": a pattern that starts with its character class is scanned
# for faster than one starting with an alternation.
_FLOAT_FORM = rb"-?(?:[0-9][0-9.]*[eE]|0\.0000)"
_FLOAT_FORM_FIRST = re.compile(_FLOAT_FORM)
_FLOAT_FORM_AFTER = re.compile(rb"[:,\[]" + _FLOAT_FORM)


def _float_forms_differ(raw: bytes) -> bool:
    return bool(_FLOAT_FORM_FIRST.match(raw) or _FLOAT_FORM_AFTER.search(raw))


def parse_json(data: bytes) -> tuple[Any, str | None, bool]:
    """(value, None, fast) for a JSON text, or (None, why not, False) — the json module's reasons.

    ``fast``: msgspec decoded it, so it holds no NaN or lone surrogate and ``compact_json`` may
    write it with msgspec."""
    try:
        return _fast_decode(data), None, True
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # invalid UTF-8: see common_record
        return *_parse_json_line(data), False


# A number with a fraction or exponent in JSON text: a document without one holds no float.
_FLOAT_IN_TEXT = re.compile(rb"[:,\[]\s*-?[0-9]+[.eE]")


def compact_json(value: Any, fast: bool, may_hold_floats: bool = True) -> bytes:
    """``value`` as compact UTF-8 JSON, byte for byte as ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` writes it (msgspec writes it when ``parse_json`` said ``fast``).
    ``may_hold_floats=False`` (its document has none) spares the check of every item."""
    if fast:
        raw = _fast_encode(value)
        if not (may_hold_floats and _float_forms_differ(raw)):
            return raw
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse_json_line(data: bytes) -> tuple[Any, str | None]:
    try:
        text = decode_utf8(data)
        return json.loads(text), None
    except RecordError as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "malformed JSON: nested too deeply"


@dataclass(frozen=True)
class Limits:
    """Caps applied while reading (the ``ingest`` settings): memory stays bounded by them."""

    record_bytes: int  # one JSONL line or batch item
    file_bytes: int  # a streamed file, decompressed
    document_bytes: int  # a file parsed whole: a .json document, a roster .csv
    stored_rejects: int  # rejected records of a file (or of its piece) kept whole; the rest counted


def reads_whole(path: Path) -> bool:
    """A .json document or a roster .csv is parsed in one piece; JSONL streams line by line."""
    return _logical_name(path).endswith((".json", ".csv"))


def file_cap(path: Path, limits: Limits) -> tuple[int, str]:
    """The decompressed size a file may have, and the setting that says so."""
    if reads_whole(path):
        return limits.document_bytes, "ingest.max_document_bytes"
    return limits.file_bytes, "ingest.max_decompressed_bytes"


class LineSpan(NamedTuple):
    """The lines of a plain JSONL file between byte offsets ``start`` and ``end`` (each just after a
    newline, or the file's ends), the first of them numbered ``first_line``: a large file is read in
    such pieces by several processes at once."""

    start: int
    end: int
    first_line: int


def line_spans(path: Path, piece_bytes: int) -> list[LineSpan]:
    """``path`` (plain, not gzip) cut into spans of about ``piece_bytes`` at line ends, in one
    pass that counts the lines before each cut."""
    spans: list[LineSpan] = []
    start, first_line, offset, lines = 0, 1, 0, 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            cut = start + piece_bytes - offset  # where in this chunk the next span may end
            while 0 <= cut < len(chunk) and (newline := chunk.find(b"\n", max(cut, 0))) >= 0:
                end = offset + newline + 1
                spans.append(LineSpan(start, end, first_line))
                first_line += lines + chunk.count(b"\n", max(start - offset, 0), newline + 1)
                start, lines = end, 0
                cut = start + piece_bytes - offset
            lines += chunk.count(b"\n", max(start - offset, 0))
            offset += len(chunk)
    if offset > start:
        spans.append(LineSpan(start, offset, first_line))
    return spans


def _span_chunks(path: Path, span: LineSpan) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(span.start)
        remaining = span.end - span.start
        while remaining > 0 and (chunk := handle.read(min(CHUNK, remaining))):
            remaining -= len(chunk)
            yield chunk


class RecordBlock(NamedTuple):
    """Records in input order without a RawRecord each (made only for the few that need one): record
    ``i`` is ``RawRecord(file, lines[i], raws[i], NOT_DECODED)``, unless ``specials`` holds another
    for it (a record with an error, or decoded already, or of another file). ``files``: each
    record's file, when the block joins several files' records (``joined_blocks``)."""

    file: str
    lines: Sequence[int]
    raws: list[bytes]
    specials: dict[int, RawRecord]
    files: Sequence[str] | None = None

    def record(self, index: int) -> RawRecord:
        special = self.specials.get(index)
        file = self.file if self.files is None else self.files[index]
        return special or RawRecord(file, self.lines[index], self.raws[index], NOT_DECODED)

    def records(self) -> Iterator[RawRecord]:
        return map(self.record, range(len(self.raws)))

    def files_at(self, places: Sequence[int]) -> list[str]:
        """The file of each record at ``places``."""
        if self.specials:
            return [self.record(i).file for i in places]
        if self.files is not None:
            return [self.files[i] for i in places]
        return [self.file] * len(places)


def joined_blocks(blocks: Iterable[RecordBlock], size: int) -> Iterator[RecordBlock]:
    """Blocks of several files joined into blocks of at least ``size`` records (or what is left): the
    per-block work of decoding (a few dozen Arrow calls) is then paid once for many small files."""
    pending: list[RecordBlock] = []
    for block in itertools.chain(blocks, [None]):
        if block is not None:
            pending.append(block)
            if sum(len(b.raws) for b in pending) < size:
                continue
        if not pending:
            continue
        if len(pending) == 1:
            yield pending[0]
        else:
            files: list[str] = []
            specials: dict[int, RawRecord] = {}
            for part in pending:
                specials.update((len(files) + i, record) for i, record in part.specials.items())
                files += part.files or [part.file] * len(part.raws)
            lines = [line for part in pending for line in part.lines]
            raws = [raw for part in pending for raw in part.raws]
            yield RecordBlock(pending[0].file, lines, raws, specials, files)
        pending = []


def blocks_of(records: Iterable[RawRecord], size: int) -> Iterator[RecordBlock]:
    """``records`` as RecordBlocks of ``size``."""
    records = iter(records)
    while block := list(itertools.islice(records, size)):
        file = block[0].file
        specials = {
            index: record
            for index, record in enumerate(block)
            if record.value is not NOT_DECODED or record.error is not None or record.file != file
        }
        yield RecordBlock(file, [r.line for r in block], [r.raw for r in block], specials)


def read_blocks(
    path: Path,
    limits: Limits,
    name: str | None = None,
    *,
    span: LineSpan | None = None,
    size: int = 16_384,
    strict_cap: bool = False,
) -> Iterator[RecordBlock]:
    """``read_records(decode=False)`` a block at a time: a JSONL file's blocks are its chunks' lines
    (a few thousand), a document's items come ``size`` at a time."""
    name = name or str(path)
    if _logical_name(path).endswith(".json"):
        document = _read_document(path, limits, name, span, strict_cap)
        if isinstance(document, RawRecord):
            yield from blocks_of([document], size)
        else:
            yield from _document_blocks(name, document, limits.record_bytes, size)
        return
    first_line = 1 if span is None else span.first_line
    lineno = first_line - 1  # the last line read
    # a span is a piece of a plain JSONL file whose size was checked already
    chunks = iter_chunks(path, file_cap(path, limits)[0]) if span is None else _span_chunks(path, span)
    try:
        for numbers, lines in iter_line_blocks(chunks, limits.record_bytes, first_line):
            lineno = numbers[-1]
            block = _jsonl_block(name, numbers, lines, limits.record_bytes)
            if block.raws:
                yield block
    except (TruncatedInput, OversizeInput, OSError) as exc:
        if strict_cap and isinstance(exc, OversizeInput):
            raise
        yield RecordBlock(name, [lineno + 1], [b""], {0: _unreadable(name, lineno, exc)})


def _unreadable(name: str, lineno: int, exc: Exception) -> RawRecord:
    reason = exc.strerror if isinstance(exc, OSError) else str(exc)
    return RawRecord(name, lineno + 1, b"", error=f"{reason} after line {lineno}: the rest is unreadable")


def _jsonl_block(
    name: str, numbers: Sequence[int], lines: list[bytes | OverlongLine], max_bytes: int
) -> RecordBlock:
    """The records of a chunk's lines (as ``_jsonl_record`` makes each): all of them, in the usual
    case, checked by a few C calls."""
    plain = numbers[0] != 1 and OverlongLine not in map(type, lines)
    if plain and all(lines) and not any(map(bytes.isspace, lines)):  # ("\r" is a line, empty once cut)
        return RecordBlock(name, numbers, lines, {})  # type: ignore[arg-type]  # bytes only, checked
    kept_lines: list[int] = []
    raws: list[bytes] = []
    specials: dict[int, RawRecord] = {}
    for number, line in zip(numbers, lines, strict=True):
        if record := _jsonl_record(name, number, line, max_bytes, decode=False):
            if record.error is not None:
                specials[len(raws)] = record
            kept_lines.append(number)
            raws.append(record.raw)
    return RecordBlock(name, kept_lines, raws, specials)


def read_records(
    path: Path,
    limits: Limits,
    name: str | None = None,
    *,
    decode: bool = True,
    span: LineSpan | None = None,
    strict_cap: bool = False,
) -> Iterator[RawRecord]:
    """Records of a message or groups file: JSONL, or one JSON document (batch, list, object).

    A ``.json`` document that is a GetChatData batch yields its ``chatdata`` items; a list
    yields its items; anything that does not parse as one document is read as JSONL.
    ``span``: only those lines of a plain JSONL file (``line_spans``).
    ``decode=False`` leaves JSONL lines NOT_DECODED: a caller with a faster reader for the
    common shape decodes only the others (``decoded``).
    ``strict_cap``: a file decompressing past its cap raises OversizeInput (the caller quarantines
    it) rather than ending in an unreadable record.
    """
    name = name or str(path)
    if not _logical_name(path).endswith(".json"):
        for block in read_blocks(path, limits, name, span=span, strict_cap=strict_cap):
            yield from map(decoded, block.records()) if decode else block.records()
        return
    document = _read_document(path, limits, name, span, strict_cap)
    if isinstance(document, RawRecord):
        yield document
    elif decode:
        yield from _json_document(name, document, limits.record_bytes)
    else:
        for block in _document_blocks(name, document, limits.record_bytes, 16_384):
            yield from block.records()


def _read_document(
    path: Path, limits: Limits, name: str, span: LineSpan | None, strict_cap: bool
) -> bytes | RawRecord:
    """A .json file's bytes, or the record saying why they cannot be read (``read_records``)."""
    lineno = 0 if span is None else span.first_line - 1
    chunks = iter_chunks(path, file_cap(path, limits)[0]) if span is None else _span_chunks(path, span)
    try:
        return b"".join(chunks)
    except (TruncatedInput, OversizeInput, OSError) as exc:
        if strict_cap and isinstance(exc, OversizeInput):
            raise
        return _unreadable(name, lineno, exc)


def _jsonl_record(
    name: str, lineno: int, line: bytes | OverlongLine, max_bytes: int, decode: bool = True
) -> RawRecord | None:
    """The record of one line; None for a blank line (no record at all)."""
    if isinstance(line, OverlongLine):
        error = _over_limit(line.length, max_bytes)
        return RawRecord(name, lineno, line.head, error=error, length=line.length, sha256=line.sha256)
    if lineno == 1:
        line = line.removeprefix(b"\xef\xbb\xbf")
    if not line or line.isspace():  # as ``not line.strip()``, without the copy
        return None
    if not decode:
        return RawRecord(name, lineno, line, NOT_DECODED)
    value, error, _ = parse_json(line)
    return RawRecord(name, lineno, line, value, error)


def decoded(record: RawRecord) -> RawRecord:
    """The record with its JSON decoded (as ``read_records`` decodes it) if it was left NOT_DECODED."""
    if record.value is not NOT_DECODED:
        return record
    value, error, _ = parse_json(record.raw)
    return record._replace(value=value, error=error)


_split_list = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _compact_items(items: list[Any], fast: bool, floats: bool) -> list[bytes]:
    """``compact_json`` of each item. msgspec writes a list as its items' encodings joined by commas,
    so the whole list is written once and split back into items (``msgspec.Raw``); when a float
    form in it may differ from the json module's, each item is written (and checked) alone."""
    if fast and items:
        whole = _fast_encode(items)
        if not (floats and _float_forms_differ(whole)):
            return [bytes(raw) for raw in _split_list(whole)]
    return [compact_json(item, fast, floats) for item in items]


class _Batch(msgspec.Struct):
    """A GetChatData batch whose items are left as their JSON bytes (``msgspec.Raw``)."""

    chatdata: list[msgspec.Raw]
    errcode: int = 0


_split_batch = msgspec.json.Decoder(_Batch).decode
# The escapes json.dumps(ensure_ascii=False) writes itself; any other (\/, \u4e2d, upper-case hex) it writes
# otherwise. And numbers it writes otherwise: a fraction or exponent (a float), and -0 (the int 0).
_OWN_ESCAPES = re.compile(rb'\\(?:["\\bfnrt]|u00(?:0[0-7be-f]|1[0-9a-f]))')
# Searched in each item by Arrow (RE2, several times faster than ``re`` here): first in the item or after
# a delimiter, as in the document.
_NUMBER_REWRITTEN = r"(?:^|[:,\[])(?:-?[0-9]+[.eE]|-0(?:[^0-9]|$))"


def _batch_items(body: bytes) -> list[bytes] | None:
    """The items of a GetChatData batch (errcode 0) as ``compact_json`` writes them, cut from the
    document's own bytes with the whitespace removed rather than decoded and written again (several
    times faster); an item whose bytes the json module would write otherwise — an escape it writes
    otherwise, a float, -0 — is decoded and written. A repeated key is kept as it came (the json
    module would keep the last value), as a JSONL line keeps it. None when the document is anything
    else, or not valid UTF-8 (msgspec checks that only in strings it decodes): the caller then
    reads it whole, as before."""
    try:
        batch = _split_batch(msgspec.json.format(body, indent=-1))
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    if batch.errcode != 0 or not _valid_utf8(body):
        return None
    items = [bytes(raw) for raw in batch.chatdata]
    found = pc.match_substring_regex(pa.array(items, pa.binary()), _NUMBER_REWRITTEN)
    rewritten = set(np.flatnonzero(found.to_numpy(zero_copy_only=False)).tolist())
    for index, item in enumerate(items):
        if index in rewritten or (b"\\" in item and b"\\" in _OWN_ESCAPES.sub(b"", item)):
            value, error, fast = parse_json(item)
            if error is not None:
                return None
            items[index] = compact_json(value, fast)
    return items


def _valid_utf8(data: bytes) -> bool:
    """UTF-8 as strictly as ``bytes.decode`` checks it, by Arrow's validator: no str is made, and the
    bytes are wrapped, not copied (``pa.array([data])`` copied them: 9 of 10 parts of the check)."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    wrapped = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        wrapped.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _document_blocks(name: str, data: bytes, max_bytes: int, size: int) -> Iterator[RecordBlock]:
    """The records of a .json file, ``size`` at a time, a batch's items left NOT_DECODED and cut
    straight into blocks (no RawRecord per item); any other document as ``_json_document`` reads it."""
    items = _batch_items(data.removeprefix(b"\xef\xbb\xbf"))
    if items is None:
        yield from blocks_of(_json_document(name, data, max_bytes), size)
        return
    for start in range(0, len(items), size):
        raws = items[start : start + size]
        specials = {
            index: RawRecord(name, start + index + 1, raw, error=_over_limit(len(raw), max_bytes))
            for index, raw in enumerate(raws)
            if len(raw) > max_bytes
        }
        yield RecordBlock(name, range(start + 1, start + len(raws) + 1), raws, specials)


def _json_document(name: str, data: bytes, max_bytes: int) -> Iterator[RawRecord]:
    """The records of a .json file, decoded."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    doc, _, fast = parse_json(body)
    floats = _FLOAT_IN_TEXT.search(body) is not None
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
        for lineno, line in iter_lines([data], max_bytes):
            if record := _jsonl_record(name, lineno, line, max_bytes):
                yield record
        return
    for index, (item, raw) in enumerate(
        zip(items, _compact_items(items, fast, floats), strict=True), start=1
    ):
        error = None
        if len(raw) > max_bytes:
            error = _over_limit(len(raw), max_bytes)
        yield RawRecord(name, index, raw, None if error else item, error)
