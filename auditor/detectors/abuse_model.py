"""Abuse by the COLD-trained classifier: personal attacks and discrimination the lexicon misses.

Scores a whole batch of texts at once. Precision first: a calibrated score at or above
``alone_threshold`` (or ``threshold`` when that is higher) fires by itself; between
``threshold`` and ``alone_threshold`` it fires only when an abuse cue backs it (a lexicon
insult, second person with an insult or derogatory predicate, a group term with a derogatory
predicate — ``auditor.abuse_cues``), so a middling score on a plain question (怎么了？) never
becomes a finding a reviewer has to read. Words that speak *of* abusive speech as conduct to stop
(a group's rules and their reminders: 群里禁止说脏话，违者移出, 骂人是不对的: ``ADMONITION``) are
left out of what the model reads, as allowlisted phrases are: it reads 骂人 and 脏话 as abuse, and
the owner enforcing the policy would be the one flagged, while the rest of such a text (不许骂人，
你这个废物) is judged as before. So are oaths aimed at no one (他妈的，又宕机了: ``OATH``), the
profanity detector's finding. High severity from ``high_threshold``. The evidence
names the score, the cues and the top contributing n-grams. Its hits share the ``abuse``
category with the lexicon and patterns, so the policy merges them into one finding per message
(the most severe wins, evidence from both).
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

import numpy as np

from auditor.abuse_cues import names_of
from auditor.detectors import register
from auditor.detectors.abuse import EXCUSED, NAMES_EXCUSABLE
from auditor.detectors.base import Hit, TextBatch, TextDetector, TextView
from auditor.errors import AuditorError
from auditor.resources import packaged_model
from auditor.text.batch import SEPARATOR, CodepointTable, Joined, codepoints


@register
class AbuseModel(TextDetector):
    category = "abuse"

    @classmethod
    def settings_key(cls) -> str:
        return "abuse_model"

    def __init__(self, settings, lexicon):
        super().__init__(settings, lexicon)
        from auditor.classifier import load_model  # scikit-learn loads only where texts are scored

        path = Path(settings["path"]) if settings["path"] else packaged_model()
        self.model = load_model(path)
        if self.model.category != "abuse":
            raise AuditorError(f"{path} is a {self.model.category} model, not an abuse model")

    def scan(self, view: TextView) -> list[Hit]:
        return self.scan_many([view])[0]

    def scan_batch(self, batch: TextBatch) -> dict[int, list[Hit]]:
        cfg = self.settings
        # What the model judges: the text without accepted phrases, if enough of it is left.
        rows = batch.text_rows
        judged = [norm.text for norm in map(batch.norms.__getitem__, rows)]
        for i in batch.rows_with("allowlist"):
            if (k := bisect.bisect_left(rows, i)) < len(rows) and rows[k] == i:  # not a file
                judged[k] = _without_allowed(batch.view(i))
        joined = Joined.of(judged)
        # Only a text naming the conduct (or an insult word) can hold an admonition (or an excused
        # insult): that search is 20 times cheaper than ADMONITION's over the batch (whose prohibitions
        # open on 不, in every other sentence).
        changed = False
        for names, phrase in _NOT_READ:
            naming = joined.rows(np.array([m.start() for m in names.finditer(joined.joined)], np.int64))
            for k in np.unique(naming).tolist():
                judged[k], found = phrase.subn(" ", judged[k])
                changed = changed or found > 0
        if changed:  # rare: the batch is joined again without them
            joined = Joined.of(judged)
        visible = joined.counts(~_blank(codepoints(joined.joined)))  # len("".join(t.split()))
        scored = np.flatnonzero(visible >= cfg["min_chars"]).tolist()
        if not scored:
            return {}
        assessment = self.model.assess_reaching(list(map(judged.__getitem__, scored)), cfg["threshold"])
        backed = assessment.corroborated
        alone = max(cfg["threshold"], cfg["alone_threshold"])  # raising threshold alone raises both
        out: dict[int, list[Hit]] = {}
        for m in np.flatnonzero(assessment.scores >= cfg["threshold"]).tolist():
            score = assessment.scores[m]
            if score < alone and not backed[m]:
                continue
            k = scored[m]
            text = batch.texts[rows[k]]
            severity = "high" if score >= cfg["high_threshold"] else "medium"
            top = self.model.explain(judged[k], cfg["top_ngrams"])
            out[rows[k]] = [
                Hit(
                    "abuse",
                    "abuse.model",
                    severity,
                    0,
                    len(text),
                    score=round(float(score), 4),
                    evidence={
                        "model": f"cold/{self.model.digest}",
                        "score": round(float(score), 4),
                        "cues": names_of(assessment.cues[m]),
                        "ngrams": [f"{g} {c:+.2f}" for g, c in top],
                    },
                )
            ]
        return out


_blank = CodepointTable(str.isspace)

# Abusive speech named as conduct, and the frames that make a text a rule or a reproach about it:
# a prohibition before it (不许骂人, 群内不得谩骂) or a judgement after it (骂人是不对的, 说脏话违反群规),
# inside one clause (no punctuation between, NFKC's ASCII or the ideographic, nor the end of a text in a
# joined batch) and a few characters (不要脸的人才骂人 is no rule). Discrimination (歧视) is
# left out: debating it is what COLD labels, and the model is trained for that. So is 侮辱 (不要侮辱我的
# 智商 is a put-down), and 别 is a prohibition only right before the term (not the 别 of 性别, 别人).
_CONDUCT = "骂人|骂街|骂脏话|说脏话|脏话|粗口|爆粗|人身攻击|辱骂|谩骂|恶语"
_PROHIBITION = "禁止|严禁|不要(?!脸)|不许|不准|不得(?!不)|请勿|切勿|杜绝|拒绝|不能|不可以|不应该|不应|避免"
_JUDGEMENT = "不对|不好|不文明|不礼貌|不道德|不可取|要不得|违规|违反|违者|解决不了"
_CLAUSE = rf"[^,.!?;:，。！？；：、\n{SEPARATOR}]"
ADMONITION = re.compile(
    rf"(?:{_PROHIBITION}){_CLAUSE}{{0,5}}?(?:{_CONDUCT})|别再?(?:{_CONDUCT})"
    rf"|(?:{_CONDUCT}){_CLAUSE}{{0,4}}?(?:{_JUDGEMENT})"
)
_NAMES_CONDUCT = re.compile(_CONDUCT)  # every ADMONITION match holds one
# An oath aimed at no one (他妈的，又宕机了, 这他妈什么破需求, 今天他妈的绝了): swearing, the
# profanity detector's finding. The model read 他妈的 as the surest sign of abuse (0.92–0.97), so
# every curse at a broken machine was a high abuse finding besides. An oath that names its target
# is still read: at the reader (你他妈的, 您妈的), after a verb of cursing (操他妈的 and its
# spellings 草 曹 艹 日 干 扌喿, 去他妈的), and the insults ending in 妈的 (死妈的, 没爹没妈的);
# so is the rest of the text (他妈的你就是个废物).
OATH = re.compile(
    r"(?<![你您他她它操草曹艹日干喿去死爹没])(?:[他她它]|[这真太]他)?[妈娘]的"
    r"|(?<![你您])[这真太]他妈|(?<![a-z])tmd(?![a-z])"
)
# Every OATH match holds one. OATH opens on a lookbehind, so ``re`` tries it at every character: 0.5 s
# per 100,000 realistic texts, a sixth of the audit workers' CPU, against 0.01 s for this search (single
# literals: 0.06 s as [妈娘]的|他妈|tmd, whose 他 is in every other text).
_NAMES_OATH = re.compile("妈|娘|tmd")
# What the model does not read, each with the search that finds the texts that may hold it: admonitions,
# insult words that attack no one (``abuse.EXCUSED``: 我真是个白痴, 问个弱智问题, 这个bug太恶心了) and oaths.
_NOT_READ = ((_NAMES_CONDUCT, ADMONITION), (NAMES_EXCUSABLE, EXCUSED), (_NAMES_OATH, OATH))


def _without_allowed(view: TextView) -> str:
    """The text the model sees: allowlisted phrases (垃圾分类, 垃圾桶) are accepted, so they are left out."""
    text = view.norm.text
    for start, end in sorted(view.allowed_spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text
