"""Who gets which notice, sending it once, and the nightly stage.

A notice's id is a hash of its kind, channel, recipient, address and what it reports (the group, its
dates and finding ids; or the action). Before sending, ids the ledger already records as
``notice_sent`` are skipped; the event is appended only *after* the channel accepted the message, so
a re-run never repeats a delivered notice and a failed one is tried again (a crash between the two
can repeat one message: at least once, never silently lost).

Summaries whose delivery failed stay in ``W/state/notify-pending.json`` (the run's dates) and are
retried by the next nightly run or ``auditor notify run``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor import atomic, lake
from auditor.errors import AuditorError
from auditor.ledger import Ledger, parse_label
from auditor.lexicon import SEVERITIES
from auditor.masking import mask_text
from auditor.notify.channels import DeliveryError
from auditor.notify.templates import render
from auditor.report.labels import LABELS
from auditor.report.model import display_name, page_name
from auditor.violations import load_findings
from auditor.wecom.messages import sender_kind
from auditor.workspace import Workspace

NOTICE_STEPS = ("warning", "public_criticism")  # the steps a person is sent a notice about
PENDING_FILE = "notify-pending.json"
ROLES = {"zh": {"owner": "群主", "admin": "管理员"}, "en": {"owner": "owner", "admin": "admin"}}
SYSTEM_ACTOR = "auditor"
WECOM_USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # what WeCom allows in a userid


class Channel(Protocol):
    name: str

    def send(self, address: str, subject: str, body: str, *, link: str = "") -> None: ...


@dataclass(frozen=True)
class Notice:
    kind: str  # group_summary, warning or public_criticism (the template)
    channel: str  # email or wecom
    recipient: str  # the WeCom userid of the person
    address: str | None  # the e-mail address or WeCom userid; None: none known (skip_reason)
    about: dict[str, Any]  # what it reports: part of the id
    subject: str
    body: str
    link: str = ""  # an http(s) address of the page it is about, if the reports are served
    ref: int | None = None  # the action's ledger event
    skip_reason: str = ""

    @property
    def notice_id(self) -> str:
        key = [self.kind, self.channel, self.recipient, self.address, self.about]
        return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


@dataclass
class Delivery:
    notice: Notice
    status: str  # sent, already-sent, skipped, failed, dry-run
    error: str = ""

    def record(self) -> dict[str, Any]:
        n = self.notice
        out = {
            "notice_id": n.notice_id,
            "kind": n.kind,
            "channel": n.channel,
            "recipient": n.recipient,
            "status": self.status,
        }
        return out | ({"error": self.error} if self.error else {})


@dataclass
class Outcome:
    deliveries: list[Delivery] = field(default_factory=list)
    pending: list[list[str]] = field(default_factory=list)  # summary batches still to retry

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "failed"]

    def summary(self) -> dict[str, Any]:
        counts = Counter(d.status for d in self.deliveries)
        return {
            "status": "failed" if self.failed else "ok",
            **{
                status.replace("-", "_"): counts[status]
                for status in ("sent", "already-sent", "skipped", "failed")
            },
            "pending": self.pending,
            "deliveries": [d.record() for d in self.deliveries],
        }


# --- what to send ------------------------------------------------------------------------------


def _address(channel: str, userid: str, roster: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
    if sender_kind(userid) != "internal":
        return None, "not a member of staff (external contact or robot)"
    if channel == "wecom":
        # touser takes "a|b" as two people: an id from the group data is used only when it is one id
        return (userid, "") if WECOM_USERID.fullmatch(userid) else (None, "not a valid WeCom userid")
    email = (roster.get(userid) or {}).get("email")
    return (email, "") if email else (None, "no e-mail address in the roster")


def page_link(ws: Workspace, date: str, roomid: str) -> str:
    """The group's page of ``date``: under ``notify.base_url`` when set, else its path in the workspace."""
    base = ws.config["notify"]["base_url"].rstrip("/")
    relative = f"{date}/groups/{page_name(roomid)}"
    return f"{base}/{relative}" if base else str(ws.reports_dir / relative)


def audited(ws: Workspace, dates: list[str]) -> None:
    missing = [d for d in dates if not lake.findings_path(ws.findings_dir, d).exists()]
    if missing:
        raise AuditorError(f"not audited yet: {', '.join(missing)} (run `auditor audit` first)")


def plan_summaries(ws: Workspace, dates: list[str], channels: list[str], lang: str) -> list[Notice]:
    """One summary per group with findings on ``dates``, for its owner and each admin, per channel."""
    labels, wanted = LABELS[lang], set(dates)
    groups, roster = ws.groups(), ws.roster()
    with Ledger(ws.ledger_path) as ledger:
        reviews = ledger.reviews()
    by_room: dict[str, list[dict[str, Any]]] = {}
    for f in load_findings(ws).values():
        if str(f["date"]) in wanted:
            by_room.setdefault(f["roomid"], []).append(f)
    notices = []
    for roomid in sorted(by_room):
        group = groups.get(roomid)
        if group is None:  # one-to-one chats and groups without facts have no owner to tell
            continue
        findings = sorted(by_room[roomid], key=lambda f: f["finding_id"])
        group_dates = sorted({str(f["date"]) for f in findings})
        categories = Counter(f["category"] for f in findings)
        severities = Counter(f["severity"] for f in findings)
        header = {
            "dates": group_dates,
            "total": len(findings),
            "pending": sum(1 for f in findings if f["finding_id"] not in reviews),
        }
        links = [(d, page_link(ws, d, roomid)) for d in group_dates]
        about = {"roomid": roomid, "dates": group_dates, "findings": [f["finding_id"] for f in findings]}
        people = [(group["owner"], "owner")] + [(a, "admin") for a in group["admins"]]
        seen: set[str] = set()
        for userid, role in people:
            if not userid or userid in seen:
                continue
            seen.add(userid)
            body = {
                "recipient_name": display_name(roster, userid),
                "group_name": group["name"] or roomid,
                "group_category": labels.get(group["category"], group["category"]),
                "role": ROLES[lang][role],
                "by_category": [
                    (labels.get(c, c), n) for c, n in sorted(categories.items(), key=lambda i: (-i[1], i[0]))
                ],
                "by_severity": [(labels[s], severities[s]) for s in reversed(SEVERITIES) if severities[s]],
                "links": links,
            }
            text = render("group_summary", lang, header, body)
            link = links[-1][1] if links[-1][1].startswith(("http://", "https://")) else ""
            for channel in channels:
                address, why = _address(channel, userid, roster)
                notices.append(
                    Notice(
                        "group_summary",
                        channel,
                        userid,
                        address,
                        about,
                        text.subject,
                        text.body,
                        link,
                        skip_reason=why,
                    )
                )
    return notices


def plan_action_notice(ws: Workspace, action_id: str, channels: list[str], lang: str) -> list[Notice]:
    """The notice to the person a warning or public criticism concerns, per channel."""
    labels = LABELS[lang]
    event_id = parse_label(action_id, "ACT")
    with Ledger(ws.ledger_path) as ledger:
        action = ledger.actions().get(event_id)
        reviews = ledger.reviews()
    if action is None:
        raise AuditorError(f"no action {action_id}")
    if action.step not in NOTICE_STEPS:
        raise AuditorError(
            f"{action_id} is a {action.step}: notices are sent for {' and '.join(NOTICE_STEPS)} only"
        )
    if action.voided:
        raise AuditorError(f"{action_id} is void ({action.void_reason}): no notice is sent")
    current, names, roster = load_findings(ws), {r: g["name"] for r, g in ws.groups().items()}, ws.roster()
    findings = []
    for fid in action.findings:
        facts = current.get(fid) or (reviews[fid].details if fid in reviews else None)
        if facts is None:
            continue
        findings.append(
            {
                "date": str(facts["date"]),
                "group": names.get(facts["roomid"]) or facts["roomid"] or labels["one_to_one"],
                "category": labels.get(facts["category"], facts["category"]),
                "severity": labels.get(facts["severity"], facts["severity"]),
                "excerpt": mask_text(facts["excerpt"]),
            }
        )
    header = {"action_id": action.action_id, "effective": action.effective}
    body = {
        "recipient_name": display_name(roster, action.subject),
        "findings": sorted(findings, key=lambda f: f["date"]),
        "reason": action.reason,
        "appeal_deadline": action.details.get("appeal_deadline", ""),
    }
    text = render(action.step, lang, header, body)
    about = {"action": action.action_id, "step": action.step, "findings": action.findings, "lang": lang}
    notices = []
    for channel in channels:
        address, why = _address(channel, action.subject, roster)
        notices.append(
            Notice(
                action.step,
                channel,
                action.subject,
                address,
                about,
                text.subject,
                text.body,
                ref=event_id,
                skip_reason=why,
            )
        )
    return notices


# --- sending -----------------------------------------------------------------------------------


def open_channel(ws: Workspace, name: str) -> Channel:
    from auditor.notify.smtp import SmtpChannel
    from auditor.notify.wecom import WeComChannel

    settings = ws.config["notify"]
    return SmtpChannel(settings["smtp"]) if name == "email" else WeComChannel(settings["wecom"])


@contextlib.contextmanager
def opened_channels() -> Iterator[dict[str, Channel]]:
    """The channels ``deliver`` opens on demand, closed (HTTP connections) when the caller is done."""
    channels: dict[str, Channel] = {}
    try:
        yield channels
    finally:
        for channel in channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()


def deliver(
    ws: Workspace,
    notices: list[Notice],
    *,
    dry_run: bool = False,
    actor: str = SYSTEM_ACTOR,
    channels: dict[str, Channel] | None = None,
) -> list[Delivery]:
    """Send each notice not sent before and record it; channels open only when something goes out."""
    channels = {} if channels is None else channels
    on = dt.datetime.now(ws.tz).date().isoformat()
    out = []
    with Ledger(ws.ledger_path) as ledger:
        sent = ledger.sent_notices()
        for notice in notices:
            if notice.notice_id in sent:
                out.append(Delivery(notice, "already-sent"))
            elif notice.address is None:
                out.append(Delivery(notice, "skipped", notice.skip_reason))
            elif dry_run:
                out.append(Delivery(notice, "dry-run"))
            else:
                if notice.channel not in channels:
                    channels[notice.channel] = open_channel(ws, notice.channel)
                try:
                    channels[notice.channel].send(
                        notice.address, notice.subject, notice.body, link=notice.link
                    )
                except DeliveryError as exc:
                    out.append(Delivery(notice, "skipped" if exc.permanent else "failed", str(exc)))
                    continue
                ledger.append([_event(notice, actor, on)])
                sent.add(notice.notice_id)
                out.append(Delivery(notice, "sent"))
    return out


def _event(notice: Notice, actor: str, on: str) -> dict[str, Any]:
    details = {
        "notice_id": notice.notice_id,
        "notice_kind": notice.kind,
        "channel": notice.channel,
        "address": notice.address,
        "about": notice.about,
    }
    return {
        "kind": "notice_sent",
        "effective": on,
        "actor": actor,
        "subject": notice.recipient,
        "ref": notice.ref,
        "details": details,
    }


def send_action_notice(
    ws: Workspace,
    action_id: str,
    *,
    channel: str | None = None,
    lang: str | None = None,
    dry_run: bool = False,
    actor: str = SYSTEM_ACTOR,
) -> list[Delivery]:
    """``auditor notify send-notice``: the notice about a warning or public criticism, once per channel."""
    settings = ws.config["notify"]
    channels = [channel] if channel else settings["channels"]
    if not channels:
        raise AuditorError("no channel: pass --channel or set notify.channels in auditor.toml")
    notices = plan_action_notice(ws, action_id, channels, lang or settings["lang"])
    with opened_channels() as opened:
        return deliver(ws, notices, dry_run=dry_run, actor=actor, channels=opened)


# --- summaries after the nightly run -------------------------------------------------------------


def pending_batches(ws: Workspace) -> list[list[str]]:
    path = ws.state_dir / PENDING_FILE
    if not path.exists():
        return []
    try:
        batches = json.loads(path.read_text(encoding="utf-8"))["batches"]
        return [sorted(str(d) for d in b) for b in batches if isinstance(b, list)]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # unreadable: the batches' dates are re-sent by hand (`notify run --date`)


def _write_pending(ws: Workspace, batches: list[list[str]]) -> None:
    atomic.write_text(ws.state_dir / PENDING_FILE, json.dumps({"batches": batches}, indent=1) + "\n")


def run_summaries(ws: Workspace, dates: list[str], *, dry_run: bool = False) -> Outcome:
    """Group summaries for ``dates`` plus every batch an earlier run could not deliver. The caller
    holds the workspace lock (W/state is written)."""
    settings = ws.config["notify"]
    if not settings["channels"]:
        raise AuditorError("no channel: set notify.channels in auditor.toml")
    audited(ws, dates)
    batches = pending_batches(ws)
    if dates and sorted(dates) not in batches:
        batches.append(sorted(dates))
    outcome = Outcome()
    with opened_channels() as channels:
        for batch in batches:
            present = [d for d in batch if lake.findings_path(ws.findings_dir, d).exists()]
            notices = plan_summaries(ws, present, settings["channels"], settings["lang"])
            done = deliver(ws, notices, dry_run=dry_run, channels=channels)
            outcome.deliveries += done
            if any(d.status == "failed" for d in done):
                outcome.pending.append(batch)
    if not dry_run:
        _write_pending(ws, outcome.pending)
    return outcome


def nightly_stage(ws: Workspace, dates: list[str], log: logging.Logger) -> dict[str, Any]:
    """The nightly job's notify stage. It never fails the run: whatever goes wrong is logged and
    returned for the run manifest, and the dates are kept for the next run to retry."""
    if not ws.config["notify"]["enabled"]:
        return {"status": "disabled"}
    try:
        outcome = run_summaries(ws, dates)
    except Exception as exc:  # a delivery problem must never cost the night's backup
        log.error("notify: %s: %s", type(exc).__name__, exc)
        with contextlib.suppress(Exception):
            batches = pending_batches(ws)
            if dates and sorted(dates) not in batches:
                _write_pending(ws, [*batches, sorted(dates)])
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "pending": pending_batches(ws)}
    for d in outcome.failed:
        log.warning(
            "notify: %s to %s by %s failed: %s", d.notice.kind, d.notice.recipient, d.notice.channel, d.error
        )
    summary = outcome.summary()
    log.info(
        "notify: %(sent)d sent, %(already_sent)d already sent, %(skipped)d skipped, %(failed)d failed",
        summary,
    )
    return summary
