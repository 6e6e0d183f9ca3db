"""Working days on the statutory calendar, holidays and make-up days (调休) included."""

import datetime as dt

import pytest

from auditor.errors import AuditorError
from auditor.workdays import add_working_days, is_workday

D = dt.date

CASES = [
    # plain week: Monday + 5 working days → next Monday
    ("ordinary week", D(2026, 11, 16), 5, D(2026, 11, 23)),
    # National Day 2026: Oct 1–7 off; Sep 30 (Wed) + 1 → Oct 8
    ("across National Day", D(2026, 9, 30), 1, D(2026, 10, 8)),
    # 9-30, 10-8, 10-9, Sat 10-10 (a make-up workday), 10-12
    ("National Day, filing window", D(2026, 9, 29), 5, D(2026, 10, 12)),
    ("investigation across National Day", D(2026, 9, 28), 10, D(2026, 10, 16)),
    # Spring Festival 2026: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 are make-up workdays
    ("into the Spring Festival make-up Saturday", D(2026, 2, 13), 1, D(2026, 2, 14)),
    ("across the Spring Festival", D(2026, 2, 14), 1, D(2026, 2, 24)),
    # 2-13, Sat 2-14, 2-24 … 2-27, Sat 2-28, 3-2, 3-3, 3-4
    ("Spring Festival, ten days", D(2026, 2, 12), 10, D(2026, 3, 4)),
]


@pytest.mark.parametrize(("name", "start", "days", "expected"), CASES, ids=[c[0] for c in CASES])
def test_add_working_days(name, start, days, expected):
    assert add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2026, 10, 1), False),
        (D(2026, 10, 10), True),
        (D(2026, 2, 14), True),
        (D(2026, 2, 16), False),
        (D(2026, 11, 21), False),
        (D(2026, 11, 23), True),
    ],
)
def test_is_workday(day, workday):
    assert is_workday(day) is workday


def test_outside_the_known_years_is_a_clear_error():
    with pytest.raises(AuditorError, match="outside the statutory calendar's known years"):
        add_working_days(D(2026, 12, 28), 10)
