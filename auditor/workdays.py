"""Working days on the mainland China statutory calendar (holidays and 调休 make-up days).

The ``chinesecalendar`` package knows each year's official schedule once the State Council
publishes it; a date outside its known years is an error, not a guess.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar

from auditor.errors import AuditorError


def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise AuditorError(
            f"{day} is outside the statutory calendar's known years ({_known_years()}); "
            "upgrade the chinesecalendar package once the State Council publishes that year's schedule"
        ) from None


def _known_years() -> str:
    years = sorted({d.year for d in chinese_calendar.holidays})
    return f"{years[0]}–{years[-1]}"


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = count
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            remaining -= 1
    return day
