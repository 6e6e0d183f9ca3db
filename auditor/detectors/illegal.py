"""Illegal content (违法信息): pornography, gambling, drugs, weapons and violence, fraud.

Lexicon plus context. A term right after a prohibition (公司严禁赌博, 远离毒品) is a policy
reminder, not a violation; so is a text that speaks of the harm, the prevention or the prosecution of
it (冰毒和海洛因的危害科普, 警方破获一起赌博案) with no offer or demand in it (AWARENESS); and a
term right after a comparison (这个方案有点赌博的意思, 上线不做灰度就是在赌博) is a figure of speech,
unless the text solicits. A term next to a solicitation (出售, 加我, 稳赚) is worse. The subtype is
the dictionary tag, so the rule reads ``illegal.gambling``.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView, raise_severity

PROHIBITION = re.compile(
    r"(?:禁止|严禁|不要|请勿|打击|举报|拒绝|远离|抵制|防范|严厉|谨防|警惕|杜绝|不得|切勿|不碰|不沾|戒)"
)
SOLICITATION = re.compile(
    r"(?:出售|售卖|贩卖|卖|收购|加我|私聊|私信|稳赚|包赢|充值|量大从优|低价|代理|联系|下载|招募|招收)"
)
PROHIBITION_REACH = 6  # characters before the term a prohibition may stand
# Education, campaigns and news about the offence: anywhere in the text, as long as no one offers or asks.
AWARENESS = re.compile(
    r"(?:危害|科普|宣传|预防|警示|教育|禁毒|反赌|反诈|案例|判刑|判处|抓获|查获|破获|警方|涉嫌|依法)"
)
DEMAND = re.compile(r"(?:买|求购|哪里有|有没有货|货源|渠道)")
# Right before the term: what makes it a comparison (有点赌博的意思, 就是在赌博, 像毒品一样).
COMPARISON = re.compile(r"(?:像|如同|犹如|无异于|等于|相当于|有点|有些|简直是?|就是在)\s*$")


@register
class Illegal(TextDetector):
    category = "illegal"
    lexicons = ("illegal",)

    def scan(self, view: TextView) -> list[Hit]:
        text = view.norm.text
        hits = []
        solicit = SOLICITATION.search(text)
        if not solicit and AWARENESS.search(text) and not DEMAND.search(text):
            return hits
        for match in view.terms("illegal"):
            before = text[max(0, match.start - PROHIBITION_REACH) : match.start]
            if PROHIBITION.search(before) or (not solicit and COMPARISON.search(before)):
                continue
            severity = raise_severity(match.entry.severity) if solicit else match.entry.severity
            evidence = {"subtype": match.entry.tag}
            if solicit:
                evidence["solicitation"] = solicit.group()
            hits.append(Hit.of_match(match, severity=severity, evidence=evidence))
        return hits
