"""What the ledger adds to a day's report: review status, recommended steps, history, appeals."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from typing import Any

from auditor.ledger import Ledger
from auditor.violations import person_states
from auditor.workdays import WorkCalendar
from auditor.workspace import Workspace


class LedgerView:
    """The ledger's state as of the report date, ready to annotate a built day."""

    def __init__(
        self,
        ws: Workspace,
        as_of: dt.date,
        ledger: Ledger | None = None,
        calendar: WorkCalendar | None = None,
    ) -> None:
        """``ledger`` and ``calendar`` opened once serve every date of a report run (opening the
        ledger runs SQLite's integrity check); without them they are opened here."""
        with contextlib.nullcontext(ledger) if ledger else Ledger(ws.ledger_path) as ledger:
            self.reviews = ledger.reviews()
            self.appeals = list(ledger.appeals().values())
            self.states = person_states(ws, as_of, ledger)
            self.last_event_id = ledger.last_event_id()  # summary.json records it: see report/follow.py
        self.calendar = calendar or WorkCalendar.of_workspace(ws.root)
        self.as_of = as_of
        self.index: dict[str, Any] | None = None

    def _history(self, userid: str) -> list[dict[str, Any]]:
        """Steps taken for a person, with their appeals; the template words them."""
        return [
            {
                "date": action.effective,
                "step": action.step,
                "action_id": action.action_id,
                "actor": action.actor,
                "voided": action.voided,
                "void_reason": action.void_reason,
                "appeals": [
                    (a.appeal_id, a.outcome or "open")
                    for a in self.appeals
                    if a.action_id == action.action_id
                ],
            }
            for action in self.states.get(userid, (None, []))[1]
        ]

    def _estimated_years(self, *deadlines: str) -> list[int]:
        """Years of the shown deadlines whose working days are an estimate (no published schedule)."""
        years = {dt.date.fromisoformat(d).year for d in deadlines if d}
        return sorted(y for y in years if self.calendar.is_estimated(y))

    def annotate(self, day: dict[str, Any]) -> None:
        pending: Counter = Counter()
        for group in day["groups"]:
            for finding in group.findings:
                review = self.reviews.get(finding["finding_id"])
                finding["review_status"] = review.decision if review else "pending"
                if review is None:
                    pending[group.roomid] += 1
            for person in group.persons:
                recommendation = self.states.get(person["userid"], (None, []))[0]
                person["recommended"] = (
                    recommendation.step if recommendation and recommendation.step else "no_action"
                )
                person["history"] = self._history(person["userid"])
            shown = {f["finding_id"] for f in group.findings}
            group.ledger = {
                "pending": pending[group.roomid],
                # a dismissal whose phrase was allowlisted silences its own finding at the next audit;
                # the page keeps it, as dismissed, from what the ledger recorded
                "dismissed_gone": [
                    {"category": r.details["category"], "excerpt": r.details.get("excerpt", "")}
                    | {"actor": r.actor, "effective": r.effective, "reason": r.reason}
                    for fid, r in sorted(self.reviews.items())
                    if r.decision == "dismissed"
                    and fid not in shown
                    and r.details.get("roomid") == group.roomid
                    and str(r.details.get("date")) == str(day["date"])
                ],
            }
        open_appeals = []
        for appeal in self.appeals:
            if appeal.outcome is None:
                step = next(
                    (
                        a.step
                        for _, actions in self.states.values()
                        for a in actions
                        if a.action_id == appeal.action_id
                    ),
                    "",
                )
                open_appeals.append(
                    {
                        "appeal_id": appeal.appeal_id,
                        "who": appeal.subject,
                        "step": step,
                        "deadline": appeal.investigation_deadline,
                        "overdue": self.as_of > dt.date.fromisoformat(appeal.investigation_deadline),
                    }
                )
        self.index = {
            "pending_by_room": dict(pending),
            "pending_total": sum(pending.values()),
            "appeals": open_appeals,
            "overdue_appeals": sum(a["overdue"] for a in open_appeals),
            "estimated_years": self._estimated_years(*(a["deadline"] for a in open_appeals)),
        }
