"""Working days on the mainland China statutory calendar (holidays and 调休 make-up days).

The ``chinesecalendar`` package knows each year's official schedule once the State Council
publishes it; a date outside its known years is an error, not a guess.
"""

from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar

from auditor.errors import AuditorError


@functools.lru_cache(maxsize=1)
def known_years() -> tuple[int, int]:
    """The first and last year whose official schedule the installed calendar holds."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


def is_workday(day: dt.date) -> bool:
    first, last = known_years()
    if not first <= day.year <= last:
        raise AuditorError(
            f"{day} is outside the statutory calendar's known years ({first}–{last}); "
            "upgrade the chinesecalendar package once the State Council publishes that year's schedule"
        )
    return chinese_calendar.is_workday(day)


def add_working_days(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = count
    while remaining > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            remaining -= 1
    return day
