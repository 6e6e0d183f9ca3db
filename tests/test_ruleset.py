"""The ruleset version: the same rules give the same version, and a change to anything that decides a
finding — settings, dictionaries, or the deciding code itself — gives another."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from auditor import analyzer
from auditor.analyzer import DECIDING_CODE, Ruleset, code_digest
from auditor.config import load_config

PACKAGE = Path(analyzer.__file__).parent


def test_the_same_rules_give_the_same_version():
    assert Ruleset(load_config(None), None).version == Ruleset(load_config(None), None).version


def test_a_detector_setting_or_a_dictionary_gives_another_version(tmp_path):
    config = load_config(None)
    base = Ruleset(config, None).version
    stricter = copy.deepcopy(config)
    stricter["detectors"]["abuse_model"]["threshold"] = 0.99
    assert Ruleset(stricter, None).version != base
    (tmp_path / "confidential.txt").write_text("蓝鲸计划\n", encoding="utf-8")
    assert Ruleset(config, tmp_path).version != base


def test_the_deciding_code_is_part_of_the_version(monkeypatch):
    """Findings made before and after a detector changed must not claim the same rules (replay compares
    the two), though the package's version number did not move."""
    base = Ruleset(load_config(None), None).version
    monkeypatch.setattr(analyzer, "code_digest", lambda: "another detector")
    assert Ruleset(load_config(None), None).version != base


def _copy_of_the_deciding_code(target: Path) -> Path:
    root = target / "auditor"
    for part in DECIDING_CODE:
        source = PACKAGE / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / part)
    return root


def test_the_code_digest_follows_the_deciding_sources_only(tmp_path):
    root = _copy_of_the_deciding_code(tmp_path)
    assert code_digest(root) == code_digest(PACKAGE)  # by content and path, not by where it lies
    (root / "console").mkdir()
    (root / "console" / "app.py").write_text("# the review console decides no finding\n")
    (root / "report.py").write_text("# nor do the pages\n")
    code_digest.cache_clear()
    assert code_digest(root) == code_digest(PACKAGE)
    detector = root / "detectors" / "ad.py"
    detector.write_bytes(detector.read_bytes() + b"\n# a changed rule\n")
    code_digest.cache_clear()
    assert code_digest(root) != code_digest(PACKAGE)
    code_digest.cache_clear()
