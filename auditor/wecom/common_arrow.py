"""The common shape (``messages.CommonRecord``) read by Arrow's JSON reader: a block of records in one
C++ call, straight into columns, instead of a msgspec struct per record.

It is a shortcut of a shortcut: ``common_rows`` says which records of a block Arrow read exactly as
``common_record`` would accept them, with the values msgspec would give; every other record is left
to ``common_record`` and ``parse_message`` as before. Records Arrow would read and msgspec refuses
are kept from it before the read (invalid UTF-8, which neither checks in a field it skips; nesting
deep enough for msgspec's recursion limit; anything not opening with ``{``) and rows after it (the
checks msgspec's types and ``common_record`` make: required fields, the action and type, msgtime's
range, a msgid that is not blank, a tolist without nulls). NaN or Infinity in a skipped field is
read by Arrow and refused by msgspec, but ``parse_message`` then makes the same row. Where Arrow
refuses a block (a repeated key, a value of another type, anything that is not one JSON object a
line: a carriage return ends a line for Arrow), its halves are tried, down to a few records, which
are left to msgspec.
"""

from __future__ import annotations

import io
import typing

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from auditor.wecom.messages import ARCHIVE_START_MS, CommonType, utf8

ARROW_SCHEMA = pa.schema(
    [
        ("msgid", pa.string()),
        ("action", pa.string()),
        ("from", pa.string()),
        ("msgtime", pa.int64()),
        ("msgtype", pa.string()),
        ("tolist", pa.list_(pa.string())),
        ("roomid", pa.string()),
        ("seq", pa.int64()),
        ("text", pa.struct([("content", pa.string())])),
    ]
)
# Unknown fields are skipped, as msgspec skips them for a Struct (an image's payload, say).
_PARSE = pj.ParseOptions(
    explicit_schema=ARROW_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=False
)
_ACTIONS = pa.array(["send", "recall"])
_TYPES = pa.array(list(typing.get_args(CommonType)))
READ_BLOCK = 1 << 20  # bytes Arrow parses at a time (a longer record is left to msgspec)
# msgspec gives up past ~1,000 levels of nesting; a record of fewer than 2 * DEEP bytes cannot nest DEEP deep.
DEEP = 256
MIN_TRIED = 16  # a refused block is halved down to this many records, which msgspec then reads


def common_rows(
    raws: list[bytes], latest_ms: int, raw: pa.LargeBinaryArray | None = None
) -> tuple[pa.Table, np.ndarray]:
    """(table, positions): the records at ``positions`` (ascending) of ``raws`` are of the common
    shape, and ``table`` holds them as ``common_record`` would read them (ARROW_SCHEMA); ``latest_ms``:
    the latest msgtime accepted; ``raw``: ``raws`` as an array, when the caller made one."""
    if raw is None:
        raw = pa.array(raws, pa.large_binary())
    try:
        raw.cast(pa.large_string())  # checks the UTF-8, copies nothing
        valid = None
    except pa.ArrowInvalid:  # rare: which records are not UTF-8 (Arrow's reader does not check)
        valid = np.asarray([utf8(r) for r in raws], bool)
    tried = _tried(raws, raw, valid)
    pieces = _read(raws, tried, b"\n".join(raws) if len(tried) == len(raws) else None)
    if not pieces:
        return _EMPTY, np.zeros(0, np.int64)
    pieces.sort(key=lambda piece: int(piece[0][0]))  # each piece a run of ``tried``: in input order
    table = pa.concat_tables([table for _, table in pieces])
    where = np.concatenate([positions for positions, _ in pieces])
    kept = _accepted(table, latest_ms).to_numpy(zero_copy_only=False)
    if not kept.all():  # nearly always all are: no copy of the table then
        table, where = table.filter(kept), where[kept]
    return table, where


_EMPTY = ARROW_SCHEMA.empty_table()


def _tried(raws: list[bytes], raw: pa.LargeBinaryArray, valid: np.ndarray | None) -> np.ndarray:
    """The positions of the records Arrow may read (see the module's docstring): valid UTF-8, an
    object from the first byte (Arrow 26 crashes on a block whose first document is a null; nothing
    else can be of the common shape), not nested too deep for msgspec."""
    offsets = np.frombuffer(raw.buffers()[1], np.int64)[raw.offset : raw.offset + len(raw) + 1]
    values = raw.buffers()[2]
    firsts = np.frombuffer(values if values is not None else b"", np.uint8)
    firsts = np.append(firsts, np.uint8(0))[offsets[:-1]]  # an empty record's first byte is the 0
    out = (firsts == ord("{")) & (offsets[1:] > offsets[:-1])
    if valid is not None:
        out &= valid
    for record in np.flatnonzero(np.diff(offsets) >= 2 * DEEP).tolist():
        if raws[record].count(b"[") + raws[record].count(b"{") >= DEEP:
            out[record] = False
    return np.flatnonzero(out)


def _read(raws: list[bytes], tried: np.ndarray, data: bytes | None) -> list[tuple[np.ndarray, pa.Table]]:
    """Arrow's reading of the records at ``tried`` (``data``: them joined by newlines, if at hand) as
    (positions, table) pieces. A refused run is halved, and a refused half halved again, down to
    MIN_TRIED records; where both halves of a run are refused, the refusals are dense and the run is
    left to msgspec (no more than about twice the bytes are parsed in vain)."""
    whole = _read_run(raws, tried, data)
    if whole is not None:
        return [(tried, whole)]
    pieces: list[tuple[np.ndarray, pa.Table]] = []
    refused = [tried]
    while refused:
        run = refused.pop()
        if len(run) <= MIN_TRIED:
            continue
        halves = (run[: len(run) // 2], run[len(run) // 2 :])
        tables = [_read_run(raws, half, None) for half in halves]
        if all(table is None for table in tables):
            continue
        for half, table in zip(halves, tables, strict=True):
            if table is None:
                refused.append(half)
            else:
                pieces.append((half, table))
    return pieces


def _read_run(raws: list[bytes], run: np.ndarray, data: bytes | None) -> pa.Table | None:
    """The records at ``run`` read by Arrow, one row each, or None when it refuses them."""
    if len(run) == 0:
        return None
    if data is None:
        data = b"\n".join([raws[i] for i in run])
    longest = max(len(raws[i]) for i in run) if len(run) <= MIN_TRIED else 0
    options = pj.ReadOptions(use_threads=False, block_size=max(READ_BLOCK, longest + 1))
    try:
        table = pj.read_json(io.BytesIO(data), read_options=options, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return table if table.num_rows == len(run) else None  # a row a record: each makes one or more


def _accepted(table: pa.Table, latest_ms: int) -> pa.Array:
    """The rows ``common_record`` would accept: what msgspec's types and its own checks require."""
    msgid, msgtime, tolist = table["msgid"], table["msgtime"], table["tolist"]
    checks = [
        pc.is_valid(table["from"]),
        pc.is_in(table["action"], value_set=_ACTIONS),
        pc.is_in(table["msgtype"], value_set=_TYPES),
        pc.greater_equal(msgtime, ARCHIVE_START_MS),
        pc.less_equal(msgtime, latest_ms),
        # a character no str.strip() removes: a msgid of other characters only is left to msgspec
        pc.match_substring_regex(msgid, "[!-~]"),
    ]
    kept = checks[0]
    for check in checks[1:]:
        kept = pc.and_kleene(kept, check)
    kept = pc.fill_null(kept, False)
    tolist = tolist.combine_chunks()
    items = tolist.flatten()
    if items.null_count:  # a null in a tolist: msgspec's list[str] refuses it
        lengths = pc.fill_null(pc.list_value_length(tolist), 0).to_numpy()  # flatten() skips a null list
        parents = np.repeat(np.arange(len(tolist)), lengths)
        bad = np.zeros(len(tolist), bool)
        bad[parents[items.is_null().to_numpy(zero_copy_only=False)]] = True
        kept = pc.and_(kept, pa.array(~bad))
    return kept.combine_chunks() if isinstance(kept, pa.ChunkedArray) else kept


def common_text_columns(msgtypes: pa.Array, payloads: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(texts, text_coverages) of common records read by Arrow: ``common_texts``, a column at a time."""
    is_text = pc.fill_null(pc.equal(msgtypes, "text"), False)
    content = pc.fill_null(pc.struct_field(payloads, "content"), "")
    texts = pc.if_else(is_text, content, "")
    return texts, pc.if_else(is_text, "extracted", "none_by_type")
