"""Personal data (个人信息): mobile numbers, resident ID numbers, bank cards, e-mail addresses.

Each pattern is validated the way presidio validates recognizers: an ID number must pass the
GB 11643-1999 check digit and carry a real birth date; a bank card must pass Luhn *and* stand
near card words (卡号, 银行卡, 转账); numbers after 订单号/单号/工号 are business identifiers.
"""

from __future__ import annotations

import datetime as dt
import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView

MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-8]\d{5})(\d{8})(\d{3})([\dXx])(?![0-9A-Za-z])")
BANK_CARD = re.compile(r"(?<!\d)(\d{4}(?:[\s-]?\d{4}){3}(?:[\s-]?\d{1,3})?)(?!\d)")
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]{1,64})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
BUSINESS_ID = re.compile(r"(?:订单号?|单号|编号|工号|流水号|快递单|运单|发票号|合同号)[:：\s]*$")
CARD_CONTEXT = re.compile(r"卡号|银行卡|储蓄卡|信用卡|借记卡|银行账号|转账|打到|汇款|收款|开户|card", re.I)
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


@register
class PersonalData(TextDetector):
    category = "pii"

    def scan(self, view: TextView) -> list[Hit]:
        text = view.folded.text
        hits: list[tuple[int, int, str, str, str]] = []  # (start, end, rule, severity, masked)

        def free(s: int, e: int) -> bool:
            return not any(a < e and s < b for a, b, *_ in hits)

        def business_id(s: int) -> bool:
            return bool(BUSINESS_ID.search(text[max(0, s - 8) : s]))

        for found in ID_CARD.finditer(text):
            number = found.group()
            if id_card_valid(number) and not business_id(found.start()):
                hits.append((*found.span(), "pii.id_card", "high", mask_digits(number, 6, 4)))
        for found in BANK_CARD.finditer(text):
            digits = re.sub(r"\D", "", found.group())
            s, e = found.span()
            near = text[max(0, s - CONTEXT_REACH) : e + 8]
            if (
                16 <= len(digits) <= 19
                and luhn_valid(digits)
                and CARD_CONTEXT.search(near)
                and free(s, e)
                and not business_id(s)
            ):
                hits.append((s, e, "pii.bank_card", "high", mask_digits(digits, 4, 4)))
        for found in MOBILE.finditer(text):
            s, e = found.span()
            if free(s, e) and not business_id(s):
                digits = "".join(found.groups())
                hits.append((s, e, "pii.mobile", "medium", mask_digits(digits, 3, 4)))
        for found in EMAIL.finditer(text):
            if free(*found.span()):
                hits.append((*found.span(), "pii.email", "low", mask_email(found.group(1), found.group(2))))
        out = []
        for s, e, rule, severity, masked in sorted(hits):
            start, end = view.folded.span(s, e)
            out.append(
                Hit(
                    "pii",
                    rule,
                    severity,
                    start,
                    end,
                    evidence={"kind": rule.split(".")[1], "value": masked},
                    masked=masked,
                )
            )
        return out
