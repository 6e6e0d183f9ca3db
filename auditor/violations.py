"""Violation handling (违规处理): reviews, the escalation ladder, actions and appeals.

Findings are what the detectors think; the ledger is what people decided. The ladder turns a
person's confirmed findings in a rolling window into the next recommended step:
warning (警告) → public criticism in the group (群内通报批评) → temporary removal with a re-join
ban (暂时移出社群) → termination review by HR (解除劳动合同审查). Appeal windows and
investigation deadlines are counted in statutory working days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from auditor import allowlist, lake
from auditor.errors import AuditorError
from auditor.ledger import STEPS, Action, Ledger, action_label, appeal_label, parse_label
from auditor.lexicon import SEVERITIES
from auditor.workdays import WorkCalendar
from auditor.workspace import Workspace

FINDING_COLUMNS = [
    "finding_id",
    "date",
    "roomid",
    "msgid",
    "sender",
    "category",
    "rule",
    "severity",
    "excerpt",
    "start",
    "end",
]


def load_findings(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Every finding in the lake by id (small columns only)."""
    out = {}
    for date in lake.dates(ws.findings_dir):
        path = lake.findings_path(ws.findings_dir, date)
        if path.exists():
            for row in lake.read_findings(path, FINDING_COLUMNS).to_pylist():
                out[row["finding_id"]] = row
    return out


def review_rows(
    ws: Workspace, *, status: str | None = None, group: str | None = None, category: str | None = None
) -> list[dict[str, Any]]:
    """Findings with their review status (pending until a reviewer decides), filtered.

    ``group`` matches a room id exactly or any part of the group's name.
    """
    names = {roomid: g["name"] for roomid, g in ws.groups().items()}
    with Ledger(ws.ledger_path) as ledger:
        reviews = ledger.reviews()
    current = load_findings(ws)
    # a reviewed finding a later audit no longer produces (its phrase was allowlisted, the rules
    # changed) stays listed from the facts the ledger kept, marked as gone
    gone = {
        fid: {"finding_id": fid, "start": None, "end": None, "excerpt": "", **r.details, "gone": True}
        for fid, r in reviews.items()
        if fid not in current
    }
    rows = []
    everything = [*({**f, "gone": False} for f in current.values()), *gone.values()]
    for f in sorted(everything, key=lambda f: (str(f["date"]), f["roomid"], f["finding_id"])):
        decided = reviews.get(f["finding_id"])
        row = {
            **f,
            "status": decided.decision if decided else "pending",
            "group": names.get(f["roomid"], f["roomid"]),
        }
        if (status and row["status"] != status) or (category and f["category"] != category):
            continue
        if group and group != f["roomid"] and group not in row["group"]:
            continue
        rows.append(row)
    return rows


def _known(findings: dict[str, dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
    unknown = [i for i in ids if i not in findings]
    if unknown:
        raise AuditorError(
            f"unknown finding id{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; nothing was recorded"
        )
    return [findings[i] for i in ids]


def _finding_facts(f: dict[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a reviewed finding: enough to list it after a re-audit dropped it
    (an allowlisted phrase silences the dismissed finding too)."""
    facts = {k: f[k] for k in ("roomid", "msgid", "sender", "category", "rule", "severity", "excerpt")}
    return facts | {"date": str(f["date"])}


@dataclass
class ReviewResult:
    findings: list[str]
    phrases: list[allowlist.Phrase] = field(default_factory=list)  # the allowlist lines proposed
    added: list[allowlist.Phrase] = field(default_factory=list)  # … and written (not there before)
    preview: allowlist.Preview | None = None
    written: bool = False


def review(
    ws: Workspace,
    ids: list[str],
    decision: str,
    *,
    by: str,
    reason: str,
    on: dt.date,
    allowlist_phrases: bool = False,
    group_only: bool = False,
    preview: bool = True,
    dry_run: bool = False,
) -> ReviewResult:
    """Record a decision on each finding (all or none); with ``allowlist_phrases``, learn each
    dismissed finding's phrase in its context (``group_only``: for its group alone), after a preview
    of the past findings the phrases would silence. ``dry_run`` writes nothing."""
    if not by.strip():
        raise AuditorError("--by must name the reviewer")
    if decision == "dismissed" and not reason.strip():
        raise AuditorError("a dismissal needs --reason")
    if group_only and not allowlist_phrases:
        raise AuditorError("--group scopes an allowlisted phrase: use it with --allowlist")
    all_findings = load_findings(ws)
    findings = _known(all_findings, list(dict.fromkeys(ids)))
    result = ReviewResult([f["finding_id"] for f in findings])
    if allowlist_phrases:
        texts = allowlist.message_texts(ws, findings)
        missing = [f["finding_id"] for f in findings if f["msgid"] is not None and f["msgid"] not in texts]
        if missing:
            raise AuditorError(
                f"the messages of {', '.join(missing)} are not in the lake; nothing was recorded"
            )
        result.phrases = [
            allowlist.phrase_for(f, texts.get(f["msgid"], ("", ""))[0], group_only) for f in findings
        ]
        if preview:
            result.preview = allowlist.preview(ws, result.phrases, all_findings)
            if result.preview.unsilenced_own:
                raise AuditorError(
                    f"the phrase of {', '.join(result.preview.unsilenced_own)} would not silence the finding "
                    "itself (the detector matched across its context); nothing was recorded. Dismiss it "
                    f"without --allowlist and add a phrase to W/dictionaries/{allowlist.FILE_NAME} by hand"
                )
    if dry_run:
        return result
    with Ledger(ws.ledger_path) as ledger:
        ledger.append(
            {
                "kind": "review",
                "effective": on.isoformat(),
                "actor": by,
                "reason": reason,
                "finding_id": f["finding_id"],
                "decision": decision,
                "subject": f["sender"],
                "details": _finding_facts(f),
            }
            for f in findings
        )
    result.added = allowlist.add(ws, result.phrases) if result.phrases else []
    result.written = True
    return result


@dataclass
class Recommendation:
    step: str | None  # None: nothing to do
    reasons: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)  # finding ids on the ladder
    already_taken: Action | None = None


def recommend(
    confirmed: list[dict[str, Any]], actions: list[Action], as_of: dt.date, cfg: dict[str, Any]
) -> Recommendation:
    """The next step for one person, from their confirmed findings and the actions taken."""
    voided = {fid for a in actions if a.overturned for fid in a.findings}
    since = as_of - dt.timedelta(days=cfg["window_days"])
    counted = sorted(
        (
            f
            for f in confirmed
            if since < dt.date.fromisoformat(f["date"]) <= as_of and f["finding_id"] not in voided
        ),
        key=lambda f: (f["date"], f["finding_id"]),
    )
    if not counted:
        return Recommendation(None)
    n = len(counted)
    worst = max((f["severity"] for f in counted), key=SEVERITIES.index)
    leak_floor = SEVERITIES.index(cfg["major_leak_severity"])
    grave = [
        f
        for f in counted
        if f["category"] in cfg["termination_categories"]
        or (f["category"] in cfg["major_leak_categories"] and SEVERITIES.index(f["severity"]) >= leak_floor)
    ]
    if grave:
        step, why = "termination_review", f"{grave[0]['category']} ({grave[0]['severity']}) confirmed"
    elif worst == "critical" or n >= cfg["removal_count"]:
        step, why = "temporary_removal", f"{n} confirmed, worst {worst}"
    elif worst == "high" or n >= cfg["repeat_count"]:
        step, why = "public_criticism", f"{n} confirmed, worst {worst}"
    else:
        step, why = "warning", f"{n} confirmed, worst {worst}"
    latest = max(f["date"] for f in counted)
    taken = [
        a
        for a in actions
        if not a.voided and a.effective >= latest and STEPS.index(a.step) >= STEPS.index(step)
    ]
    ids = [f["finding_id"] for f in counted]
    if taken:
        return Recommendation(
            None, [why, f"{taken[-1].step} already taken ({taken[-1].action_id})"], ids, taken[-1]
        )
    return Recommendation(step, [why], ids)


def person_states(
    ws: Workspace, as_of: dt.date, ledger: Ledger | None = None
) -> dict[str, tuple[Recommendation, list[Action]]]:
    """Recommendation and actions for every person with a confirmed finding or an action."""
    own = ledger is None
    ledger = ledger or Ledger(ws.ledger_path)
    try:
        confirmed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for finding_id, r in ledger.reviews().items():
            if r.decision == "confirmed":
                confirmed[r.details["sender"]].append({"finding_id": finding_id, **r.details})
        actions: dict[str, list[Action]] = defaultdict(list)
        for action in ledger.actions().values():
            actions[action.subject].append(action)
        cfg = ws.config["ladder"]
        return {
            person: (
                recommend(confirmed.get(person, []), actions.get(person, []), as_of, cfg),
                actions.get(person, []),
            )
            for person in sorted(set(confirmed) | set(actions))
        }
    finally:
        if own:
            ledger.close()


def record_action(
    ws: Workspace,
    user: str,
    step: str,
    *,
    by: str,
    reason: str,
    finding_ids: list[str],
    on: dt.date,
    calendar: WorkCalendar | None = None,
) -> str:
    calendar = calendar or WorkCalendar.of_workspace(ws.root)
    if step not in STEPS:
        raise AuditorError(f"STEP must be one of {', '.join(STEPS)}")
    if not by.strip():
        raise AuditorError("--by must name who carried out the step")
    all_findings = load_findings(ws)
    if user not in known_people(ws, all_findings):
        raise AuditorError(
            f"unknown person {user!r}: not in the roster, a group's members or any finding; "
            "nothing was recorded"
        )
    findings = _known(all_findings, list(dict.fromkeys(finding_ids)))
    others = [f["finding_id"] for f in findings if f["sender"] != user]
    if others:
        raise AuditorError(f"findings {', '.join(others)} are not {user}'s; nothing was recorded")
    latest = max((str(f["date"]) for f in findings), default=None)
    if latest is not None and on.isoformat() < latest:
        raise AuditorError(
            f"--on {on.isoformat()} is before the finding it answers ({latest}); nothing was recorded"
        )
    details: dict[str, Any] = {
        "findings": [f["finding_id"] for f in findings],
        "appeal_deadline": calendar.add_working_days(
            on, ws.config["appeals"]["filing_working_days"]
        ).isoformat(),
    }
    if step == "temporary_removal":
        details["rejoin_after"] = (on + dt.timedelta(days=ws.config["ladder"]["rejoin_ban_days"])).isoformat()
    with Ledger(ws.ledger_path) as ledger:
        [event_id] = ledger.append(
            [
                {
                    "kind": "action",
                    "effective": on.isoformat(),
                    "actor": by,
                    "reason": reason,
                    "subject": user,
                    "step": step,
                    "details": details,
                }
            ]
        )
    return action_label(event_id)


def known_people(ws: Workspace, findings: dict[str, dict[str, Any]]) -> set[str]:
    """Everyone an action can concern: the HR roster, group members and anyone with a finding."""
    return set(ws.roster()) | {m["userid"] for m in ws.members()} | {f["sender"] for f in findings.values()}


def void_action(ws: Workspace, action_id: str, *, by: str, reason: str, on: dt.date) -> list[str]:
    """Withdraw a mistaken action with an append-only ``action_voided`` event: it no longer counts as
    a step taken (its confirmed findings still count, unlike after an overturned appeal). Returns the
    ids of the findings it answered."""
    event_id = parse_label(action_id, "ACT")
    if not by.strip() or not reason.strip():
        raise AuditorError("voiding an action needs --by and --reason")
    with Ledger(ws.ledger_path) as ledger:
        action = ledger.actions().get(event_id)
        if action is None:
            raise AuditorError(f"no action {action_id}")
        if action.voided:
            raise AuditorError(f"{action_id} is already void ({action.void_reason})")
        if on.isoformat() < action.effective:
            raise AuditorError(f"a void cannot predate its action ({action.effective})")
        ledger.append(
            [
                {
                    "kind": "action_voided",
                    "effective": on.isoformat(),
                    "actor": by,
                    "reason": reason,
                    "subject": action.subject,
                    "ref": event_id,
                }
            ]
        )
    return action.findings


def file_appeal(
    ws: Workspace,
    action_id: str,
    *,
    by: str,
    reason: str,
    on: dt.date,
    calendar: WorkCalendar | None = None,
) -> tuple[str, str]:
    """Returns (appeal id, investigation deadline). Refused after the filing window, with the deadline."""
    calendar = calendar or WorkCalendar.of_workspace(ws.root)
    event_id = parse_label(action_id, "ACT")
    if not reason.strip():
        raise AuditorError("an appeal needs --reason")
    with Ledger(ws.ledger_path) as ledger:
        action = ledger.actions().get(event_id)
        if action is None:
            raise AuditorError(f"no action {action_id}")
        if by != action.subject:
            raise AuditorError(f"only {action.subject}, whom {action_id} concerns, can appeal it")
        if action.voided:
            raise AuditorError(f"{action_id} is already void")
        open_ = [
            a for a in ledger.appeals().values() if a.action_id == action.action_id and a.outcome is None
        ]
        if open_:
            raise AuditorError(f"{action_id} already has an open appeal: {open_[0].appeal_id}")
        filing = ws.config["appeals"]["filing_working_days"]
        deadline = calendar.add_working_days(dt.date.fromisoformat(action.effective), filing)
        if on > deadline:
            raise AuditorError(
                f"appeal refused: the filing window for {action_id} ({filing} working days after "
                f"{action.effective}) closed on {deadline.isoformat()}"
            )
        if on < dt.date.fromisoformat(action.effective):
            raise AuditorError(f"an appeal cannot predate its action ({action.effective})")
        answer_by = calendar.add_working_days(
            on, ws.config["appeals"]["investigation_working_days"]
        ).isoformat()
        [appeal_id] = ledger.append(
            [
                {
                    "kind": "appeal_filed",
                    "effective": on.isoformat(),
                    "actor": by,
                    "reason": reason,
                    "subject": action.subject,
                    "ref": event_id,
                    "details": {"investigation_deadline": answer_by, "filing_deadline": deadline.isoformat()},
                }
            ]
        )
    return appeal_label(appeal_id), answer_by


def resolve_appeal(ws: Workspace, appeal: str, outcome: str, *, by: str, reason: str, on: dt.date) -> str:
    """Record the outcome; returns the id of the action appealed against."""
    event_id = parse_label(appeal, "APL")
    if outcome not in ("upheld", "overturned"):
        raise AuditorError("--outcome must be upheld or overturned")
    if not reason.strip() or not by.strip():
        raise AuditorError("resolving an appeal needs --by and --reason")
    with Ledger(ws.ledger_path) as ledger:
        found = ledger.appeals().get(event_id)
        if found is None:
            raise AuditorError(f"no appeal {appeal}")
        if found.outcome is not None:
            raise AuditorError(f"{appeal} was already resolved ({found.outcome}) on {found.resolved}")
        ledger.append(
            [
                {
                    "kind": "appeal_resolved",
                    "effective": on.isoformat(),
                    "actor": by,
                    "reason": reason,
                    "subject": found.subject,
                    "ref": event_id,
                    "outcome": outcome,
                }
            ]
        )
    return found.action_id


def _workflow(
    ws: Workspace, ids: list[str], kind: str, *, by: str, reason: str, on: dt.date, details: dict[str, Any]
) -> list[str]:
    """Append one workflow event per finding (all or none); unknown ids write nothing."""
    if not by.strip():
        raise AuditorError("the event needs the name of who acts")
    findings = _known(load_findings(ws), list(dict.fromkeys(ids)))
    with Ledger(ws.ledger_path) as ledger:
        ledger.append(
            {
                "kind": kind,
                "effective": on.isoformat(),
                "actor": by,
                "reason": reason,
                "finding_id": f["finding_id"],
                "subject": f["sender"],
                "details": details,
            }
            for f in findings
        )
    return [f["finding_id"] for f in findings]


def assign(
    ws: Workspace, ids: list[str], assignee: str, *, by: str, on: dt.date, reason: str = ""
) -> list[str]:
    """Give findings to a reviewer (claiming is ``assignee == by``); the latest assignment wins."""
    if not assignee.strip():
        raise AuditorError("an assignment needs the reviewer's name")
    return _workflow(ws, ids, "assign", by=by, reason=reason, on=on, details={"assignee": assignee})


def escalate(ws: Workspace, ids: list[str], *, by: str, reason: str, on: dt.date) -> list[str]:
    """Flag findings for an officer's attention; the reason says why."""
    if not reason.strip():
        raise AuditorError("an escalation needs a reason")
    return _workflow(ws, ids, "escalate", by=by, reason=reason, on=on, details={})


def acknowledge(ws: Workspace, ids: list[str], *, by: str, on: dt.date, reason: str = "") -> list[str]:
    """A group owner or admin records having read findings of their group (二.2 群主职责)."""
    return _workflow(ws, ids, "acknowledge", by=by, reason=reason, on=on, details={})
