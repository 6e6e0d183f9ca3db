"""The ruleset (dictionaries + settings, and its version hash) and the per-process text analyzer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.detectors import text_detectors
from auditor.detectors.base import Hit, TextView
from auditor.lexicon import Lexicon
from auditor.text.segment import Segmenter


class Ruleset:
    """Everything that decides what is a finding. Its ``version`` changes when any of it does."""

    def __init__(self, config: dict[str, Any], company_dictionaries: Path | None) -> None:
        self.config = config
        self.company_dictionaries = company_dictionaries
        self.lexicon = Lexicon.load(company_dictionaries)
        decisive = {"detectors": config["detectors"], "policy": config["policy"]}
        digest = hashlib.sha256()
        digest.update(f"auditor {__version__}\0".encode())
        digest.update(self.lexicon.digest.encode())
        digest.update(json.dumps(decisive, sort_keys=True, ensure_ascii=False).encode())
        self.version = digest.hexdigest()[:16]

    def enabled(self, category: str) -> bool:
        return category not in self.config["detectors"]["disabled"]

    def settings(self, category: str) -> dict[str, Any]:
        return self.config["detectors"].get(category, {})


class Analyzer:
    """Runs every text detector over a text. Built once per process (jieba loads lazily)."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.lexicon = ruleset.lexicon
        self.segmenter = Segmenter(self.lexicon.words)
        self.detectors = [
            cls(ruleset.settings(cls.category), self.lexicon)
            for cls in text_detectors()
            if ruleset.enabled(cls.category)
        ]

    def analyze(self, text: str, is_file: bool = False) -> list[Hit]:
        view = TextView(text, self.lexicon, self.segmenter, is_file=is_file)
        hits: list[Hit] = []
        for detector in self.detectors:
            hits += detector.scan(view)
        return hits
