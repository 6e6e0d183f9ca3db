"""Detectors, one module per finding category, registered in one place.

A new detector is one file with a ``@register``-decorated class plus one line in the import
list at the bottom of this module.
"""

from __future__ import annotations

from auditor.categories import FINDING_CATEGORIES as CATEGORIES
from auditor.detectors.base import DayDetector, Detector, TextDetector

REGISTRY: dict[str, type[Detector]] = {}  # detector class name → class; a category may have several


def register(cls: type[Detector]) -> type[Detector]:
    if cls.category not in CATEGORIES:
        raise ValueError(f"{cls.__name__}: unknown category {cls.category!r}")
    REGISTRY[cls.__name__] = cls
    return cls


def text_detectors() -> list[type[TextDetector]]:
    return [c for c in REGISTRY.values() if issubclass(c, TextDetector)]


def day_detectors() -> list[type[DayDetector]]:
    return [c for c in REGISTRY.values() if issubclass(c, DayDetector)]


# The registered detectors (importing a module registers it).
from auditor.detectors import (  # noqa: E402, F401
    abuse,
    abuse_model,
    ad,
    confidential,
    flooding,
    illegal,
    malicious_link,
    membership,
    pii,
    profanity,
    quarrel,
    rumor,
    secret,
)
