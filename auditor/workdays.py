"""Working days on the mainland China statutory calendar (holidays and 调休 make-up days).

Three sources, the first that speaks wins:

1. ``W/calendar.toml``, the operator's corrections: days off, make-up working days (调休), and the
   years whose schedule they have entered in full (the State Council publishes each year's in
   November or December);
2. the ``chinesecalendar`` package, which holds each published year's official schedule;
3. for a year neither knows, the statutory holidays by rule (全国年节及纪念日放假办法, as revised
   in 2025) plus weekends, and the answer says it is an estimate. The rule has no 调休 and no
   bridging days, which only the yearly notice fixes.

The calendar never stops: an appeal deadline reaching into a year nobody has published yet is
estimated, not refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chinese_calendar
from lunar_python import Lunar

from auditor.errors import EXIT_USAGE, AuditorError

CALENDAR_FILE = "calendar.toml"
CALENDAR_KEYS = ("holidays", "workdays", "official_years")


@functools.lru_cache(maxsize=1)
def package_years() -> tuple[int, int]:
    """The first and last year whose official schedule the installed chinesecalendar holds."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The year's statutory days off by rule (全国年节及纪念日放假办法, 2025 revision, 13 days):
    New Year's Day (1 Jan), Spring Festival (lunar New Year's Eve to the 3rd of the first month),
    Qingming (the solar term), Labour Day (1–2 May), Dragon Boat (5th of the 5th lunar month),
    Mid-Autumn (15th of the 8th lunar month) and National Day (1–3 Oct)."""
    new_year = Lunar.fromYmd(year, 1, 1)
    spring = [new_year.next(offset).getSolar() for offset in (-1, 0, 1, 2)]
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    lunar_days = [Lunar.fromYmd(year, 5, 5).getSolar(), Lunar.fromYmd(year, 8, 15).getSolar()]
    days = {dt.date(s.getYear(), s.getMonth(), s.getDay()) for s in [*spring, qingming, *lunar_days]}
    days |= {dt.date(year, 1, 1), dt.date(year, 5, 1), dt.date(year, 5, 2)}
    days |= {dt.date(year, 10, d) for d in (1, 2, 3)}
    # Lunar New Year's Eve can fall in the Gregorian year before; keep only this year's days.
    return frozenset(d for d in days if d.year == year)


def _is_rule_workday(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in statutory_holidays(day.year)


@dataclass
class WorkCalendar:
    """The statutory calendar with the operator's corrections; remembers the estimated years it used."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    official_years: frozenset[int] = frozenset()
    source: Path | None = None
    estimated_used: set[int] = field(default_factory=set)

    @classmethod
    def of_workspace(cls, root: Path) -> WorkCalendar:
        path = root / CALENDAR_FILE
        return cls.load(path) if path.exists() else cls()

    @classmethod
    def load(cls, path: Path) -> WorkCalendar:
        """Read and validate ``calendar.toml``; any problem is a configuration error (exit 2)."""

        def fail(problem: str) -> AuditorError:
            return AuditorError(f"{path}: {problem}", EXIT_USAGE)

        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise fail(f"not valid TOML ({exc})") from None
        unknown = sorted(set(data) - set(CALENDAR_KEYS))
        if unknown:
            raise fail(
                f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                f"(known: {', '.join(CALENDAR_KEYS)})"
            )
        dates: dict[str, frozenset[dt.date]] = {}
        for key in ("holidays", "workdays"):
            values = data.get(key, [])
            if not isinstance(values, list) or not all(
                isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values
            ):
                raise fail(f"{key} must be a list of dates written like 2027-02-05 (no quotes)")
            dates[key] = frozenset(values)
        both = sorted(dates["holidays"] & dates["workdays"])
        if both:
            raise fail(f"{', '.join(map(str, both))} listed as both a holiday and a working day")
        years = data.get("official_years", [])
        if not isinstance(years, list) or not all(
            isinstance(y, int) and not isinstance(y, bool) and 1900 <= y <= 2999 for y in years
        ):
            raise fail("official_years must be a list of years like 2027")
        return cls(dates["holidays"], dates["workdays"], frozenset(years), path)

    def is_estimated(self, year: int) -> bool:
        """True when the year's working days come from the rule, not from a published schedule."""
        first, last = package_years()
        return not (first <= year <= last or year in self.official_years)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        first, last = package_years()
        if first <= day.year <= last:
            return chinese_calendar.is_workday(day)
        if self.is_estimated(day.year):
            self.estimated_used.add(day.year)
        return _is_rule_workday(day)

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself does not count)."""
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def notice(self, years: set[int] | None = None) -> str | None:
        """What to tell the reader when a result rests on estimated years (None when none does)."""
        years = sorted(self.estimated_used if years is None else {y for y in years if self.is_estimated(y)})
        if not years:
            return None
        named = ", ".join(map(str, years))
        return (
            f"working days for {named} estimated by rule (statutory holidays and weekends, no 调休): "
            f"add the State Council's schedule to W/{CALENDAR_FILE} (holidays, workdays, official_years)"
        )
