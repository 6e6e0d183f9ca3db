"""Profanity (脏话): lexicon hits, evasions undone by normalization, boundaries by jieba."""

from __future__ import annotations

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView


@register
class Profanity(TextDetector):
    category = "profanity"

    def scan(self, view: TextView) -> list[Hit]:
        return [Hit.of_match(m) for m in view.terms("profanity")]
