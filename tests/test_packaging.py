"""A plain (non-editable) wheel carries the dictionaries, templates and model as package data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from auditor.resources import PACKAGED_MODELS

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_dictionaries_and_templates(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("wecom_auditor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for dictionary in (REPO / "dictionaries").glob("*.txt"):
        assert f"auditor/dictionaries/{dictionary.name}" in names
    for template in (REPO / "reports" / "templates").rglob("*.j2"):
        assert f"auditor/templates/{template.relative_to(REPO / 'reports' / 'templates')}" in names
    for artifact in PACKAGED_MODELS.values():  # abuse, rumor and ad models with their cards
        assert {f"auditor/models/{artifact}", f"auditor/models/{artifact[:-4]}.md"} <= names
    assert "auditor/corpus/conversation.txt" in names  # sentence source of `sample --realism real`
    modules = {str(p.relative_to(REPO)) for p in (REPO / "auditor").rglob("*.py")}
    assert modules - names == set()  # every module, subpackages included
