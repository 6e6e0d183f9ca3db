"""Detection quality on labelled texts: the real pipeline, measured like a classifier."""

from __future__ import annotations

from typing import Any

import numpy as np

from auditor.analyzer import Analyzer, Ruleset
from auditor.training import Labelled, metrics

BATCH = 2000


def evaluate(ruleset: Ruleset, labelled: Labelled, categories: tuple[str, ...]) -> dict[str, Any]:
    """A text is predicted positive when any detector of ``categories`` finds something in it."""
    analyzer = Analyzer(ruleset)
    predicted = np.zeros(len(labelled.texts), dtype=int)
    rules: dict[str, int] = {}
    for start in range(0, len(labelled.texts), BATCH):
        batch = [(t, False) for t in labelled.texts[start : start + BATCH]]
        for i, hits in enumerate(analyzer.analyze_many(batch), start=start):
            relevant = [h for h in hits if h.category in categories]
            predicted[i] = bool(relevant)
            for rule in {h.rule for h in relevant}:
                rules[rule] = rules.get(rule, 0) + 1
    return {
        "categories": list(categories),
        "ruleset_version": ruleset.version,
        **metrics(labelled.labels, predicted),
        "positives_by_rule": dict(sorted(rules.items(), key=lambda kv: -kv[1])),
    }
