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
