"""Where the shipped dictionaries and report templates are.

In a wheel they are package data inside ``auditor/`` (pyproject maps them there); in a source
checkout or an editable install they stay where the design card puts them, at the top of the
repository (``dictionaries/``, ``reports/templates/``).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_IN_REPOSITORY = {"dictionaries": "dictionaries", "templates": "reports/templates"}


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / _IN_REPOSITORY[name]):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"auditor installation is missing its {name}/ folder")


def packaged_model() -> Path:
    """The abuse classifier trained on COLD, shipped inside the package."""
    return _PACKAGE / "models" / "abuse-cold.zip"
