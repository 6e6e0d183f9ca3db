"""The rumor and ad models' format (1): a linear classifier over character and jieba-word n-grams.

The abuse model moved to format 2 (``classifier.py``: numpy-hashed character n-grams and cues, no
jieba); the rumor and ad artifacts are still format 1 until they are retrained on it.

Features are hashed (scikit-learn's HashingVectorizer: no vocabulary to ship), weighted by
sublinear TF-IDF and L2-normalised; a logistic regression scores them. The artifact keeps only
what scoring needs — the idf of n-grams seen at least twice in training and the weights — in a
zip with fixed timestamps, so the same data and seed give the same bytes. A message's top
contributing n-grams (weight × tf-idf) are recomputed for the messages that fire, so a
reviewer sees *why*.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from auditor.errors import AuditorError
from auditor.text.normalize import normalize
from auditor.text.segment import default_tokenizer

FORMAT = "wecom-auditor/abuse-model/1"
CHAR_NGRAMS = (1, 4)
WORD_NGRAMS = (1, 2)
N_FEATURES = 2**18  # per feature family; chars first, then words
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def prepare(text: str) -> str:
    """The same normalization the lexicons see (traditional → simplified, full-width, case)."""
    return normalize(text).text


def words(text: str) -> str:
    """jieba words of a prepared text joined by spaces (jieba's own dictionary: stable features)."""
    return words_many([text])[0]


def words_many(texts: list[str]) -> list[str]:
    """``words`` for a batch in one jieba call: texts are joined by newlines, which jieba yields as
    tokens of their own and never joins to a word, so the result equals cutting one by one."""
    out: list[str] = []
    current: list[str] = []
    for token in default_tokenizer().cut("\n".join(t.replace("\n", " ") for t in texts), HMM=False):
        if token == "\n":
            out.append(" ".join(current))
            current = []
        elif token.strip():
            current.append(token)
    out.append(" ".join(current))
    return out


class Featurizer:
    """Text → sparse count matrix over hashed char n-grams and word n-grams."""

    def __init__(self) -> None:
        self.chars = HashingVectorizer(
            analyzer="char",
            ngram_range=CHAR_NGRAMS,
            n_features=N_FEATURES,
            alternate_sign=False,
            norm=None,
            lowercase=False,
            dtype=np.float32,
        )
        self.words = HashingVectorizer(
            analyzer="word",
            token_pattern=r"\S+",
            ngram_range=WORD_NGRAMS,
            n_features=N_FEATURES,
            alternate_sign=False,
            norm=None,
            lowercase=False,
            dtype=np.float32,
        )
        self._char_grams = self.chars.build_analyzer()
        self._word_grams = self.words.build_analyzer()

    def counts(self, prepared: list[str]) -> sp.csr_matrix:
        segmented = words_many(prepared)
        return sp.hstack([self.chars.transform(prepared), self.words.transform(segmented)], format="csr")

    def grams(self, prepared: str) -> dict[int, str]:
        """Feature index → the n-gram it came from, for explanations."""
        out = {}
        for gram in self._char_grams(prepared):
            out[abs(murmurhash3_32(gram, seed=0)) % N_FEATURES] = gram
        for gram in self._word_grams(words(prepared)):
            out[N_FEATURES + abs(murmurhash3_32(gram, seed=0)) % N_FEATURES] = gram.replace(" ", "")
        return out


def fit_idf(counts: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
    """Smoothed idf of the n-grams seen in at least two training texts, the mask of those n-grams, and
    the idf every other n-gram gets (seen once carries no weight: it costs bytes and overfits)."""
    n = counts.shape[0]
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf_default = float(np.log((1 + n) / 2) + 1)  # an n-gram seen once, or never
    keep = df >= 2
    idf = np.where(keep, np.log((1 + n) / (1 + df)) + 1, idf_default).astype(np.float32)
    return idf, keep, idf_default


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf × idf, rows L2-normalised; the one transform used in training and scoring."""
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    row_of = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=x.data * x.data, minlength=x.shape[0]))
    norms[norms == 0] = 1.0
    x.data = (x.data / norms[row_of]).astype(np.float32)
    return x


@dataclass
class AbuseModel:
    idf: np.ndarray  # dense, 2 × N_FEATURES
    coef: np.ndarray
    intercept: float
    meta: dict[str, Any]
    digest: str

    @functools.cached_property
    def featurizer(self) -> Featurizer:
        return Featurizer()

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probability of abuse per text, vectorized over the batch."""
        if not texts:
            return np.zeros(0)
        distinct, positions = np.unique(
            np.array([prepare(t) for t in texts], dtype=object), return_inverse=True
        )
        x = tfidf(self.featurizer.counts(list(distinct)), self.idf)
        return (1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept))))[positions.ravel()]

    def explain(self, text: str, top: int = 5) -> list[tuple[str, float]]:
        """The n-grams pushing this text towards abuse, strongest first."""
        prepared = prepare(text)
        x = tfidf(self.featurizer.counts([prepared]), self.idf)
        names = self.featurizer.grams(prepared)
        by_gram: dict[str, float] = {}
        for j, v in zip(x.indices, x.data, strict=True):  # a char and a word n-gram may spell the same
            gram = names.get(int(j), "?")
            by_gram[gram] = by_gram.get(gram, 0.0) + float(v * self.coef[j])
        ranked = sorted(by_gram.items(), key=lambda item: (-item[1], item[0]))
        return [(gram, round(c, 4)) for gram, c in ranked[:top] if c > 0]

    def save(self, path: Path) -> None:
        kept = np.flatnonzero(self.idf != self.meta["idf_default"]).astype(np.int32)
        arrays = {
            "kept.npy": kept,
            "idf.npy": self.idf[kept].astype(np.float32),
            "coef.npy": self.coef[kept].astype(np.float32),
        }
        meta = {**self.meta, "intercept": self.intercept}
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in [
                ("meta.json", json.dumps(meta, sort_keys=True, indent=1).encode()),
                *((n, _npy(a)) for n, a in arrays.items()),
            ]:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, value)
        from auditor import atomic

        atomic.write_bytes(path, buffer.getvalue())


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def load_model(path: Path) -> AbuseModel:
    """Load (once per process) and check the artifact's format."""
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("meta.json"))
            arrays = {
                n: np.load(io.BytesIO(archive.read(f"{n}.npy")), allow_pickle=False)
                for n in ("kept", "idf", "coef")
            }
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise AuditorError(f"cannot load the abuse model {path}: {exc}") from None
    if meta.get("format") != FORMAT:
        raise AuditorError(f"{path} is not a {FORMAT} artifact")
    size = 2 * meta["n_features"]
    idf = np.full(size, meta["idf_default"], dtype=np.float32)
    coef = np.zeros(size, dtype=np.float32)
    idf[arrays["kept"]] = arrays["idf"]
    coef[arrays["kept"]] = arrays["coef"]
    return AbuseModel(idf, coef, float(meta.pop("intercept")), meta, hashlib.sha256(data).hexdigest()[:16])
