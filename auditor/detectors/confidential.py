"""Confidential material (泄露商业/技术秘密): markers such as 绝密 or 严禁外传, and the company's own
project codenames from ``W/dictionaries/confidential.txt``. The policy makes both worse in
customer groups, where outsiders read along.

A marker labels material as confidential; words *about* confidentiality are not such a label, so a
marker is no hit where it is denied (这个不是机密), asked about (这份资料是机密吗？), forbidden to
talk about (请不要在群里讨论机密信息), told how to be handled (本周机密文件要全部归档, 绝密资料请阅后销毁)
or part of a title (《洛城机密》). Codenames are always hits.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView
from auditor.lexicon import Match

NEGATED = re.compile(r"(?:不是|并非|不算|不属于|不涉及|没有)$")  # right before the marker
ASKED = re.compile(r"^[的了]?(?:吗|么|嘛|[?？])")  # right after it
PROHIBITION = re.compile(r"(?:不要|禁止|严禁|请勿|不得|切勿|不准|不能)")
PROHIBITION_REACH = 8  # characters before the marker a prohibition may stand
# After the marker, in its clause: an instruction to keep the material safe (a reminder of the rules,
# not the material itself). Past tense (已归档，附件如下) is no instruction.
_CLAUSE = r"[^，。！？,.!?;；:：\n]"
HANDLING = re.compile(
    rf"^{_CLAUSE}{{0,8}}?(?:要|请|需要|须|必须|务必|统一|一律|应当|应|及时|阅后)"
    rf"{_CLAUSE}{{0,4}}?(?:归档|销毁|保管|加密|上锁|回收|交回|登记|存档|粉碎|锁好|收好)"
)


@register
class Confidential(TextDetector):
    category = "confidential"
    lexicons = ("confidential",)

    def scan(self, view: TextView) -> list[Hit]:
        text = view.norm.text
        return [
            Hit.of_match(m) for m in view.terms("confidential") if m.entry.tag != "marker" or _labels(text, m)
        ]


def _labels(text: str, match: Match) -> bool:
    """Whether a marker at ``match`` labels material rather than speaks about confidentiality."""
    before, after = text[: match.start], text[match.end :]
    if NEGATED.search(before) or ASKED.search(after) or HANDLING.search(after):
        return False
    if PROHIBITION.search(before[-PROHIBITION_REACH:]):
        return False
    return before.rfind("《") <= before.rfind("》") or "》" not in after  # not inside 《…》
