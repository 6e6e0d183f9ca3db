"""Abuse (人身攻击): insults aimed at a person — lexicon terms and second-person patterns.

Patterns need a person and a copula (你是…, 你这个…, 你脑子…), so 你垃圾分类了吗 or 你不是猪
do not fire; an allowlisted phrase (垃圾分类) suppresses a pattern like any lexicon match.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextBatch, TextDetector, TextView

PERSON = "你"  # every pattern below starts with it
_INSULTS = "猪头|猪|狗东西|狗|废物|白痴|傻子|蠢货|蠢猪|垃圾|畜生|笨蛋|智障|弱智|脑残|人渣|神经病|饭桶|窝囊废"
PATTERNS = [
    (
        "abuse.you_are",
        "medium",
        re.compile(
            rf"你们?(?:就|真|简直|才|果然|根本)?(?:是|像|这个|这种|那个)(?:个|只|头|条|一个|一头|一条)?(?P<insult>{_INSULTS})"
            r"(?![肉排蹄年圈场粮毛血油皮饲])"
        ),
    ),
    (
        "abuse.your_brain",
        "medium",
        re.compile(r"你(?:的)?脑子(?:是不是|真)?(?:有病|进水|有问题|被驴踢|坏掉|秀逗)"),
    ),
    ("abuse.who_are_you", "medium", re.compile(r"你算(?:什么|个什么|哪根葱|老几)(?:东西)?")),
    ("abuse.go_die", "high", re.compile(r"你(?:怎么不|赶紧|快|给我)?去死")),
]


@register
class Abuse(TextDetector):
    category = "abuse"

    def candidates(self, batch: TextBatch) -> list[int]:
        """Texts with an abuse term or a pattern match (each pattern searched once over the batch)."""
        return sorted({*batch.rows_with("abuse"), *(i for *_, p in PATTERNS for i in batch.rows_matching(p))})

    def scan(self, view: TextView) -> list[Hit]:
        hits = [Hit.of_match(m) for m in view.terms("abuse")]
        text = view.norm.text
        if PERSON not in text:  # every pattern addresses someone: most texts need no regex at all
            return hits
        for rule, severity, pattern in PATTERNS:
            for found in pattern.finditer(text):
                insult = found.span("insult") if "insult" in pattern.groupindex else found.span()
                if view.allowed(*insult):
                    continue
                start, end = view.norm.span(*found.span())
                hits.append(
                    Hit("abuse", rule, severity, start, end, evidence={"pattern": rule.split(".")[1]})
                )
        return hits
