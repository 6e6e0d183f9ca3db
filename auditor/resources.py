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


# The model shipped inside the package for each finding category that has one.
PACKAGED_MODELS = {"abuse": "abuse-cold.zip", "rumor": "rumor-weibo.zip", "ad": "ad-sms.zip"}


def packaged_model(category: str = "abuse") -> Path:
    """The classifier shipped for ``category`` (abuse: trained on COLD)."""
    return _PACKAGE / "models" / PACKAGED_MODELS[category]


def model_for(category: str, configured: str) -> Path:
    """The model a detector uses: the configured artifact, or the packaged one when none is set."""
    return Path(configured) if configured else packaged_model(category)
