"""Masking: one module decides what a reviewer never sees, in excerpts, context lines, pages and
exports — the same rules for a finding's excerpt and the lines around it, broader than detection."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.audit import audit
from auditor.detectors.pii import luhn_valid
from auditor.ingest import ingest
from auditor.masking import _merged, excerpt, mask_many, mask_text, sensitive_spans
from auditor.report.render import report
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

# (text, the raw values that must disappear, what must show instead)
MASKED = [
    # what the issue found leaking from context lines
    ("这个号码你看下 6222021234567890128", ["6222021234567890128"], "6222***********0128"),
    ("身份证 110105 19491231 002X", ["19491231"], "110105********002X"),
    ("password is hunter2", ["hunter2"], "h******"),
    ("账号admin 密码admin123", ["admin123"], "a******"),
    # masking is broader than detection: no card word, a business-id prefix
    ("批次 4111111111111111 已入库", ["4111111111111111"], "4111********1111"),
    ("订单号 13812345678 已发货", ["13812345678"], "138****5678"),
    # everything detection finds
    ("客户电话 13812345678，麻烦回访", ["13812345678"], "138****5678"),
    ("联系我：+86 138 1234 5678", ["1234 5678"], "138****5678"),
    ("招行卡 6225825984860136", ["6225825984860136"], "6225********0136"),
    ("把合同发到 li.na@example-client.com", ["li.na@"], "l***@example-client.com"),
    ("admin / Gxjp!567", ["Gxjp!567"], "G******"),
    ("redis.conf 里 requirepass Xk82mdQ2", ["Xk82mdQ2"], "X******"),
    ("postgres://app:Tr0ub4dor@db.internal:5432/prod", ["Tr0ub4dor"], "postgres://app:T******@db.internal"),
    ("后台 http://root:Ipw0rd!x@10.0.0.5/admin", ["Ipw0rd!x"], "root:I******@10.0.0.5"),  # also link evidence
    ("AWS key AKIA2E3MJQ5TNB6LXQ4Z", ["AKIA2E3MJQ5TNB6LXQ4Z"], "AKIA******"),
    ("glpat-9xK2mQ7vL4pR8tY3wZ6b", ["9xK2mQ7vL4pR8tY3wZ6b"], "glpa******"),
    ("api_key=3f9a8c7e2b1d4f6a9c0e8b7d5a3f1c2e", ["3f9a8c7e2b1d4f6a9c0e8b7d5a3f1c2e"], "api_key=3f9a******"),
    ("ＡＫＩＡ２Ｅ３ＭＪＱ５ＴＮＢ６ＬＸＱ４Ｚ", ["ＭＪＱ５ＴＮＢ６ＬＸＱ４Ｚ"], "AKIA******"),  # full width
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x2\n-----END RSA PRIVATE KEY-----",
        ["MIIEp"],
        "****",
    ),
]
UNCHANGED = [
    "收到，谢谢",
    "git@github.com:org/repo.git",
    "会议在 2026-11-16 13:30，1101 会议室",
    "订单 202611160001 已发货",
    "AKIAIOSFODNN7EXAMPLE",
    "密码是 ******",
    "6222021234567890123",  # not Luhn-valid
    "版本 1.3.8，见 src/main.py",
]


@pytest.mark.parametrize(("text", "raw", "shown"), MASKED)
def test_mask_text_hides_every_sensitive_value(text, raw, shown):
    masked = mask_text(text)
    for value in raw:
        assert value not in masked
    assert shown in masked


@pytest.mark.parametrize("text", UNCHANGED)
def test_mask_text_leaves_ordinary_text_alone(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(("text", "raw", "shown"), MASKED)
def test_a_finding_excerpt_masks_like_a_context_line(text, raw, shown):
    """An excerpt around any match hides what mask_text hides, even without the finding's hits."""
    shown_excerpt = excerpt(text, 0, min(2, len(text)), context=len(text))
    for value in raw:
        assert value not in shown_excerpt


def test_excerpt_widens_to_a_whole_sensitive_span_and_merges_overlaps():
    text = "傻逼 " + "x" * 30 + " 卡号 6222021234567890128"
    cut = excerpt(text, 0, 2, context=40)  # the window ends inside the card number
    assert "6222***********0128" in cut and "0128" in cut and "62220212" not in cut
    overlapping = [(36, 45, "[A]"), (40, 55, "[B]")]
    merged = excerpt(text, 0, 2, overlapping, context=60)
    assert "[A]" in merged and "[B]" not in merged and "1234567890128" not in merged


def test_spans_are_in_original_offsets_for_full_width_text():
    text = "卡号：６２２２０２１２３４５６７８９０１２８"
    ((start, end, mask),) = sensitive_spans(text)
    assert (start, end) == (3, len(text)) and mask == "6222***********0128"


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@given(
    st.integers(min_value=15, max_value=18).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
    ),
    st.sampled_from(["", "好的 ", "退款到 ", "这是 ", "批次 "]),
    st.sampled_from(["", " 谢谢", "，收到", " 已入库"]),
)
def test_no_luhn_valid_card_number_survives_masking(body, before, after):
    number = _luhn_complete(body)
    assert number not in mask_text(before + number + after)


# --- the rendered report: none of the raw values above reach a page or summary.json -------------


def test_rendered_reports_contain_no_raw_secret_or_personal_data(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.init()
    lines = [text for text, *_ in MASKED]
    random.Random(7).shuffle(lines)
    records = []
    for i, text in enumerate(lines):  # every sensitive line sits next to a profanity finding
        records.append(message(f"s{i}", roomid="wrA", text={"content": text}, msgtime=BASE_MS + i * 120_000))
        records.append(
            message(f"p{i}", roomid="wrA", text={"content": "傻逼"}, msgtime=BASE_MS + i * 120_000 + 60_000)
        )
    write_jsonl(tmp_path / "in" / "day.jsonl", records)
    ingest(ws, [tmp_path / "in"])
    audit(ws, ["2026-11-16"], workers=1)
    report(ws, ["2026-11-16"])
    folder = ws.reports_dir / "2026-11-16"
    outputs = {p.name: p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}
    assert any(name.startswith("g-") for name in outputs) and "summary.json" in outputs
    everything = "\n".join(outputs.values())
    assert "6222***********0128" in everything  # the context line is there, masked
    for text, raw, _ in MASKED:
        for value in raw:
            assert value not in everything, (text, value)


# Pieces of what masking hides, split where a screen could lose them, and chat around them.
PIECES = [piece for text, *_ in MASKED for piece in (text[: len(text) // 2], text[len(text) // 2 :])]
PIECES += [*UNCHANGED, "，", " ", "\u200b", "e\u0301", "１３８", "@", "密", "码", "：", "\n", "你好"]


@given(st.lists(st.sampled_from(PIECES), max_size=6).map("".join))
def test_the_screen_before_the_recognizers_hides_nothing_less(text):
    """``sensitive_spans`` skips the recognizers where the detectors' prefilters find nothing: it gives
    what running every recognizer gives."""
    from auditor.detectors.pii import find_personal_data
    from auditor.detectors.secret import find_secrets
    from auditor.text.normalize import fold_width

    folded = fold_width(text)
    found = find_secrets(folded.text) + find_personal_data(folded.text, broad=True)
    assert sensitive_spans(text) == _merged((*folded.span(f.start, f.end), f.masked) for f in found)


def test_a_batch_of_lines_is_masked_as_each_line_alone():
    texts = [text for text, *_ in MASKED] + UNCHANGED + ["e\u0301 13812345678", "a\x00b 13812345678"]
    assert mask_many(texts) == {text: mask_text(text) for text in texts}
