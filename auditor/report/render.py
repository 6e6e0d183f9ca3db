"""Rendering: one jinja2 environment with autoescape, pages written into a fresh folder that
replaces the date's report folder only once every page is written."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import json
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from auditor import __version__, atomic, failpoints, process_pool
from auditor.engines import worker_count
from auditor.errors import AuditorError
from auditor.report.labels import LABELS
from auditor.report.model import ReportSources, build_day
from auditor.resources import data_dir


@functools.cache
def environment() -> jinja2.Environment:
    """The process's one environment: each template is compiled once (a quarter of a CPU second for
    the report's), not once per date; jinja2 still reloads a template whose file changes."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        autoescape=True,  # every value from the archive is escaped; nothing from chat becomes markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``; readers see the old folder or the new one, never a mix."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{staging.name[-8:]}")
        target.rename(old)
    staging.rename(target)
    atomic.fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old)


def render_day(
    sources: ReportSources,
    date: str,
    reports_dir: Path,
    *,
    lang: str = "zh",
    unmasked: bool = False,
    ledger_view: Any = None,
    generated_at: str | None = None,
) -> dict[str, Any]:
    """Write ``reports_dir/DATE/{index.html, groups/*.html, summary.json}``; returns the summary."""
    labels = LABELS[lang]
    day = build_day(sources, date, unmasked=unmasked, one_to_one_label=labels["one_to_one"])
    if ledger_view is not None:
        ledger_view.annotate(day)
    env = environment()
    generated_at = generated_at or dt.datetime.now(sources.tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    common = {
        "t": labels,
        "lang": lang,
        "day": day,
        "unmasked": unmasked,
        "generated_at": generated_at,
        "version": __version__,
        "ledger": getattr(ledger_view, "index", None) if ledger_view else None,
    }
    script = env.get_template("_index.js.j2").render()
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{date}-", dir=reports_dir))
    written: list[Path] = []

    def stage(path: Path, text: str) -> None:
        atomic.write_staged(path, text.encode("utf-8"))
        written.append(path)

    try:
        (staging / "groups").mkdir()
        index = env.get_template("index.html.j2").render(
            **common, script=script, script_hashes=[_csp_hash(script)]
        )
        stage(staging / "index.html", index)
        page = env.get_template("group.html.j2")
        for group in day["groups"]:
            stage(staging / "groups" / group.page, page.render(**common, g=group, script_hashes=[]))
        summary = {
            "date": date,
            "generated_at": generated_at,
            "auditor_version": __version__,
            "ruleset_versions": day["ruleset_versions"],
            "masked": not unmasked,
            "lang": lang,
            # the newest ledger event the page shows; a later event makes the page stale (report/follow.py)
            "ledger_event_id": getattr(ledger_view, "last_event_id", 0),
            "totals": {
                "groups": len(day["groups"]),
                "messages": day["messages"],
                "findings": day["findings"],
                "by_category": day["by_category"],
                "by_severity": day["by_severity"],
                # messages of types this version does not know, read by the generic walk
                **({"generic_types": day["generic_types"]} if day["generic_types"] else {}),
            },
            "ingest": day["ingest"],
            "groups": [g.summary() for g in day["groups"]],
        }
        body = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
        stage(staging / "summary.json", body)
        staging.chmod(0o755)
        (staging / "groups").chmod(0o755)
        atomic.sync_staged(written, [staging / "groups", staging])
        _swap_into_place(staging, reports_dir / date)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return summary


def render_page(
    template: str,
    path: Path,
    lang: str,
    *,
    period: str,
    ruleset_versions: list[str],
    generated_at: str,
    **context: Any,
) -> None:
    """A masked, script-free page on the base template (overview, replay diff), written atomically."""
    html = (
        environment()
        .get_template(template)
        .render(
            t=LABELS[lang],
            lang=lang,
            unmasked=False,
            script_hashes=[],
            version=__version__,
            generated_at=generated_at,
            day={"date": period, "ruleset_versions": ruleset_versions},
            **context,
        )
    )
    atomic.write_text(path, html)


def render_overview(reports_dir: Path, lang: str, tz: dt.tzinfo, alarms: Sequence[str] = ()) -> Path:
    """``reports_dir/index.html``: every reported date with its totals, newest first, under the
    alarms of the last pull from WeCom (data being lost is the first thing a reader must see)."""
    dates = []
    for path in sorted(reports_dir.glob("*/summary.json"), reverse=True):
        if not path.parent.name.startswith("."):
            dates.append(json.loads(path.read_text(encoding="utf-8")))
    period = f"{dates[-1]['date']} … {dates[0]['date']}" if dates else ""
    render_page(
        "dates.html.j2",
        reports_dir / "index.html",
        lang,
        period=period,
        ruleset_versions=[],
        generated_at=dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
        dates=dates,
        alarms=list(alarms),
    )
    return reports_dir / "index.html"


def ledger_view(ws, date: str, ledger=None, calendar=None):
    """The review ledger's view as of ``date``, when the workspace has a ledger (``ledger`` and
    ``calendar``: opened once for a run of dates)."""
    if not ws.ledger_path.exists():
        return None
    from auditor.report.ledger_view import LedgerView

    return LedgerView(ws, dt.date.fromisoformat(date), ledger, calendar)


def check_private_output(ws, lang: str | None, unmasked: bool, out_dir: Path | None) -> None:
    """W/reports holds the shared pages: masked, in the configured language. Anything else needs its
    own folder outside it, so an investigation never overwrites what group owners read (or what the
    next backup keeps)."""
    shared = ws.reports_dir.resolve()
    if out_dir is None:
        if unmasked:
            raise AuditorError(
                "--unmasked needs --out DIR, a folder outside the shared reports: the masked pages in "
                f"{ws.reports_dir} stay as group owners read them"
            )
        if lang and lang != ws.config["report"]["lang"]:
            raise AuditorError(
                f"--lang {lang} needs --out DIR: the shared reports in {ws.reports_dir} are in "
                f"report.lang ({ws.config['report']['lang']}); set report.lang to change them"
            )
        return
    target = out_dir.resolve()
    if target == shared or target.is_relative_to(shared):
        raise AuditorError(
            f"--out {out_dir} is inside the shared reports folder {ws.reports_dir}: choose another"
        )


def report(
    ws,
    dates: list[str],
    *,
    lang: str | None = None,
    unmasked: bool = False,
    out_dir: Path | None = None,
    findings_dir: Path | None = None,
    with_ledger: bool = True,
    on_date: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Render the workspace's reports for ``dates`` into W/reports (or ``out_dir``); returns each
    date's index.html. The one report stage: ``report``, ``nightly``, ``replay`` (its own
    ``findings_dir``, without the ledger's decisions) and decisions re-rendering pages call it.

    Several dates are rendered side by side in a process pool of ``workers`` (default: as many as
    the audit runs): a date's pages are one process's work from its read to its swap into place,
    about 2 s of one core for a date of a million-message archive. One date is rendered here.
    ``on_date`` is called, and ``mid-report`` reached, for each date in order once its pages are in
    place."""
    check_private_output(ws, lang, unmasked, out_dir)
    reports_dir = out_dir or ws.reports_dir
    sources = ReportSources.of_workspace(ws, findings_dir=findings_dir)
    lang = lang or ws.config["report"]["lang"]
    out = []
    with contextlib.ExitStack() as opened:
        ledger = calendar = None
        if with_ledger and dates and ws.ledger_path.exists():  # opened once for every date
            from auditor.ledger import Ledger
            from auditor.workdays import WorkCalendar

            ledger = opened.enter_context(Ledger(ws.ledger_path))
            calendar = WorkCalendar.of_workspace(ws.root)
        days = (
            _Day(
                date,
                reports_dir,
                lang,
                unmasked,
                ledger_view(ws, date, ledger, calendar) if with_ledger else None,
            )
            for date in dates
        )
        for date in _rendered(sources, days, min(worker_count(ws.config, workers), len(dates))):
            out.append(reports_dir / date / "index.html")
            if on_date:
                on_date(date)
            failpoints.reached("mid-report")
    from auditor.wecom.pull import pull_alarms

    render_overview(reports_dir, lang, ws.tz, [] if out_dir else pull_alarms(ws))
    return out


@dataclass(frozen=True)
class _Day:
    """One date to render and how: what a pool worker needs besides the sources."""

    date: str
    reports_dir: Path
    lang: str
    unmasked: bool
    ledger_view: Any  # the ledger's view as of the date (computed where the ledger is open), or None

    def render(self, sources: ReportSources) -> None:
        render_day(
            sources,
            self.date,
            self.reports_dir,
            lang=self.lang,
            unmasked=self.unmasked,
            ledger_view=self.ledger_view,
        )


def _rendered(sources: ReportSources, days: Iterable[_Day], workers: int) -> Iterator[str]:
    """Render each day, here or in a pool of ``workers``; yields each date, in order, once its pages
    are in place. The pool holds at most one day more than it has workers, so the ledger views made
    here for the days ahead stay few. A day that fails stops the run: days already running finish,
    and each date's folder is swapped in whole or not at all."""
    if workers <= 1:
        for day in days:
            day.render(sources)
            yield day.date
        return
    sources.ingested_files()  # read here once, sent with the sources
    pool = process_pool.fresh_pool(workers, _init_worker, (sources,))
    try:
        pending: deque[tuple[str, Future[None]]] = deque()
        for day in days:
            pending.append((day.date, pool.submit(_render_in_worker, day)))
            if len(pending) > workers:
                yield _finished(*pending.popleft())
        while pending:
            yield _finished(*pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finished(date: str, rendering: Future[None]) -> str:
    """``date`` once its rendering is over (raising what the worker raised)."""
    rendering.result()
    return date


_worker_sources: ReportSources | None = None
REPORT_WORKER_MODULES = (__name__,)  # what a report worker imports: this module (jinja2, the model)


def _init_worker(sources: ReportSources) -> None:
    """A report worker's start: the sources (groups, members, roster, the ingest ledger) come once."""
    global _worker_sources
    process_pool.exit_with_parent()
    _worker_sources = sources


def _render_in_worker(day: _Day) -> None:
    assert _worker_sources is not None, "a report worker starts with its sources"
    day.render(_worker_sources)
