"""The ruleset (dictionaries + settings, and its version hash) and the per-process text analyzer."""

from __future__ import annotations

import functools
import gc
import hashlib
import json
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.categories import LEARNED_CATEGORIES
from auditor.detectors import text_detectors
from auditor.detectors.base import Hit, TextBatch
from auditor.detectors.learned import LearnedScorer
from auditor.lexicon import Lexicon
from auditor.resources import model_for, packaged_model
from auditor.text.normalize import Normalized
from auditor.text.segment import Segmenter

# The code that decides what a finding is and what it keeps (the detectors, the text they read, the
# models' features, the policy's grading and excerpts), relative to this package: a change to any of it
# makes a new ruleset version, as a new lexicon does, so findings made before and after an upgrade
# never claim the same rules (``auditor replay`` compares the two). The engines are left out: every
# engine finds the same (the parity tests).
DECIDING_CODE = (
    "detectors",
    "text",
    "abuse_cues.py",
    "allowlist.py",
    "analyzer.py",
    "audit.py",
    "categories.py",
    "classifier.py",
    "features.py",
    "lexicon.py",
    "masking.py",
    "policy.py",
)


@functools.cache
def code_digest(root: Path = Path(__file__).parent) -> str:
    """SHA-256 of ``DECIDING_CODE``'s source files under the package ``root``, by path, once per process."""
    digest = hashlib.sha256()
    for part in DECIDING_CODE:
        path = root / part
        for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(root).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


class Ruleset:
    """Everything that decides what is a finding. Its ``version`` changes when any of it does: the
    dictionaries, the models, the detector and policy settings, and the code (``DECIDING_CODE``)."""

    def __init__(self, config: dict[str, Any], company_dictionaries: Path | None) -> None:
        self.config = config
        self.company_dictionaries = company_dictionaries
        self.lexicon = Lexicon.load(company_dictionaries)
        decisive = {"detectors": config["detectors"], "policy": config["policy"]}
        digest = hashlib.sha256()
        digest.update(f"auditor {__version__} {code_digest()}\0".encode())
        digest.update(self.lexicon.digest.encode())
        if self.enabled("abuse"):
            digest.update(self.model_path.read_bytes() if self.model_path.exists() else b"no model")
        for category in LEARNED_CATEGORIES:  # a retrained rumor or ad model changes what is found
            if self.enabled(category):
                path = model_for(category, config["detectors"][category]["model"])
                digest.update(path.read_bytes() if path.exists() else b"no model")
        digest.update(json.dumps(decisive, sort_keys=True, ensure_ascii=False).encode())
        self.version = digest.hexdigest()[:16]

    @property
    def model_path(self) -> Path:
        configured = self.config["detectors"]["abuse_model"]["path"]
        return Path(configured) if configured else packaged_model()

    def enabled(self, category: str) -> bool:
        return category not in self.config["detectors"]["disabled"]

    def settings(self, name: str) -> dict[str, Any]:
        return self.config["detectors"].get(name, {})


class Analyzer:
    """Runs every text detector over a text. Built once per process (jieba loads lazily)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.lexicon = ruleset.lexicon
        self.segmenter = Segmenter(self.lexicon.words)
        self.detectors = [
            cls(ruleset.settings(cls.settings_key()), self.lexicon)
            for cls in text_detectors()
            if ruleset.enabled(cls.category)
        ]
        # the learned detectors read the same view of a text: one scorer shares its features with the others
        scorers = [
            d.learned for d in self.detectors if isinstance(getattr(d, "learned", None), LearnedScorer)
        ]
        for scorer in scorers:
            scorer.peers = scorers

    def analyze(self, text: str, is_file: bool = False) -> list[Hit]:
        return self.analyze_many([(text, is_file)])[0]

    def analyze_many(self, keys: list[tuple[str, bool]]) -> list[list[Hit]]:
        return self.analyze_batch(keys)[0]

    def analyze_batch(self, keys: list[tuple[str, bool]]) -> tuple[list[list[Hit]], list[Normalized]]:
        """Hits per (text, is_file), each detector seeing the whole batch at once: normalization and the
        lexicon automaton run over the joined batch, each detector scans only its candidates. Each
        text's normalized form comes back too, for work outside the text detectors that needs it
        (the flooding detector's repeat keys), so no one normalizes a text twice."""
        batch = TextBatch.of_keys(keys, self.lexicon, self.segmenter)
        hits: list[list[Hit]] = [[] for _ in keys]
        holding_secrets: list[int] = []
        for detector in self.detectors:
            found_by = detector.scan_batch(batch)
            for i, found in found_by.items():
                hits[i] += found
            if detector.category == "secret":
                holding_secrets += found_by
        batch.close()
        for i in holding_secrets:  # rare
            hits[i] = [hit for hit in hits[i] if not _wording_judgement(hit)]
        return hits, batch.norms


def _wording_judgement(hit: Hit) -> bool:
    """A rumor or ad model's hit: a judgement of a text's wording. Next to a secret it is dropped: the
    models read a key's random letters and digits as the wording of spam (an AWS secret key scored as an
    ad), and a text carrying a credential is the secret's finding, whatever else it says."""
    return hit.category in LEARNED_CATEGORIES and hit.rule.startswith(f"{hit.category}.model")


YOUNG_LIMIT = 10_000  # containers allocated (less those freed) before the young generation is collected


def audit_analyzer(ruleset: Ruleset) -> Analyzer:
    """The analyzer of a process that audits until it ends (the audit, a pool or Dask worker).

    Its dictionaries, automaton and models live as long as the process, so they are frozen out of
    the cyclic collector, which otherwise walks them again and again while batches allocate (about
    6 % of analysis). A batch then holds a few thousand live containers (tuples, lists, hits) that
    form no cycles; at Python's default threshold (700 more alive than at the last collection) the
    young generation was collected about 1,100 times per worker for the 1M bench and the middle one
    100 times, 0.5 CPU s a worker; at YOUNG_LIMIT, a few times. Not for a long-lived server that
    builds analyzers on request.
    """
    analyzer = Analyzer(ruleset)
    gc.freeze()
    gc.set_threshold(YOUNG_LIMIT, *gc.get_threshold()[1:])
    return analyzer
