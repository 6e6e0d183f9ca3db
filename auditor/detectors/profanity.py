"""Profanity (脏话): lexicon hits, evasions undone by normalization, boundaries by jieba.

One grammatical exception: 妈的 / 娘的 is also "(someone's) mother's". 他妈的手术很成功 is "his
mother's operation", 我妈的意思 "my mother's opinion": an oath ending in 妈的 is not a hit when a
possessor stands before it (我妈的, 姑妈的) or a thing a mother has follows it.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView
from auditor.lexicon import Match

# Kin words before 妈的 that make it "X's mother's": 我妈的 is never an oath.
_POSSESSOR_BEFORE = re.compile(r"[我咱姑姨舅婆岳后继亲干老]$")
# Things a mother has, right after 妈的 (他妈的手术, 你妈的生日).
_POSSESSED_AFTER = re.compile(
    r"(?:手术|病|身体|生日|电话|手机|微信|号码|工作|单位|公司|退休|朋友|同事|医院|医生|照片|房子|老家|家里"
    r"|腿|腰|眼睛|头发|药|体检|病房|住院|意思|意见|名字|遗物|葬礼|追悼会|寿宴|签证|护照|身份证|社保|医保)"
)


def _is_possessive(view: TextView, match: Match) -> bool:
    if not match.entry.key.endswith(("妈的", "娘的")):
        return False
    text = view.norm.text
    before = text[max(0, match.start - 1) : match.start]
    if match.entry.key in ("妈的", "娘的") and _POSSESSOR_BEFORE.search(before):
        return True
    return _POSSESSED_AFTER.match(text, match.end) is not None


@register
class Profanity(TextDetector):
    category = "profanity"
    lexicons = ("profanity",)

    def scan(self, view: TextView) -> list[Hit]:
        return [Hit.of_match(m) for m in view.terms("profanity") if not _is_possessive(view, m)]
