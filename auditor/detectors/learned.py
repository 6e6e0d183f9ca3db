"""The learned half of a rules-plus-model detector (rumor, ad): batch scoring and the model's hits.

A message fires on the model alone when its score reaches the artifact's precision-first threshold
(``<category>.model``), or at the lower ``cue_threshold`` when a rule cue agrees
(``<category>.model_cue``); the evidence names the model, the score, the top n-grams and the cues.
Files and texts with fewer than ``min_chars`` letters are left to the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from auditor.detectors.base import Hit, TextBatch, TextView
from auditor.errors import AuditorError
from auditor.resources import model_for
from auditor.text.batch import CodepointTable, Joined, codepoints
from auditor.text.model_view import JOINED_BY, VIEW, view, view_joined

_letters = CodepointTable(str.isalpha)


class LearnedScorer:
    def __init__(self, category: str, settings: dict[str, Any]) -> None:
        from auditor.classifier import load_model  # scikit-learn loads only where texts are scored

        self.category = category
        self.settings = settings
        path = model_for(category, settings["model"])
        self.model = load_model(path)
        if self.model.category != category:
            raise AuditorError(f"{path} is not a {category} model for this version (text view {VIEW})")
        if self.model.meta.get("text_view") != VIEW:
            raise AuditorError(
                f"{path} reads texts as {self.model.meta.get('text_view', 'an older version')} does, this "
                f"version as {VIEW}: retrain it with `auditor model train --category {category}`"
            )
        self.peers: list[LearnedScorer] = [self]  # scorers of one analyzer reading the same view
        self.threshold = float(settings["threshold"] or self.model.meta["threshold"])
        self.cue_threshold = min(float(settings["cue_threshold"]), self.threshold)

    def scores(self, batch: TextBatch) -> tuple[list[int], np.ndarray]:
        """The positions of the texts the model judges (not files, not too short) and their scores."""
        rows, read, letters = _read(batch)
        judged = np.flatnonzero(letters >= self.settings["min_chars"])
        if not len(judged):
            return [], np.zeros(0)
        key = ("model view", self.settings["min_chars"])  # what decides which texts are judged
        if key not in batch.shared:  # the rumor and ad models read the same texts the same way
            from auditor.classifier import gram_parts  # loaded with the models, not with the registry

            if len(judged) < len(rows):
                read = JOINED_BY.join(map(read.split(JOINED_BY).__getitem__, judged.tolist()))
            prepared = self.model.featurizer.batch_joined(read, len(judged))
            grams = self.model.featurizer.ngrams_by_text(prepared)
            # every peer judging the same texts is scored from one gather of its bucket values
            models = tuple({id(p.model): p.model for p in self.peers if p.judges_like(self)}.values())
            batch.shared[key] = grams, dict(zip(map(id, models), gram_parts(models, grams), strict=True))
        grams, parts = batch.shared[key]
        return rows.take(judged).tolist(), self.model.scores_prepared(grams, parts.get(id(self.model)))

    def judges_like(self, other: LearnedScorer) -> bool:
        """Whether this scorer judges the texts ``other`` does (the same view, the same minimum)."""
        return self.settings["min_chars"] == other.settings["min_chars"]

    def hits(self, batch: TextBatch, cues: Callable[[TextView], dict[str, list[str]]]) -> dict[int, Hit]:
        """The model's hits per text position; ``cues`` (the rule cues of a text) is asked only for
        texts whose score could fire with a cue."""
        found = {}
        positions, scores = self.scores(batch)
        for k in np.flatnonzero(scores >= self.cue_threshold).tolist():
            i, score = positions[k], float(scores[k])
            if hit := self.hit(batch.view(i), score, cues(batch.view(i))):
                found[i] = hit
        return found

    def hit(self, text_view: TextView, score: float, cues: dict[str, list[str]]) -> Hit | None:
        """The model's hit for one scored text, or None; ``cues`` are the rule cues found in it."""
        if score >= self.threshold:
            rule = f"{self.category}.model"
        elif score >= self.cue_threshold and any(cues.values()):
            rule = f"{self.category}.model_cue"
        else:
            return None
        evidence: dict[str, Any] = {
            "model": f"{self.category}/{self.model.digest}",
            "score": round(score, 4),
            "fired_by": "model" if rule.endswith(".model") else "model+cue",
            "ngrams": [
                f"{g} {c:+.2f}"
                for g, c in self.model.explain(view(text_view.text), self.settings["top_ngrams"])
            ],
        }
        evidence.update({kind: found for kind, found in cues.items() if found})
        return Hit(
            self.category, rule, "medium", 0, len(text_view.text), score=round(score, 4), evidence=evidence
        )


def _read(batch: TextBatch) -> tuple[np.ndarray, str, np.ndarray]:
    """The positions of a batch's texts that are not files, what the models read of each (joined by
    ``JOINED_BY``, as the models' featurizer takes them) and how many letters (any script) that
    has. Computed once per batch for every learned detector."""
    if "model view" not in batch.shared:
        rows = batch.text_rows
        texts = [batch.texts[i] for i in rows]
        viewed = view_joined(texts)
        if viewed is None:  # rare: a text holds the view's own separator
            read = JOINED_BY.join(map(view, texts))
            viewed = read, codepoints(read)
        read, points = viewed
        # Letters, not characters: a phone number or a sum alone is the rules' business.
        ends = np.append(np.flatnonzero(points == ord(JOINED_BY)), len(points))[: len(rows)]
        starts = np.concatenate(([0], ends[:-1] + 1)) if len(rows) else ends
        letters = Joined(read, starts, ends - starts).counts(_letters(points))
        batch.shared["model view"] = np.array(rows, dtype=np.int64), read, letters
    return batch.shared["model view"]
