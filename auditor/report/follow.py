"""Pages follow decisions: which reported dates a review, action or appeal changes, and which pages
are older than the ledger.

A decision command re-renders the dates it touches at once (under the workspace lock, through
``render.report``, the function ``auditor report`` uses). Every day's ``summary.json`` records the
newest ledger event its pages show, so the nightly job re-renders every page a later event made
stale — also the ones a decision taken while another run held the lock could not refresh.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from auditor.errors import AuditorError
from auditor.ledger import Ledger, parse_label
from auditor.report.render import report
from auditor.violations import load_findings
from auditor.workspace import Workspace


def reported_dates(ws: Workspace) -> dict[str, dict]:
    """Every date with shared pages, with its summary.json."""
    out = {}
    for path in sorted(ws.reports_dir.glob("*/summary.json")):
        if not path.parent.name.startswith("."):
            try:
                out[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                out[path.parent.name] = {}  # unreadable: render it again
    return out


def touched_dates(ws: Workspace, finding_dates: Iterable[str]) -> list[str]:
    """Reported dates a decision about findings of ``finding_dates`` changes: the findings' own pages
    and the ladder window after them (a confirmed finding moves its sender's recommended step on the
    pages of the following ``ladder.window_days``), plus the newest page, whose index lists the open
    appeals."""
    reported = sorted(reported_dates(ws))
    if not reported:
        return []
    window = dt.timedelta(days=ws.config["ladder"]["window_days"])
    spans = [
        (day, (dt.date.fromisoformat(day) + window).isoformat()) for day in {str(d) for d in finding_dates}
    ]
    touched = {d for d in reported if any(first <= d <= last for first, last in spans)}
    touched.add(reported[-1])
    return sorted(touched)


def stale_dates(ws: Workspace) -> list[str]:
    """Reported dates whose pages were rendered before the ledger's newest event."""
    if not ws.ledger_path.exists():
        return []
    with Ledger(ws.ledger_path) as ledger:
        newest = ledger.last_event_id()
    return [d for d, summary in reported_dates(ws).items() if summary.get("ledger_event_id", 0) != newest]


def render_stale(ws: Workspace) -> list[str]:
    """Re-render every stale date (the caller holds the workspace lock: the nightly job); returns them."""
    dates = stale_dates(ws)
    if dates:
        report(ws, dates)
    return dates


def refresh(ws: Workspace, dates: list[str]) -> list[Path]:
    """Re-render ``dates`` in W/reports under the workspace lock; returns the index pages written."""
    if not dates:
        return []
    with ws.locked():
        return report(ws, dates)


def after_findings(ws: Workspace, finding_ids: Iterable[str]) -> tuple[list[Path], str | None]:
    """Refresh the pages a recorded decision about these findings changes; returns (pages, why not).
    The decision stands either way: a page left stale here is refreshed by the next nightly run."""
    try:
        findings = load_findings(ws)
        dates = [str(findings[i]["date"]) for i in finding_ids if i in findings]
        return refresh(ws, touched_dates(ws, dates)), None
    except AuditorError as exc:
        return [], f"pages not refreshed now ({exc}); the next nightly run refreshes them"


def after_action(ws: Workspace, action_id: str) -> tuple[list[Path], str | None]:
    """``after_findings`` for a decision about an action (recorded, voided, appealed, resolved)."""
    with Ledger(ws.ledger_path) as ledger:
        action = ledger.actions().get(parse_label(action_id, "ACT"))
    return after_findings(ws, action.findings if action else [])
