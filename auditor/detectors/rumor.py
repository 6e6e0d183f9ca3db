"""Rumors (谣言): a rumor is a claim plus a push to believe or spread it.

Rules: cues come from rumor.txt by role: *spread* (紧急扩散, 速转, 不转不是), *hearsay* (听说, 据说,
内部消息) and *topic* (裁员, 倒闭, 工资发不出, 包治百病). One cue alone is ordinary chat
(听说你下周休假); spread + hearsay/topic, or hearsay + topic, is a rumor. A claim the company
has already debunked (debunked.txt) is a rumor on its own. A text that refutes what it repeats
(听说要裁员？别信谣言, 辟谣：…, "…"是谣言) is counter-speech, not a rumor (COUNTER); one that denies
being a rumor (这不是谣言，速转) is not counter-speech.

Model: a classifier trained on public Weibo rumor and fake-news posts (``detectors.learned``)
catches rumors worded without those cues; any rumor.txt term (including the weak *cue* role:
转发, 扩散, 据传 …) or debunked claim lets it fire at a lower score.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextBatch, TextDetector, TextView, max_severity
from auditor.detectors.learned import LearnedScorer

COUNTER = re.compile(
    # 求辟谣 asks for a debunk of what it spreads: no counter-speech
    r"(?:别|不要|不|勿|切勿)(?:信|传)谣|(?<![求请盼等])辟谣|谣言止于智者|(?<![不非])是(?:谣言|假消息|假新闻|不实)"
    r"|不实(?:消息|信息|传言)"
)


@register
class Rumor(TextDetector):
    category = "rumor"

    def __init__(self, settings, lexicon):
        super().__init__(settings, lexicon)
        self.learned = LearnedScorer("rumor", settings)

    lexicons = ("rumor", "debunked")  # of the rules; the model reads every text

    def scan_batch(self, batch: TextBatch) -> dict[int, list[Hit]]:
        found = super().scan_batch(batch)
        for i, hit in self.learned.hits(batch, _cues).items():
            if not COUNTER.search(batch.view(i).norm.text):
                found.setdefault(i, []).append(hit)
        return found

    def scan(self, view: TextView) -> list[Hit]:
        """The rules alone."""
        if COUNTER.search(view.norm.text):
            return []
        hits = [
            Hit.of_match(m, category="rumor", rule="rumor.debunked", evidence={"claim": m.entry.term})
            for m in view.terms("debunked")
        ]
        cues = view.terms("rumor")
        roles = {role: [m for m in cues if m.entry.tag == role] for role in ("spread", "hearsay", "topic")}
        spread, hearsay, topic = roles["spread"], roles["hearsay"], roles["topic"]
        if spread and (hearsay or topic):
            rule, severity = "rumor.spread", "high" if topic else "medium"
        elif hearsay and topic:
            rule, severity = "rumor.unverified_claim", "medium"
        else:
            return hits
        involved = spread + hearsay + topic
        severity = max_severity(severity, *(m.entry.severity for m in topic))
        evidence = {role: sorted({m.entry.term for m in found}) for role, found in roles.items() if found}
        start = min(m.orig_start for m in involved)
        end = max(m.orig_end for m in involved)
        hits.append(Hit("rumor", rule, severity, start, end, evidence=evidence))
        return hits


def _cues(view: TextView) -> dict[str, list[str]]:
    """The rule cues that let a middling model score fire."""
    return {
        "cues": sorted({m.entry.term for m in view.terms("rumor")}),
        "debunked": sorted({m.entry.term for m in view.terms("debunked")}),
    }
