"""Ads and spam (广告): a promotional phrase *with* a way to reach the seller.

Rules: 优惠券 alone is customer service; 扫码领优惠券, 加微信 wxid_… is an ad. Phrases tagged
``strong`` in ad.txt (兼职刷单, 日赚) are ads on their own.

Model: a classifier trained on public Chinese spam SMS (``detectors.learned``) catches spam with a
link or a product and no contact handle; a contact handle, link or ad.txt phrase lets it fire at a
lower score.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextBatch, TextDetector, TextView, max_severity, raise_severity
from auditor.detectors.learned import LearnedScorer

CONTACT = re.compile(
    r"wxid_[a-z0-9_-]{4,}"
    r"|(?:微信号?|vx|v信|加v|威信)\s*[:：]?\s*[a-z][-_a-z0-9]{5,19}"
    r"|(?:qq|扣扣|企鹅)(?:号|群)?\s*[:：]?\s*\d{5,11}"
    r"|(?<!\d)1[3-9]\d{9}(?!\d)"
    r"|二维码|扫码|扫一扫|https?://|www\.",
)


@register
class Ad(TextDetector):
    category = "ad"

    def __init__(self, settings, lexicon):
        super().__init__(settings, lexicon)
        self.learned = LearnedScorer("ad", settings)

    lexicons = ("ad",)  # of the rules: no ad phrase, no rule hit; the model reads every text

    def scan_batch(self, batch: TextBatch) -> dict[int, list[Hit]]:
        found = super().scan_batch(batch)
        for i, hit in self.learned.hits(batch, _cues).items():
            found.setdefault(i, []).append(hit)
        return found

    def scan(self, view: TextView) -> list[Hit]:
        """The rules alone."""
        terms = view.terms("ad")
        strong = [m for m in terms if m.entry.tag == "strong"]
        promo = [m for m in terms if m.entry.tag == "promo"]
        contact_terms = [m for m in terms if m.entry.tag == "contact"]
        if not strong and not promo:  # most texts: no ad phrase, so no contact search either
            return []
        handle = CONTACT.search(view.norm.text)
        if not strong and not (promo and (handle or contact_terms)):
            return []
        involved = strong + promo + contact_terms
        severity = max_severity(*(m.entry.severity for m in strong + promo))
        if promo and (handle or contact_terms):
            severity = raise_severity(severity) if severity == "low" else severity
        evidence = {"phrases": sorted({m.entry.term for m in involved})}
        if handle:
            evidence["contact"] = contact_kind(handle.group())
        start = min(m.orig_start for m in involved)
        end = max(m.orig_end for m in involved)
        rule = "ad.strong" if strong else "ad.promo_with_contact"
        return [Hit("ad", rule, severity, start, end, evidence=evidence)]


def contact_kind(found: str) -> str:
    """What kind of contact a CONTACT match is; evidence names the kind, never the number or handle."""
    if found.startswith(("http", "www")):
        return "link"
    if found.startswith(("二", "扫")):
        return "QR code"
    return "phone" if found.isdigit() else "handle"


def _cues(view: TextView) -> dict[str, list[str]]:
    """The rule cues that let a middling model score fire: a contact handle or an ad phrase."""
    return {
        "contact": sorted({contact_kind(m.group()) for m in CONTACT.finditer(view.norm.text)}),
        "phrases": sorted({m.entry.term for m in view.terms("ad")}),
    }
