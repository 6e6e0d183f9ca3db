"""Training the abuse classifier, and reading labelled CSVs (COLD's format works as it is)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score

from auditor import atomic
from auditor.classifier import (
    CHAR_NGRAMS,
    FORMAT,
    N_FEATURES,
    WORD_NGRAMS,
    AbuseModel,
    Featurizer,
    prepare,
    tfidf,
)
from auditor.config import DEFAULTS
from auditor.errors import AuditorError

C_GRID = (2.0, 4.0, 8.0)
THRESHOLDS = np.round(np.arange(0.30, 0.71, 0.01), 2)


@dataclass
class Labelled:
    texts: list[str]
    labels: np.ndarray
    sha256: str


def read_labelled(path: Path, text_column: str = "TEXT", label_column: str = "label") -> Labelled:
    """A CSV with a text column and a 0/1 label column (UTF-8, a BOM is fine); clear errors otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AuditorError(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise AuditorError(f"{path}: malformed CSV: {exc}") from None
    if not rows:
        raise AuditorError(f"{path}: no rows")
    missing = [c for c in (text_column, label_column) if c not in rows[0]]
    if missing:
        raise AuditorError(
            f"{path}: no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(c for c in rows[0] if c)}); use --text-column/--label-column"
        )
    texts, labels = [], []
    for lineno, row in enumerate(rows, start=2):
        value = (row.get(label_column) or "").strip()
        if value not in ("0", "1"):
            raise AuditorError(f"{path}:{lineno}: label must be 0 or 1, got {value!r}")
        if row.get(text_column) is None:
            raise AuditorError(f"{path}:{lineno}: the row has too few columns")
        texts.append(row[text_column])
        labels.append(1 if value == "1" else 0)
    return Labelled(texts, np.array(labels), hashlib.sha256(data).hexdigest())


def fit_idf(counts: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
    """Smoothed idf of the n-grams seen in at least two training texts, the mask of those n-grams, and
    the idf every other n-gram gets (seen once carries no weight: it costs bytes and overfits)."""
    n = counts.shape[0]
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf_default = float(np.log((1 + n) / 2) + 1)  # an n-gram seen once, or never
    keep = df >= 2
    idf = np.where(keep, np.log((1 + n) / (1 + df)) + 1, idf_default).astype(np.float32)
    return idf, keep, idf_default


def metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "precision": round(float(precision_score(labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, predicted, zero_division=0)), 4),
        "f1": round(float(f1_score(labels, predicted, zero_division=0)), 4),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "support": len(labels),
    }


def train(
    train_csv: Path,
    dev_csv: Path,
    out: Path,
    seed: int = 0,
    text_column: str = "TEXT",
    label_column: str = "label",
) -> dict[str, Any]:
    """Fit on train, choose C and the threshold on dev; write the artifact and its model card."""
    train_set = read_labelled(train_csv, text_column, label_column)
    dev_set = read_labelled(dev_csv, text_column, label_column)
    featurizer = Featurizer()
    counts = featurizer.counts([prepare(t) for t in train_set.texts])
    dev_counts = featurizer.counts([prepare(t) for t in dev_set.texts])

    n = counts.shape[0]
    idf, keep, idf_default = fit_idf(counts)
    x_train = tfidf(counts, idf) @ sp.diags(keep.astype(np.float32))
    x_dev = tfidf(dev_counts, idf)

    best: tuple | None = None
    for c in C_GRID:
        model = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
        model.fit(x_train, train_set.labels)
        scores = model.predict_proba(x_dev)[:, 1]
        accuracy = accuracy_score(dev_set.labels, scores >= 0.5)
        if best is None or accuracy > best[0]:
            best = (accuracy, c, model, scores)
    assert best is not None
    _, c, model, scores = best
    threshold = float(
        max(THRESHOLDS, key=lambda t: (accuracy_score(dev_set.labels, scores >= t), -abs(t - 0.5)))
    )
    dev_metrics = metrics(dev_set.labels, (scores >= threshold).astype(int))
    default_threshold = DEFAULTS["detectors"]["abuse_model"]["threshold"]
    at_default = metrics(dev_set.labels, (scores >= default_threshold).astype(int))
    meta = {
        "format": FORMAT,
        "n_features": N_FEATURES,
        "char_ngrams": list(CHAR_NGRAMS),
        "word_ngrams": list(WORD_NGRAMS),
        "idf_default": idf_default,
        "seed": seed,
        "C": c,
        "threshold": threshold,
        "train_rows": n,
        "train_sha256": train_set.sha256,
        "dev_sha256": dev_set.sha256,
        "dev_metrics": dev_metrics,
        "kept_features": int(keep.sum()),
        "sklearn": sklearn.__version__,
        "dev_metrics_at_default_threshold": {"threshold": default_threshold, **at_default},
    }
    artifact = AbuseModel(idf, model.coef_.ravel().astype(np.float32), float(model.intercept_[0]), meta, "")
    artifact.save(out)
    atomic.write_text(out.with_suffix(".md"), model_card(meta, train_csv, dev_csv, out))
    return meta


def model_card(meta: dict[str, Any], train_csv: Path, dev_csv: Path, out: Path) -> str:
    m = meta["dev_metrics"]
    d = meta["dev_metrics_at_default_threshold"]
    cm = m["confusion"]
    chars, words = meta["char_ngrams"], meta["word_ngrams"]
    lines = [
        "# Model card: abuse classifier (COLD)",
        "",
        f"- **What**: logistic regression (C={meta['C']}) over hashed character {chars[0]}–{chars[1]}-grams "
        f"and jieba word {words[0]}–{words[1]}-grams, sublinear TF-IDF, L2-normalised; the "
        f"{meta['kept_features']:,} n-gram features seen at least twice in training are kept. "
        "Runs on a CPU and explains each decision by its top n-grams.",
        "- **Intended use**: flag personal attacks and discrimination (地域黑, 性别歧视, 种族歧视) in "
        "workplace group chat for human review, next to the lexicons. Not for automatic sanctions.",
        "- **Data**: COLD — Chinese Offensive Language Dataset (Deng et al., EMNLP 2022), train and dev "
        f"splits of thu-coai/COLDataset, licence Apache-2.0. Train: {meta['train_rows']:,} rows "
        f"(sha256 `{meta['train_sha256'][:16]}…`); dev (sha256 `{meta['dev_sha256'][:16]}…`) chose C "
        "and the threshold. The data is not in this repository.",
        f"- **Metrics on COLD dev** at the tuned threshold {meta['threshold']}: accuracy {m['accuracy']}, "
        f"precision {m['precision']}, recall {m['recall']}, offensive-class F1 {m['f1']} "
        f"(tn {cm['tn']}, fp {cm['fp']}, fn {cm['fn']}, tp {cm['tp']}). The auditor fires at the more "
        f"conservative default `detectors.abuse_model.threshold` {d['threshold']}, where the model alone has "
        f"accuracy {d['accuracy']}, precision {d['precision']}, recall {d['recall']}, F1 {d['f1']}; "
        "`auditor eval` measures the whole pipeline (lexicon, patterns and model). The test split is held "
        "out and measured independently.",
        "- **Limits**: COLD is about race, region and gender; other insults rely on the lexicons. Short "
        "chat acknowledgements are left to the lexicons (`min_chars`). Quoting an offensive sentence to "
        "report it scores like saying it.",
        "- **Speed**: `make bench` measures scoring per core on chat-length texts (row “abuse model, "
        "1 core”; 39,800 messages/s on the project's 2-core machine, see the README's Performance "
        "section); the artifact loads in a few hundredths of a second.",
        f"- **Trained**: {dt.date.today().isoformat()}, seed {meta['seed']}, scikit-learn {meta['sklearn']}.",
        f"- **Retrain**: `auditor model train --train {train_csv} --dev {dev_csv} --out {out} "
        f"--seed {meta['seed']}` (same data and seed → the same artifact bytes).",
    ]
    return "\n".join(lines) + "\n"
