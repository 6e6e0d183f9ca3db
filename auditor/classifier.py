"""The linear text classifier of every learned detector (abuse, rumor, ad) that explains itself.

Features: character 1–4-grams hashed over the whole batch at once (``auditor.features``; no
vocabulary to ship, no per-text segmentation), weighted by idf and normalised per text, plus —
for the abuse model only — the abuse cues of ``auditor.abuse_cues`` (lexicon insult, second person
with a target, a group with a derogatory predicate); the rumor and ad models have no cue columns
(their cues are the detectors' rules). A logistic regression scores them and a Platt scaling
fitted on the development sets makes the score a calibrated probability. The artifact keeps only
what scoring needs — the idf of n-grams seen at least twice in training, the weights, the cue
lists, the calibration and the thresholds chosen on development data — in a zip with fixed
timestamps, so the same data and seed give the same bytes. A firing text is explained by its top
contributing n-grams and cues.

Scoring a batch is one sparse product: the batch's n-grams grouped by text (a CSR matrix of ones)
times a table holding, per bucket, ``idf²`` and ``idf × weight`` of every model reading those texts,
so one C loop gathers and sums them, in the order and with the additions ``bincount`` over the
occurrences made (the training path): scores keep every bit.
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

from auditor.abuse_cues import CUES, CueLists, CueMatcher, corroborated
from auditor.errors import AuditorError
from auditor.features import (
    Batch,
    Occurrences,
    TextNgrams,
    char_ngrams,
    ngrams_by_text,
    prepare_joined,
    prepare_many,
)

FORMAT = "wecom-auditor/abuse-model/2"
CHAR_NGRAMS = (1, 4)
HASH_BITS = 20
N_FEATURES = 2**HASH_BITS  # hashed n-gram buckets; the cue features follow them
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Featurizer:
    """Texts → hashed n-gram occurrences and cue flags; the one featurization of training and scoring.
    Without cue lists (rumor, ad) there are no cue columns."""

    cue_lists: CueLists | None

    @functools.cached_property
    def matcher(self) -> CueMatcher | None:
        return CueMatcher(self.cue_lists) if self.cue_lists is not None else None

    @property
    def n_cues(self) -> int:
        return len(CUES) if self.cue_lists is not None else 0

    def batch(self, texts: list[str]) -> Batch:
        return prepare_many(texts)

    def batch_joined(self, joined: str, n_texts: int) -> Batch:
        """``batch`` of texts already joined by ``features.SEPARATOR`` (none holding one)."""
        return prepare_joined(joined, n_texts)

    def ngrams(self, batch: Batch, *, positions: bool = True) -> Occurrences:
        return char_ngrams(batch, CHAR_NGRAMS, HASH_BITS, positions=positions)

    def ngrams_by_text(self, batch: Batch) -> TextNgrams:
        """What scoring reads: the n-grams of ``ngrams`` grouped by text."""
        return ngrams_by_text(batch, CHAR_NGRAMS, HASH_BITS)

    def cues(self, batch: Batch, within: np.ndarray | None = None) -> np.ndarray:
        """Cue flags per text; only for the texts ``within`` names when given (the others' stay 0)."""
        if self.matcher is None:
            return np.zeros((batch.n_texts, 0), dtype=np.float32)
        return self.matcher.cues(batch, within)

    @property
    def cue_names(self) -> tuple[str, ...]:
        return CUES if self.cue_lists is not None else ()


def occurrence_norms(occ: Occurrences, idf: np.ndarray, prior: float) -> np.ndarray:
    """Per text, sqrt(prior + Σ idf² over its n-gram occurrences): what every n-gram value is divided
    by. Without the prior (plain L2) the three n-grams of 为什么？ weigh as much as a paragraph's
    hundred, so a short question scores like a tirade; the prior counts as some neutral n-grams."""
    squares = idf[occ.bucket].astype(np.float64) ** 2
    return _norms(np.bincount(occ.row, weights=squares, minlength=occ.n_texts), prior)


def _norms(sums: np.ndarray, prior: float) -> np.ndarray:
    """``occurrence_norms`` from the per-text sums of idf²."""
    norms = np.sqrt(sums + prior)
    norms[norms == 0] = 1.0
    return norms


def design_matrix(occ: Occurrences, cues: np.ndarray, idf: np.ndarray, prior: float) -> sp.csr_matrix:
    """The training matrix: idf-weighted n-gram counts over the per-text norm, then the cue columns.
    ``TextModel.decision`` computes the same product without building it."""
    norms = occurrence_norms(occ, idf, prior)
    values = idf[occ.bucket] / norms[occ.row]
    grams = sp.coo_matrix((values, (occ.row, occ.bucket)), shape=(occ.n_texts, N_FEATURES)).tocsr()
    return sp.hstack([grams, sp.csr_matrix(cues)], format="csr")


@dataclass
class Assessment:
    scores: np.ndarray  # calibrated probability of the model's category per text
    cues: np.ndarray  # (texts, number of cue columns) 0/1

    @property
    def corroborated(self) -> np.ndarray:
        if self.cues.shape[1] == 0:  # a model without cues: nothing corroborates
            return np.zeros(len(self.scores), dtype=bool)
        return corroborated(self.cues)


@dataclass
class TextModel:
    idf: np.ndarray  # dense, N_FEATURES
    coef: np.ndarray  # N_FEATURES n-gram weights, then one per cue (none for rumor and ad)
    intercept: float
    calibration: tuple[float, float]  # Platt: p = sigmoid(a · decision + b)
    meta: dict[str, Any]
    digest: str

    @functools.cached_property
    def featurizer(self) -> Featurizer:
        cues = self.meta.get("cues")
        return Featurizer(CueLists.from_meta(cues) if cues else None)

    @property
    def category(self) -> str:
        """What the model flags; the abuse artifact predates the key."""
        return self.meta.get("category", "abuse")

    @functools.cached_property
    def _gram_weight(self) -> np.ndarray:
        return (self.idf * self.coef[:N_FEATURES]).astype(np.float64)

    def decision(self, grams: TextNgrams, cues: np.ndarray) -> np.ndarray:
        """The logistic regression's decision value, straight from the n-grams."""
        return self._decision(self._gram_part(grams), cues)

    def _gram_part(self, grams: TextNgrams) -> np.ndarray:
        """Σ idf × weight over a text's n-grams, over its norm (``occurrence_norms``)."""
        return gram_parts((self,), grams)[0]

    def scores_prepared(self, grams: TextNgrams, gram_part: np.ndarray | None = None) -> np.ndarray:
        """``assess_prepared(…).scores`` of a model without cue lists, from its ``gram_parts`` when given."""
        if self.featurizer.n_cues:
            raise ValueError("a model with cues is scored through assess")
        part = self._gram_part(grams) if gram_part is None else gram_part
        return self.calibrate(self._decision(part, np.zeros((grams.n_texts, 0), dtype=np.float32)))

    def _decision(self, gram_part: np.ndarray, cues: np.ndarray) -> np.ndarray:
        return gram_part + cues @ self.coef[N_FEATURES:].astype(np.float64) + self.intercept

    def calibrate(self, decision: np.ndarray) -> np.ndarray:
        a, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * decision + b)))

    def assess(self, texts: list[str]) -> Assessment:
        """Calibrated scores and cue flags for a batch, every text scored (no repeated-text shortcut)."""
        if not texts:
            return Assessment(np.zeros(0), np.zeros((0, self.featurizer.n_cues), dtype=np.float32))
        batch = self.featurizer.batch(texts)
        return self.assess_prepared(batch, self.featurizer.ngrams_by_text(batch))

    def assess_prepared(self, batch: Batch, grams: TextNgrams) -> Assessment:
        """``assess`` of a batch already prepared and hashed: every model's featurizer prepares and hashes
        alike (``CHAR_NGRAMS``, ``HASH_BITS``), so models reading the same texts share that work."""
        cues = self.featurizer.cues(batch)
        return Assessment(self.calibrate(self.decision(grams, cues)), cues)

    def assess_reaching(self, texts: list[str], floor: float) -> Assessment:
        """``assess``, exact for every text whose calibrated score can reach ``floor``.

        The cue lookup (an automaton pass with Python work per match) runs only on the texts whose
        n-gram part brings them within the cues' reach of ``floor``; the others keep no cues, so
        their scores, which stay below ``floor`` either way, are not the ones ``assess`` gives.
        """
        batch = self.featurizer.batch(texts)
        gram_part = self._gram_part(self.featurizer.ngrams_by_text(batch))
        cues = np.zeros((len(texts), self.featurizer.n_cues), dtype=np.float32)
        if self.featurizer.n_cues:
            weights = self.coef[N_FEATURES:].astype(np.float64)
            extremes = (weights[weights > 0].sum(), weights[weights < 0].sum())
            reach = np.maximum(*(self.calibrate(gram_part + bound + self.intercept) for bound in extremes))
            rows = np.flatnonzero(reach >= floor - 1e-9)  # the slack covers rounding in the cue sum
            if len(rows):  # the screen reads the whole batch: cheaper than cutting out the rows first
                cues = self.featurizer.cues(batch, within=rows)
        return Assessment(self.calibrate(self._decision(gram_part, cues)), cues)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Calibrated probability of the model's category per text."""
        return self.assess(texts).scores

    def explain(self, text: str, top: int = 5) -> list[tuple[str, float]]:
        """The n-grams and cues pushing this text towards the category, strongest first."""
        batch = self.featurizer.batch([text])
        occ = self.featurizer.ngrams(batch)
        cues = self.featurizer.cues(batch)
        prepared = batch.texts()[0]
        norm = occurrence_norms(occ, self.idf, self.meta["norm_prior"])[0]
        by_name: dict[str, float] = {}
        for bucket, start, n in zip(occ.bucket, occ.start, occ.n, strict=True):
            gram = prepared[start : start + n]
            by_name[gram] = by_name.get(gram, 0.0) + float(self._gram_weight[bucket] / norm)
        for k, name in enumerate(self.featurizer.cue_names):
            if cues[0, k]:
                by_name[f"[{name}]"] = float(self.coef[N_FEATURES + k])
        ranked = sorted(by_name.items(), key=lambda item: (-item[1], item[0]))
        return [(name, round(c, 4)) for name, c in ranked[:top] if c > 0]

    def save(self, path: Path) -> None:
        kept = np.flatnonzero(self.idf != self.meta["idf_default"]).astype(np.int32)
        arrays = {
            "kept.npy": kept,
            "idf.npy": self.idf[kept].astype(np.float32),
            "coef.npy": self.coef[kept].astype(np.float32),
            "cue_coef.npy": self.coef[N_FEATURES:].astype(np.float32),
        }
        meta = {**self.meta, "intercept": self.intercept, "calibration": list(self.calibration)}
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, value in [
                ("meta.json", json.dumps(meta, sort_keys=True, indent=1, ensure_ascii=False).encode()),
                *((n, _npy(a)) for n, a in arrays.items()),
            ]:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, value)
        from auditor import atomic

        atomic.write_bytes(path, buffer.getvalue())


_JOINT_VALUES: dict[tuple[int, ...], tuple[tuple[TextModel, ...], np.ndarray]] = {}


def gram_parts(models: tuple[TextModel, ...], grams: TextNgrams) -> list[np.ndarray]:
    """Each model's ``_gram_part`` of the same n-grams (one model, or models reading the same texts:
    rumor and ad). Their per-bucket idf² and idf × weight sit side by side in one table, and one sparse
    product gathers and sums them per text: an n-gram costs one memory access for all of them.

    The product adds each text's values one by one in the order of ``grams``, starting from zero,
    exactly as ``bincount`` over the occurrences does (``occurrence_norms``, training): the same sums
    to the last bit."""
    key = tuple(id(model) for model in models)
    if key not in _JOINT_VALUES:  # the models are kept with their table, so an id is never reused
        columns = [c for m in models for c in (m.idf.astype(np.float64) ** 2, m._gram_weight)]
        _JOINT_VALUES[key] = (models, np.column_stack(columns))
    ones = np.ones(len(grams.bucket))
    counts = sp.csr_matrix((ones, grams.bucket, grams.indptr), shape=(grams.n_texts, N_FEATURES))
    sums = counts @ _JOINT_VALUES[key][1]
    return [sums[:, 2 * k + 1] / _norms(sums[:, 2 * k], m.meta["norm_prior"]) for k, m in enumerate(models)]


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def load_model(path: Path) -> TextModel:
    """Load (once per process) and check the artifact's format."""
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("meta.json"))
            arrays = {
                n: np.load(io.BytesIO(archive.read(f"{n}.npy")), allow_pickle=False)
                for n in ("kept", "idf", "coef", "cue_coef")
            }
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise AuditorError(f"cannot load the model {path}: {exc}") from None
    if meta.get("format") != FORMAT:
        raise AuditorError(f"{path} is not a {FORMAT} artifact (retrain it with `auditor model train`)")
    idf = np.full(N_FEATURES, meta["idf_default"], dtype=np.float32)
    coef = np.zeros(N_FEATURES + len(arrays["cue_coef"]), dtype=np.float32)
    idf[arrays["kept"]] = arrays["idf"]
    coef[arrays["kept"]] = arrays["coef"]
    coef[N_FEATURES:] = arrays["cue_coef"]
    a, b = meta.pop("calibration")
    digest = hashlib.sha256(data).hexdigest()[:16]
    return TextModel(idf, coef, float(meta.pop("intercept")), (float(a), float(b)), meta, digest)
