from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    workspace.init()
    return workspace


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def analyzer():
    """The text analyzer with the shipped dictionaries and default settings."""
    from auditor.analyzer import Analyzer, Ruleset
    from auditor.config import load_config

    return Analyzer(Ruleset(load_config(None), None))


@pytest.fixture(scope="session")
def hits(analyzer):
    """hits(text, category, is_file=False) → the hits of one category."""

    def of(text: str, category: str, is_file: bool = False):
        return [h for h in analyzer.analyze(text, is_file) if h.category == category]

    return of


@pytest.fixture(scope="session")
def keypairs():
    """The corp's RSA keypairs by publickey_ver, for the fake Finance SDK."""
    from tests.fake_wecom import new_keypair

    return {version: new_keypair() for version in (1, 2, 3)}


@pytest.fixture(scope="session")
def realistic_keys(tmp_path_factory):
    """The distinct (text, is_file) keys of a small realistic sample (real sentences, most distinct)."""
    from auditor.engines.chunk import lake_keys
    from auditor.ingest import ingest
    from auditor.sample import generate

    root = tmp_path_factory.mktemp("parity")
    generate(root / "s", messages=1500, groups=4, days=1, seed=23, realism="real")
    ws = Workspace(root / "ws")
    ws.init()
    ingest(ws, [root / "s" / "exports"])
    return lake_keys(ws.messages_dir)
