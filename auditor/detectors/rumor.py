"""Rumors (谣言): a rumor is a claim plus a push to believe or spread it.

Rules: cues come from rumor.txt by role: *spread* (紧急扩散, 速转, 不转不是), *hearsay* (听说, 据说,
内部消息) and *topic* (裁员, 倒闭, 工资发不出, 包治百病). One cue alone is ordinary chat
(听说你下周休假); spread + hearsay/topic, or hearsay + topic, is a rumor. A claim the company
has already debunked (debunked.txt) is a rumor on its own.

Model: a classifier trained on public Weibo rumor and fake-news posts (``detectors.learned``)
catches rumors worded without those cues; any rumor.txt term (including the weak *cue* role:
转发, 扩散, 据传 …) or debunked claim lets it fire at a lower score.
"""

from __future__ import annotations

from auditor.detectors import register
from auditor.detectors.base import Hit, TextBatch, TextDetector, TextView, max_severity
from auditor.detectors.learned import LearnedScorer


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
            found.setdefault(i, []).append(hit)
        return found

    def scan(self, view: TextView) -> list[Hit]:
        """The rules alone."""
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
