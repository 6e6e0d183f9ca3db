"""Ads and spam (广告): a promotional phrase *with* a way to reach the seller.

优惠券 alone is customer service; 扫码领优惠券, 加微信 wxid_… is an ad. Phrases tagged
``strong`` in ad.txt (兼职刷单, 日赚) are ads on their own.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView, max_severity, raise_severity

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

    def scan(self, view: TextView) -> list[Hit]:
        terms = view.terms("ad")
        strong = [m for m in terms if m.entry.tag == "strong"]
        promo = [m for m in terms if m.entry.tag == "promo"]
        contact_terms = [m for m in terms if m.entry.tag == "contact"]
        handle = CONTACT.search(view.norm.text)
        if not strong and not (promo and (handle or contact_terms)):
            return []
        involved = strong + promo + contact_terms
        severity = max_severity(*(m.entry.severity for m in strong + promo))
        if promo and (handle or contact_terms):
            severity = raise_severity(severity) if severity == "low" else severity
        evidence = {"phrases": sorted({m.entry.term for m in involved})}
        if handle:
            evidence["contact"] = (
                "handle" if not handle.group().startswith(("http", "www", "二", "扫")) else "link/QR"
            )
        start = min(m.orig_start for m in involved)
        end = max(m.orig_end for m in involved)
        rule = "ad.strong" if strong else "ad.promo_with_contact"
        return [Hit("ad", rule, severity, start, end, evidence=evidence)]
