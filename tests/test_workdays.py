"""Working days on the statutory calendar, holidays and make-up days (调休) included; past the years
the package knows, by rule, with the operator's corrections from W/calendar.toml."""

import datetime as dt

import pytest

from auditor.errors import AuditorError
from auditor.workdays import WorkCalendar, package_years, statutory_holidays

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
    # crossing into 2027 (by rule): 12-25, 12-28 … 12-31, 1 Jan off, 1-4 … 1-8 → the 10th is 1-8
    ("2026 into 2027 over New Year's Day", D(2026, 12, 24), 10, D(2027, 1, 8)),
    ("the filing window of an action on Christmas Eve", D(2026, 12, 24), 5, D(2026, 12, 31)),
    # Spring Festival 2027 by rule: eve Fri 2-5, Sat 2-6 … Mon 2-8 (3rd day): 2-4, 2-9
    ("across the 2027 Spring Festival by rule", D(2027, 2, 3), 2, D(2027, 2, 9)),
    # Labour Day 2027 (Sat 5-1, Sun 5-2) and National Day 2027 (Fri 10-1 … Sun 10-3)
    ("Labour Day 2027 on a weekend", D(2027, 4, 30), 1, D(2027, 5, 3)),
    ("National Day 2027", D(2027, 9, 30), 1, D(2027, 10, 4)),
    # Qingming 2027-04-05 (Mon), Dragon Boat 2027-06-09 (Wed), Mid-Autumn 2027-09-15 (Wed)
    ("Qingming 2027", D(2027, 4, 2), 1, D(2027, 4, 6)),
    ("Dragon Boat 2027", D(2027, 6, 8), 1, D(2027, 6, 10)),
    ("Mid-Autumn 2027", D(2027, 9, 14), 1, D(2027, 9, 16)),
]


@pytest.mark.parametrize(("name", "start", "days", "expected"), CASES, ids=[c[0] for c in CASES])
def test_add_working_days(name, start, days, expected):
    assert WorkCalendar().add_working_days(start, days) == expected


def test_2027_holidays_by_rule_follow_the_2025_revision():
    assert package_years()[1] == 2026  # when chinesecalendar ships 2027, these become its answers
    assert sorted(statutory_holidays(2027)) == [
        D(2027, 1, 1),
        D(2027, 2, 5),  # 除夕
        D(2027, 2, 6),
        D(2027, 2, 7),
        D(2027, 2, 8),  # 初三
        D(2027, 4, 5),  # 清明
        D(2027, 5, 1),
        D(2027, 5, 2),
        D(2027, 6, 9),  # 端午
        D(2027, 9, 15),  # 中秋
        D(2027, 10, 1),
        D(2027, 10, 2),
        D(2027, 10, 3),
    ]


@pytest.mark.parametrize("year", range(2027, 2051))
def test_every_later_year_has_the_statutory_days(year):
    """13 days; 12 when Mid-Autumn falls on National Day (the State Council then adjusts by 调休)."""
    days = statutory_holidays(year)
    mid_autumn_on_national_day = sum(d.month in (9, 10) for d in days) == 3  # 2028, 2031, 2039
    assert len(days) == (12 if mid_autumn_on_national_day else 13) and all(d.year == year for d in days)
    spring = sorted(d for d in days if d.month in (1, 2) and d != D(year, 1, 1))
    assert len(spring) == 4 and (spring[-1] - spring[0]).days == 3  # eve … 3rd day, consecutive
    assert any(d.month == 4 and d.day in (4, 5, 6) for d in days)  # Qingming


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2026, 10, 1), False),
        (D(2026, 10, 10), True),
        (D(2026, 2, 14), True),
        (D(2026, 2, 16), False),
        (D(2026, 11, 21), False),
        (D(2026, 11, 23), True),
        (D(2027, 1, 1), False),
        (D(2027, 1, 4), True),
        (D(2027, 2, 5), False),
        (D(2027, 2, 9), True),
        (D(2030, 10, 3), False),
    ],
)
def test_is_workday(day, workday):
    assert WorkCalendar().is_workday(day) is workday


def test_estimated_years_are_named_in_the_notice():
    calendar = WorkCalendar()
    calendar.add_working_days(D(2026, 11, 16), 5)
    assert calendar.notice() is None
    calendar.add_working_days(D(2026, 12, 24), 10)
    assert "working days for 2027 estimated by rule" in calendar.notice()
    assert "W/calendar.toml" in calendar.notice()


OVERRIDES = """\
holidays = [2027-02-09, 2027-02-10, 2027-02-11]  # the State Council's Spring Festival week
workdays = [2027-02-13]                           # a make-up Saturday (调休)
official_years = [2027]
"""


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (D(2027, 2, 4), 1, D(2027, 2, 12)),  # 2-9 … 2-11 now off too
        (D(2027, 2, 12), 1, D(2027, 2, 13)),  # the make-up Saturday counts
        (D(2026, 12, 30), 2, D(2027, 1, 4)),  # the rest of 2027 still by rule
    ],
)
def test_calendar_toml_corrects_days(tmp_path, start, days, expected):
    (tmp_path / "calendar.toml").write_text(OVERRIDES, encoding="utf-8")
    calendar = WorkCalendar.of_workspace(tmp_path)
    assert calendar.add_working_days(start, days) == expected
    assert calendar.notice() is None  # 2027 is declared official


def test_calendar_toml_can_correct_a_known_year(tmp_path):
    (tmp_path / "calendar.toml").write_text("holidays = [2026-11-17]\n", encoding="utf-8")
    assert WorkCalendar.of_workspace(tmp_path).add_working_days(D(2026, 11, 16), 1) == D(2026, 11, 18)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("holidays = [", "not valid TOML"),
        ('holidays = ["2027-02-09"]', "holidays must be a list of dates"),
        ("workdays = 2027-02-13", "workdays must be a list of dates"),
        ("holidays = [2027-02-09T08:00:00]", "holidays must be a list of dates"),
        ("holiday = [2027-02-09]", "unknown key holiday"),
        ("holidays = [2027-02-13]\nworkdays = [2027-02-13]", "both a holiday and a working day"),
        ('official_years = ["2027"]', "official_years must be a list of years"),
        ("official_years = [true]", "official_years must be a list of years"),
    ],
)
def test_a_bad_calendar_toml_is_a_configuration_error(tmp_path, text, message):
    (tmp_path / "calendar.toml").write_text(text, encoding="utf-8")
    with pytest.raises(AuditorError, match=message) as caught:
        WorkCalendar.of_workspace(tmp_path)
    assert caught.value.exit_code == 2 and "calendar.toml" in str(caught.value)
