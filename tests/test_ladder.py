"""The escalation ladder: one table of cases per step."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.config import DEFAULTS
from auditor.ledger import Action
from auditor.violations import recommend

CFG = DEFAULTS["ladder"]
AS_OF = dt.date(2026, 11, 20)


def f(i: int, category: str = "profanity", severity: str = "medium", days_ago: int = 1) -> dict:
    return {
        "finding_id": f"f{i}",
        "category": category,
        "severity": severity,
        "date": (AS_OF - dt.timedelta(days=days_ago)).isoformat(),
    }


def act(
    step: str, findings: list[str], days_ago: int = 0, overturned: bool = False, voided: bool = False
) -> Action:
    """An action; ``overturned`` by an appeal (void, its findings leave the ladder) or ``voided`` as a
    mistake (void, its findings still count)."""
    effective = (AS_OF - dt.timedelta(days=days_ago)).isoformat()
    return Action(
        "ACT-000001",
        1,
        "zhangwei",
        step,
        "lina",
        effective,
        "",
        findings,
        {},
        voided or overturned,
        overturned=overturned,
    )


CASES = [
    ("nothing confirmed", [], [], None),
    ("first low offence", [f(1, severity="low")], [], "warning"),
    ("first medium offence", [f(1)], [], "warning"),
    ("repeated: two in the window", [f(1), f(2)], [], "public_criticism"),
    ("one high", [f(1, severity="high")], [], "public_criticism"),
    ("one critical", [f(1, "malicious_link", "critical")], [], "temporary_removal"),
    ("four in the window", [f(i) for i in range(4)], [], "temporary_removal"),
    ("illegal content", [f(1, "illegal", "high")], [], "termination_review"),
    ("major leak: critical secret", [f(1, "secret", "critical")], [], "termination_review"),
    ("a high leak is not major", [f(1, "confidential", "high")], [], "public_criticism"),
    ("old findings leave the window", [f(1, days_ago=100), f(2, days_ago=95)], [], None),
    ("one old, one new", [f(1, days_ago=100), f(2)], [], "warning"),
    ("warning already given", [f(1)], [act("warning", ["f1"])], None),
    (
        "a new offence after the warning",
        [f(1, days_ago=10), f(2)],
        [act("warning", ["f1"], days_ago=9)],
        "public_criticism",
    ),
    (
        "a lower step does not satisfy a higher one",
        [f(1, severity="high")],
        [act("warning", ["f1"])],
        "public_criticism",
    ),
    (
        "an overturned action's findings leave the ladder",
        [f(1), f(2)],
        [act("public_criticism", ["f1", "f2"], overturned=True)],
        None,
    ),
    (
        "a voided action no longer counts as taken; its findings do",
        [f(1), f(2)],
        [act("public_criticism", ["f1", "f2"], voided=True)],
        "public_criticism",
    ),
    (
        "overturned: the rest still counts",
        [f(1), f(2), f(3)],
        [act("warning", ["f1", "f2"], overturned=True)],
        "warning",
    ),
]


@pytest.mark.parametrize(("name", "confirmed", "actions", "step"), CASES, ids=[c[0] for c in CASES])
def test_ladder(name, confirmed, actions, step):
    assert recommend(confirmed, actions, AS_OF, CFG).step == step


def test_thresholds_come_from_config():
    stricter = {**CFG, "repeat_count": 3}
    assert recommend([f(1), f(2)], [], AS_OF, stricter).step == "warning"
