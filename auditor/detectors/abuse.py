"""Abuse (人身攻击): insults aimed at a person — lexicon terms and second-person patterns.

Patterns need a person and a copula (你是…, 你这个…, 你脑子…), so 你垃圾分类了吗 or 你不是猪
do not fire; an allowlisted phrase (垃圾分类) suppresses a pattern like any lexicon match. A word of
stupidity that the writer turns on themself, on a question or on how easy a thing is, and a thing
at work called disgusting or rubbish (``EXCUSED``: 我真是个白痴, 问个弱智问题, 这话问的有点白痴了,
白痴都能看懂的教程, 这个bug太恶心了) attack no one: they are no lexicon hit, and the abuse model does not
read them.
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


# Words of stupidity, the ones chat turns on itself; the vile insults (人渣, 贱货) are never excused.
_SILLY = "白痴|弱智|脑残|智障|低能|蠢货|蠢猪|蠢蛋|蠢材|猪脑子|废物|废柴|饭桶|傻瓜|傻子|笨蛋|没脑子|猪"
_DEGREE = "有点|有些|很|好|太|真|挺|比较|实在|确实|这么|那么|简直|超"
# Things at work that chat calls disgusting or rubbish, and those words.
_THING = (
    "bug|代码|需求|系统|接口|环境|服务器|数据库|文档|流程|版本|功能|页面|"
    "网络|网速|电脑|软件|工具|配置|质量|天气|交通"
)
_FILTHY = "恶心|垃圾|烂|坑爹|差劲"
EXCUSED = re.compile(
    # the writer: 我真是个白痴, 我好白痴, 我这个猪脑子 (not 我看你是白痴, 你比我还白痴: someone else)
    rf"我(?:自己)?(?:真的?|简直|就|好|太|也|果然|确实|真心|这个)?(?:是|像)?(?:个|一个|一只|一头)?大?(?:{_SILLY})"
    # a question: 问个白痴问题, 这话问的有点白痴了, 这个问题有点弱智
    rf"|问[的得](?:{_DEGREE})?(?:{_SILLY})|问题(?:{_DEGREE})?(?:{_SILLY})|(?:{_SILLY})的?问题"
    # how easy a thing is: 白痴都能看懂的教程, 傻瓜都会用的工具 (not 白痴都知道: said at someone)
    rf"|(?:{_SILLY})[都也](?:能|会|可以)?(?:看|学|用|上手|操作|懂)[^\s，。！？,.!?]{{0,3}}?的"
    # a thing at work, not anyone's: 这个bug太恶心了, 这批货的质量太垃圾了
    # (not 你的代码太垃圾了, 他写的方案真烂: someone's work)
    rf"|(?<!你)(?<!你的)(?<!你们的)(?<![写做搞改弄]的)(?<!你这)(?<!你这个)(?:{_THING})(?:的?质量)?"
    rf"(?:{_DEGREE}|也)*是?(?:{_FILTHY})"
)
# every EXCUSED match holds one: a cheap search says which texts to try
NAMES_EXCUSABLE = re.compile(f"{_SILLY}|{_FILTHY}")


def excused_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` (normalized) where a word of stupidity or filth attacks no one (``EXCUSED``)."""
    return [m.span() for m in EXCUSED.finditer(text)] if NAMES_EXCUSABLE.search(text) else []


@register
class Abuse(TextDetector):
    category = "abuse"

    def candidates(self, batch: TextBatch) -> list[int]:
        """Texts with an abuse term or a pattern match (each pattern searched once over the batch)."""
        return sorted({*batch.rows_with("abuse"), *(i for *_, p in PATTERNS for i in batch.rows_matching(p))})

    def scan(self, view: TextView) -> list[Hit]:
        text = view.norm.text
        excused = excused_spans(text)
        hits = [
            Hit.of_match(m)
            for m in view.terms("abuse")
            if not any(a <= m.start and m.end <= b for a, b in excused)
        ]
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
