"""Confidential material (泄露商业/技术秘密): markers such as 绝密 or 严禁外传, and the company's own
project codenames from ``W/dictionaries/confidential.txt``. The policy makes both worse in
customer groups, where outsiders read along."""

from __future__ import annotations

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView


@register
class Confidential(TextDetector):
    category = "confidential"
    lexicons = ("confidential",)

    def scan(self, view: TextView) -> list[Hit]:
        return [Hit.of_match(m) for m in view.terms("confidential")]
