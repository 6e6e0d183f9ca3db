"""Personal data (个人信息): mobile numbers, resident ID numbers, bank cards, e-mail addresses.

Each pattern is validated the way presidio validates recognizers: an ID number must pass the
GB 11643-1999 check digit and carry a real birth date; a bank card must pass Luhn *and* stand
near card words (卡号, 银行卡, 转账, a bank's short name: 招行卡 6228 …); numbers after
订单号/单号/工号 and numbers inside identifiers (trace ids, contract numbers) are business
identifiers; ``git@github.com:org/repo.git`` is not an e-mail.
"""

from __future__ import annotations

import datetime as dt
import re

from auditor.detectors import register
from auditor.detectors.base import Hit, Prefilter, Sensitive, TextBatch, TextDetector, TextView

MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
# 18 characters, or grouped as written on forms: 110105 19491231 002X
ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-8]\d{5})[\s-]?(\d{8})[\s-]?(\d{3})([\dXx])(?![0-9A-Za-z])")
BANK_CARD = re.compile(r"(?<!\d)(\d{4}(?:[\s-]?\d{4}){3}(?:[\s-]?\d{1,3})?)(?!\d)")
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]{1,64})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
# git@github.com:org/repo.git and ssh://git@host/…: the user part of a remote, not a mailbox
GIT_REMOTE_AFTER = re.compile(r":~?[A-Za-z0-9_.-]+/")
URL_USERINFO_BEFORE = re.compile(r"://[^\s/@]*$")
BUSINESS_ID = re.compile(r"(?:订单号?|单号|编号|工号|流水号|快递单|运单|发票号|合同号)[:：\s]*$")
# A number inside an identifier (trace 13800138000abc, HT-2026-13812345678, order_13800138000): glued
# to letters or an underscore after it, or to an underscore or a dashed segment before it. Letters just
# before it are allowed: 加vx13800138000 is how an ad writes a contact.
IDENTIFIER_AFTER = re.compile(r"[0-9A-Za-z_]")
IDENTIFIER_BEFORE = re.compile(r"(?:_|[0-9A-Za-z]-)$")
# Card words: 卡号, 银行卡 …, and a bank's name or short name (招行卡 6228 …, 工行 6222 …).
BANKS = (
    "招行|工行|建行|农行|中行|交行|邮储|浦发|民生|兴业|平安|光大|华夏|中信|广发|北京银行|上海银行|宁波银行|"
    "江苏银行|南京银行|杭州银行|农商|农信|招商银行|工商银行|建设银行|农业银行|中国银行|交通银行|邮政"
)
CARD_CONTEXT = re.compile(
    rf"卡号|银行卡|储蓄卡|信用卡|借记卡|银行账号|账号|帐号|卡|银行|{BANKS}|转账|打到|汇款|收款|开户|card|visa|master|unionpay|银联",
    re.I,
)
# Anything a pattern above can match: a run of eleven digits (spaces and dashes allowed), or an @
# between a character of an address and one of a domain (not a mention: @chengang 你好).
PREFILTER = Prefilter(
    re.compile(r"(?=[\da-z._%+-])(?:\d[\d\s-]{9,}[\dx]|[a-z0-9._%+-]@[a-z0-9-])"), starts=r"\da-z._%+-"
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CONTEXT_REACH = 20


def id_card_valid(number: str) -> bool:
    """GB 11643-1999: weighted sum mod 11 gives the check character; the birth date must exist."""
    if len(number) != 18:
        return False
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= birth <= dt.date.today():
        return False
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True)) % 11]
    return number[17].upper() == check


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_digits(digits: str, head: int, tail: int) -> str:
    return digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def mask_email(local: str, domain: str) -> str:
    return f"{local[0]}***@{domain}"


def find_personal_data(text: str, *, broad: bool = False) -> list[Sensitive]:
    """Personal data in a plain (width-folded) string, no two spans overlapping.

    ``broad`` is for masking text shown to reviewers, where hiding too much costs nothing: a
    Luhn-valid card number counts without a card word, and business identifiers are masked too.
    """
    found: list[Sensitive] = []

    def free(s: int, e: int) -> bool:
        return not any(a < e and s < b for a, b, *_ in found)

    def business_id(s: int) -> bool:
        return not broad and bool(BUSINESS_ID.search(text[max(0, s - 8) : s]))

    def in_identifier(s: int, e: int) -> bool:
        return not broad and bool(IDENTIFIER_AFTER.match(text, e) or IDENTIFIER_BEFORE.search(text, 0, s))

    for match in ID_CARD.finditer(text):
        number = "".join(match.groups())
        if id_card_valid(number) and not business_id(match.start()):
            found.append(Sensitive(*match.span(), "pii.id_card", "high", mask_digits(number, 6, 4)))
    for match in BANK_CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        s, e = match.span()
        if not (16 <= len(digits) <= 19 and luhn_valid(digits) and free(s, e) and not business_id(s)):
            continue
        if broad or CARD_CONTEXT.search(text[max(0, s - CONTEXT_REACH) : e + 8]):
            found.append(Sensitive(s, e, "pii.bank_card", "high", mask_digits(digits, 4, 4)))
    for match in MOBILE.finditer(text):
        s, e = match.span()
        if free(s, e) and not business_id(s) and not in_identifier(s, e):
            found.append(Sensitive(s, e, "pii.mobile", "medium", mask_digits("".join(match.groups()), 3, 4)))
    for match in EMAIL.finditer(text):
        s, e = match.span()
        if GIT_REMOTE_AFTER.match(text, e) or URL_USERINFO_BEFORE.search(text, 0, s):
            continue
        if free(s, e):
            found.append(Sensitive(s, e, "pii.email", "low", mask_email(match.group(1), match.group(2))))
    return sorted(found)


@register
class PersonalData(TextDetector):
    category = "pii"

    def scan(self, view: TextView) -> list[Hit]:
        hits = []
        for found in find_personal_data(view.folded.text):
            start, end = view.folded.span(found.start, found.end)
            kind = found.rule.split(".")[1]
            evidence = {"kind": kind, "value": found.masked}
            hits.append(
                Hit("pii", found.rule, found.severity, start, end, evidence=evidence, masked=found.masked)
            )
        return hits

    def candidates(self, batch: TextBatch) -> list[int]:
        return PREFILTER.candidates(batch.texts)
