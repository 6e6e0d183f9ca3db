"""Abuse-model scoring speed on one core, on distinct ordinary-conversation texts, against the previous
featurizer in the same run.

    python benchmarks/featurizer_speed.py [--repeat 3]

"current" is the shipped model's whole ``assess`` (preparation, hashed character n-grams, cues,
calibrated scores). "previous" is the featurizer it replaced — per-text normalization, jieba words
for every text and scikit-learn's Python n-gram analyzers (character 1–4-grams, word 1–2-grams) —
with the same sparse dot product at the end, so the two rows compare featurization. Every text is
distinct (duplicates are removed first), so no repeated-text shortcut helps either side. Prints
texts per second; nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONVERSATION = [
    ROOT / "eval" / "data" / "conversation" / f"{split}.csv" for split in ("train", "dev", "test")
]
BATCH = 2000


def distinct_texts() -> list[str]:
    texts: dict[str, None] = {}
    for path in CONVERSATION:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                texts.setdefault(row["text"], None)
    return list(texts)


class PreviousFeaturizer:
    """The featurizer of the first abuse model (wecom-auditor/abuse-model/1), for comparison only."""

    def __init__(self) -> None:
        import jieba
        from sklearn.feature_extraction.text import HashingVectorizer

        jieba.setLogLevel(logging.WARNING)
        self.jieba = jieba.Tokenizer()
        options = {"n_features": 2**18, "alternate_sign": False, "norm": None, "lowercase": False}
        self.chars = HashingVectorizer(analyzer="char", ngram_range=(1, 4), dtype=np.float32, **options)
        self.words = HashingVectorizer(
            analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), dtype=np.float32, **options
        )
        self.weights = np.random.default_rng(0).standard_normal(2 * 2**18).astype(np.float32)

    def words_many(self, texts: list[str]) -> list[str]:
        out, current = [], []
        for token in self.jieba.cut("\n".join(t.replace("\n", " ") for t in texts), HMM=False):
            if token == "\n":
                out.append(" ".join(current))
                current = []
            elif token.strip():
                current.append(token)
        out.append(" ".join(current))
        return out

    def scores(self, texts: list[str]) -> np.ndarray:
        import scipy.sparse as sp

        from auditor.text.normalize import normalize

        prepared = [normalize(t).text for t in texts]
        x = sp.hstack(
            [self.chars.transform(prepared), self.words.transform(self.words_many(prepared))], format="csr"
        )
        return x @ self.weights


def rate(score, texts: list[str], repeat: int) -> float:
    score(texts[:100])  # dictionaries and automata load once per process; not part of the rate
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(0, len(texts), BATCH):
            score(texts[i : i + BATCH])
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many passes")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    from auditor.classifier import load_model
    from auditor.resources import packaged_model
    from auditor.text.normalize import normalize

    texts = distinct_texts()
    mean_chars = sum(map(len, texts)) / len(texts)
    print(f"{len(texts):,} distinct conversation texts, mean {mean_chars:.1f} characters, one core")
    model = load_model(packaged_model())
    current = rate(model.assess, texts, args.repeat)
    normalize.cache_clear()  # the previous featurizer's per-text normalization is memoised
    previous = rate(PreviousFeaturizer().scores, texts, 1)
    print(f"{'featurizer':44} {'texts/s':>10}")
    print(f"{'current (batch-hashed char n-grams + cues)':44} {current:10,.0f}")
    print(f"{'previous (jieba words + Python n-grams)':44} {previous:10,.0f}")
    print(f"speed-up {current / previous:.1f}×")


if __name__ == "__main__":
    main()
