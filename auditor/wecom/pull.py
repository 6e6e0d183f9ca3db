"""``auditor pull``: the archive straight from WeCom's Finance SDK into ``W/inbox``.

WeCom keeps archived messages only a few days, so the puller's one job is to never lose a page:
pages of up to 1,000 records are read from the saved ``seq``, each record's random key is
unwrapped with the key ring and the record decrypted, and the page is written to
``W/inbox/wecom/`` atomically *before* the checkpoint (``W/state/pull.json``, atomic, never
moving backwards) advances. A crash in between re-pulls the page; ingest counts its records as
duplicates by ``msgid``. Records that cannot be decrypted are kept encrypted, with the reason, in
``W/quarantine/`` until ``auditor pull --redecrypt`` succeeds with the right key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import atomic, failpoints
from auditor.errors import EXIT_DATA, EXIT_FAILURE, EXIT_LOCKED, EXIT_USAGE, AuditorError
from auditor.wecom.keys import KeyRing, RandomKeyError
from auditor.wecom.sdk import (
    ERR_CERTIFICATE,
    ERR_EXPIRED,
    ERR_IP_NOT_ALLOWED,
    ERR_NETWORK,
    ERR_PARAMETER,
    ERR_SYSTEM,
    CtypesSdk,
    FinanceSdk,
    SdkError,
)
from auditor.workspace import Workspace

log = logging.getLogger("auditor")

PAGE_LIMIT = 1000  # the most GetChatData returns per call
RETRY_DELAYS = (2, 4, 8, 16, 32)  # seconds between attempts on network and system errors
RETRYABLE = {ERR_NETWORK, ERR_SYSTEM}
MAX_STALE_PAGES = 3  # pages in a row holding only records at or below the checkpoint
MAX_MEDIA_BYTES = 1 << 30  # no archived file is larger (WeCom's own limit is lower)
CONFIG_FIXES = {
    ERR_PARAMETER: "check wecom.corp_id and the archive secret",
    ERR_IP_NOT_ALLOWED: "add this server's public IP address to the archive's trusted IPs "
    "(admin console → 管理工具 → 会话内容存档 → 可信IP地址)",
    ERR_CERTIFICATE: "the SDK rejected the certificate: check the archive secret and that the public keys "
    "set in the admin console match wecom.private_keys",
}


class PullError(AuditorError):
    """The pull stopped; ``alarm`` is set when data is being lost (expired pages)."""

    def __init__(self, message: str, exit_code: int, alarm: str | None = None) -> None:
        super().__init__(message, exit_code)
        self.alarm = alarm


@dataclass
class Settings:
    corp_id: str
    secret: str
    library: str
    proxy: str
    proxy_password: str
    timeout: int
    media: str
    private_keys: dict[str, str]


def configured(ws: Workspace) -> bool:
    return bool(ws.config["wecom"]["corp_id"])


def _secret(ws: Workspace, env_name: str, file_name: str, what: str) -> str:
    if env_name and os.environ.get(env_name, "").strip():
        return os.environ[env_name].strip()
    if file_name:
        path = Path(file_name) if Path(file_name).is_absolute() else ws.root / file_name
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditorError(f"{what}: cannot read the secret file {path}: {exc}") from None
        if secret:
            return secret
    where = " or ".join(
        x
        for x in (env_name and f"the environment variable {env_name}", file_name and f"the file {file_name}")
        if x
    )
    raise AuditorError(f"{what}: no secret found; set {where or 'wecom.secret_env'}")


def settings(ws: Workspace) -> Settings:
    cfg = ws.config["wecom"]
    if not cfg["corp_id"]:
        raise AuditorError("auditor.toml has no [wecom] corp_id: pulling from WeCom is not configured")
    return Settings(
        corp_id=cfg["corp_id"],
        secret=_secret(ws, cfg["secret_env"], cfg["secret_file"], "the archive secret"),
        library=cfg["sdk_library"],
        proxy=cfg["proxy"],
        proxy_password=cfg["proxy_password"],
        timeout=cfg["timeout_s"],
        media=cfg["media"],
        private_keys=cfg["private_keys"],
    )


def open_ctypes_sdk(s: Settings) -> FinanceSdk:
    return CtypesSdk(
        s.library, s.corp_id, s.secret, proxy=s.proxy, password=s.proxy_password, timeout=s.timeout
    )


# --- the checkpoint --------------------------------------------------------------------------------------


def state_path(ws: Workspace) -> Path:
    return ws.state_dir / "pull.json"


def load_state(ws: Workspace) -> dict[str, Any]:
    path = state_path(ws)
    if not path.exists():
        return {"seq": 0, "last_success": None, "rooms": [], "alarms": []}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        int(state["seq"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditorError(
            f"{path} is damaged ({exc}): restore it from a backup, or write the last seq pulled as "
            '{"seq": N}; a lower seq only re-pulls what ingest then counts as duplicates'
        ) from None
    return {"last_success": None, "rooms": [], "alarms": []} | state


def save_state(ws: Workspace, state: dict[str, Any]) -> None:
    """Write the checkpoint atomically; its seq never moves backwards, whatever the caller passes."""
    on_disk = load_state(ws)
    state = {**state, "seq": max(int(state["seq"]), int(on_disk["seq"]))}
    atomic.write_text(state_path(ws), json.dumps(state, ensure_ascii=False, indent=2) + "\n")


def pull_alarms(ws: Workspace) -> list[str]:
    """The alarms of the last pull attempt, for the report index."""
    return list(load_state(ws)["alarms"]) if state_path(ws).exists() else []


def stale_alarm(ws: Workspace, now: dt.datetime | None = None) -> str | None:
    """An alarm when the last successful pull is older than wecom.max_pull_age_days: WeCom is
    deleting what was never pulled."""
    last = load_state(ws)["last_success"]
    if last is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    age = now - dt.datetime.fromisoformat(last)
    limit = ws.config["wecom"]["max_pull_age_days"]
    if age <= dt.timedelta(days=limit):
        return None
    return (
        f"the last successful pull from WeCom was {age.days} days ago ({last}), more than "
        f"wecom.max_pull_age_days = {limit}: WeCom keeps messages only a few days, "
        "unpulled ones are being lost"
    )


# --- pulling ---------------------------------------------------------------------------------------------


@dataclass
class PullReport:
    seq_from: int = 0
    seq_to: int = 0
    pages: int = 0
    records: int = 0
    decrypted: int = 0
    quarantined: int = 0
    overlapping: int = 0  # records at or below the checkpoint that a page repeated
    duplicate_msgids: int = 0  # a msgid this pull already wrote, served again under a later seq
    media_downloaded: int = 0
    media_failed: list[dict[str, str]] = field(default_factory=list)
    groups: int = 0
    group_errors: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["media_failed"] = len(self.media_failed)
        return out


def _raise_for(exc: SdkError, seq: int) -> None:
    if exc.code in CONFIG_FIXES:
        raise PullError(f"{exc}: {CONFIG_FIXES[exc.code]}", EXIT_USAGE) from None
    if exc.code == ERR_EXPIRED:
        alarm = (
            f"WeCom reports the archive expired (10010) at seq {seq}: messages after the last pull were "
            "deleted before they could be pulled"
        )
        raise PullError(alarm, EXIT_DATA, alarm) from None


def _with_retry(call: Callable[[], Any], what: str, sleep: Callable[[float], None]) -> Any:
    """Network and system errors are retried with backoff, then exit 75 (try again later)."""
    for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            return call()
        except SdkError as exc:
            if exc.code not in RETRYABLE:
                raise
            if delay is None:
                raise PullError(
                    f"{what}: {exc}, still after {attempt} attempts: check the network and wecom.proxy; "
                    "the next run continues from the checkpoint",
                    EXIT_LOCKED,
                ) from None
            log.warning("%s: %s; retrying in %ds (attempt %d)", what, exc, delay, attempt)
            sleep(delay)
    raise AssertionError("unreachable")


def _chat_page(sdk: FinanceSdk, seq: int, sleep: Callable[[float], None]) -> list[dict[str, Any]]:
    """One GetChatData page; the JSON's own errcode counts even when the call returned 0."""

    def call() -> list[dict[str, Any]]:
        raw = sdk.get_chat_data(seq, PAGE_LIMIT)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SdkError(ERR_SYSTEM, "GetChatData", f"unreadable response ({exc})") from None
        if not isinstance(doc, dict):
            raise SdkError(ERR_SYSTEM, "GetChatData", "response is not a JSON object")
        errcode = doc.get("errcode", 0)
        if errcode != 0:
            code = errcode if isinstance(errcode, int) else ERR_SYSTEM
            raise SdkError(code, "GetChatData", f"errcode in the response: {doc.get('errmsg', '')}")
        items = doc.get("chatdata", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SdkError(ERR_SYSTEM, "GetChatData", "'chatdata' is not a list of objects")
        return items

    try:
        return _with_retry(call, f"GetChatData from seq {seq}", sleep)
    except SdkError as exc:
        _raise_for(exc, seq)
        raise PullError(f"{exc} at seq {seq}", EXIT_FAILURE) from None


def decrypt_record(sdk: FinanceSdk, ring: KeyRing, item: dict[str, Any]) -> dict[str, Any]:
    """One chatdata item → the decrypted record with its ``seq`` (the plaintext has none).

    Raises ValueError (RandomKeyError, SdkError's message) with the reason it stays encrypted.
    """
    seq = item.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("chatdata item has no integer seq")
    random_key = ring.random_key(item.get("publickey_ver"), item.get("encrypt_random_key"))
    message = item.get("encrypt_chat_msg")
    if not isinstance(message, str):
        raise ValueError("encrypt_chat_msg is missing or not a string")
    try:
        plain = sdk.decrypt_data(random_key, message)
    except SdkError as exc:
        raise ValueError(str(exc)) from None
    try:
        # strict=False: raw control characters inside strings occur in real chat text
        record = json.loads(plain.decode("utf-8"), strict=False)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"decrypted payload is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise ValueError("decrypted payload is not a JSON object")
    record["seq"] = seq
    return record


def _quarantine_entry(item: dict[str, Any], reason: str) -> str:
    return json.dumps(
        {
            "seq": item.get("seq"),
            "msgid": item.get("msgid"),
            "publickey_ver": item.get("publickey_ver"),
            "reason": reason,
            "record": item,
        },
        ensure_ascii=False,
    )


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def pull(
    ws: Workspace,
    *,
    open_sdk: Callable[[Settings], FinanceSdk] = open_ctypes_sdk,
    group_api: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    report: PullReport | None = None,
) -> PullReport:
    """Pull every new page into the inbox; the caller holds the workspace lock.

    ``group_api`` (a ``GroupApi``) refreshes group facts afterwards; ``report`` is filled as the pull
    goes, so a caller still has the counts when it stops with a PullError.
    """
    s = settings(ws)
    ring = KeyRing.load(s.private_keys, ws.root)
    report = report if report is not None else PullReport()
    state = load_state(ws)
    report.seq_from = report.seq_to = int(state["seq"])
    rooms = set(state["rooms"])
    sdk = open_sdk(s)
    stale_pages = 0
    pulled_msgids: set[object] = set()
    try:
        while True:
            seq = int(state["seq"])
            items = _chat_page(sdk, seq, sleep)
            fresh = [i for i in items if isinstance(i.get("seq"), int) and i["seq"] > seq]
            report.overlapping += len(items) - len(fresh)
            if not fresh:
                # An empty page is the end; a page of only already-pulled records is asked again,
                # a few times, rather than taken for the end of the archive.
                stale_pages += 1
                if items and stale_pages <= MAX_STALE_PAGES:
                    continue
                if items:
                    log.warning(
                        "pull: %d pages in a row repeated seq <= %d; the next run continues", stale_pages, seq
                    )
                break
            stale_pages = 0
            report.pages += 1
            records, quarantined = [], []
            for item in fresh:
                report.records += 1
                try:
                    record = decrypt_record(sdk, ring, item)
                except (ValueError, RandomKeyError) as exc:
                    quarantined.append(_quarantine_entry(item, str(exc)))
                    continue
                # The same message served again under a later seq: ingest would see one msgid with
                # two contents (the seqs differ) in one run. The first is kept; later runs find it
                # in the lake.
                if record.get("msgid") in pulled_msgids:
                    report.duplicate_msgids += 1
                    continue
                pulled_msgids.add(record.get("msgid"))
                records.append(record)
            first, last = min(i["seq"] for i in fresh), max(i["seq"] for i in fresh)
            name = f"pull-{first:012d}-{last:012d}"
            if records:
                page = ws.inbox_dir / "wecom" / f"{name}.jsonl"
                atomic.write_bytes(page, _jsonl([json.dumps(r, ensure_ascii=False) for r in records]))
                report.files.append(str(page))
            if quarantined:
                atomic.write_bytes(ws.quarantine_dir / f"{name}.jsonl", _jsonl(quarantined))
                log.warning("pull: %d records of seq %d…%d quarantined", len(quarantined), first, last)
            failpoints.reached("pull-page-written")
            if s.media == "download":
                download_media(ws, sdk, records, report, sleep)
            rooms.update(r["roomid"] for r in records if isinstance(r.get("roomid"), str) and r["roomid"])
            report.decrypted += len(fresh) - len(quarantined)
            report.quarantined += len(quarantined)
            state = {**state, "seq": last, "rooms": sorted(rooms)}
            save_state(ws, state)  # only now: the page is safely in the inbox
            report.seq_to = last
            log.info(
                "pull: seq %d…%d, %d records (%d quarantined)", first, last, len(fresh), len(quarantined)
            )
            if len(items) < PAGE_LIMIT:
                break
    finally:
        sdk.close()
    if group_api is not None:
        from auditor.wecom.api import refresh_groups

        refresh_groups(ws, group_api, sorted(rooms), report)
    save_state(ws, {**state, "last_success": dt.datetime.now(dt.UTC).isoformat(), "alarms": []})
    return report


def record_failure(ws: Workspace, alarms: list[str]) -> None:
    """Keep the alarms of a failed pull for the report index (the checkpoint is left as it is)."""
    save_state(ws, {**load_state(ws), "alarms": alarms})


# --- media -----------------------------------------------------------------------------------------------


def _media_payloads(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    payload = record.get(record.get("msgtype", ""))
    if isinstance(payload, dict) and isinstance(payload.get("sdkfileid"), str) and payload["sdkfileid"]:
        yield payload


def fetch_media(sdk: FinanceSdk, sdkfileid: str, sleep: Callable[[float], None]) -> bytes:
    """The whole file, chunk by chunk (the SDK sends 512 KB at a time and an index for the next)."""
    index, data = "", bytearray()
    while True:
        chunk = _with_retry(lambda at=index: sdk.get_media_data(at, sdkfileid), "GetMediaData", sleep)
        data += chunk.data
        if len(data) > MAX_MEDIA_BYTES:
            raise ValueError(f"larger than {MAX_MEDIA_BYTES:,} bytes")
        if chunk.finished:
            return bytes(data)
        if not chunk.next_index or chunk.next_index == index:
            raise ValueError("the SDK returned no index for the next chunk")
        index = chunk.next_index


def store_media(ws: Workspace, data: bytes) -> Path:
    """Content-addressed: the same file sent twice is stored once."""
    digest = hashlib.sha256(data).hexdigest()
    path = ws.media_dir / digest[:2] / digest
    if not path.exists():
        atomic.write_bytes(path, data)
    return path


def download_media(
    ws: Workspace,
    sdk: FinanceSdk,
    records: list[dict[str, Any]],
    report: PullReport,
    sleep: Callable[[float], None],
) -> None:
    """Fetch the page's files; a failure is counted and logged, never stops the messages."""
    index_lines = []
    for record in records:
        for payload in _media_payloads(record):
            msgid = str(record.get("msgid", ""))
            try:
                data = fetch_media(sdk, payload["sdkfileid"], sleep)
                expected = payload.get("md5sum")
                if (
                    isinstance(expected, str)
                    and expected
                    and hashlib.md5(data).hexdigest() != expected.lower()
                ):
                    raise ValueError(f"md5 {hashlib.md5(data).hexdigest()} differs from the message's md5sum")
                path = store_media(ws, data)
            except (SdkError, PullError, ValueError) as exc:
                report.media_failed.append({"msgid": msgid, "reason": str(exc)})
                log.warning("pull: media of message %s not downloaded: %s", msgid, exc)
                continue
            report.media_downloaded += 1
            index_lines.append(
                json.dumps(
                    {
                        "msgid": msgid,
                        "sdkfileid": payload["sdkfileid"],
                        "sha256": path.name,
                        "path": str(path.relative_to(ws.root)),
                        "bytes": len(data),
                    }
                )
            )
    if index_lines:
        body = _jsonl(index_lines)
        atomic.write_bytes(ws.media_dir / "index" / f"{hashlib.sha256(body).hexdigest()[:16]}.jsonl", body)


# --- re-decryption ---------------------------------------------------------------------------------------


def redecrypt(ws: Workspace, *, open_sdk: Callable[[Settings], FinanceSdk] = open_ctypes_sdk) -> PullReport:
    """Try every quarantined record again (after a key was added): decrypted ones go to the inbox
    first, then the quarantine file is rewritten with what is still undecryptable."""
    s = settings(ws)
    ring = KeyRing.load(s.private_keys, ws.root)
    report = PullReport()
    files = sorted(p for p in ws.quarantine_dir.glob("*.jsonl") if not p.name.startswith("."))
    if not files:
        return report
    sdk = open_sdk(s)
    try:
        for path in files:
            records, still = [], []
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                entry = json.loads(line)
                report.records += 1
                try:
                    records.append(decrypt_record(sdk, ring, entry["record"]))
                except (ValueError, RandomKeyError) as exc:
                    still.append(_quarantine_entry(entry["record"], str(exc)))
            if records:
                body = _jsonl([json.dumps(r, ensure_ascii=False) for r in records])
                page = ws.inbox_dir / "wecom" / f"redecrypted-{hashlib.sha256(body).hexdigest()[:16]}.jsonl"
                atomic.write_bytes(page, body)
                report.files.append(str(page))
            if still:
                atomic.write_bytes(path, _jsonl(still))
            else:
                path.unlink()
                atomic.fsync_dir(path.parent)
            report.decrypted += len(records)
            report.quarantined += len(still)
    finally:
        sdk.close()
    return report


def quarantined_count(ws: Workspace) -> int:
    folder = ws.quarantine_dir
    if not folder.is_dir():
        return 0
    return sum(
        1
        for p in folder.glob("*.jsonl")
        if not p.name.startswith(".")
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )


# --- one entry for `auditor pull` and `nightly` ----------------------------------------------------------


@dataclass
class Clients:
    """How the puller reaches WeCom: the SDK and the group API (tests inject fakes of both)."""

    open_sdk: Callable[[Settings], FinanceSdk] = open_ctypes_sdk
    group_api: Any = None

    @classmethod
    def real(cls, ws: Workspace) -> Clients:
        from auditor.wecom.api import GroupApi

        return cls(open_ctypes_sdk, GroupApi.from_workspace(ws))


@dataclass
class PullOutcome:
    report: PullReport
    exit_code: int = 0
    error: str | None = None
    quarantine_waiting: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "status": "failed" if self.exit_code else "ok",
            "exit_code": self.exit_code,
            "error": self.error,
            **self.report.summary(),
            "quarantine_waiting": self.quarantine_waiting,  # records in W/quarantine/, all runs
        }


def run_pull(
    ws: Workspace,
    clients: Clients | None = None,
    *,
    redecrypt_only: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> PullOutcome:
    """Pull (or re-decrypt), never raising for a WeCom failure: the outcome carries the exit code,
    and alarms (expired data, a pull too long ago) go to the log and the pull state, where the
    run manifest and the report index read them. The caller holds the workspace lock."""
    outcome = PullOutcome(PullReport())
    alarms: list[str] = []
    try:
        clients = clients or Clients.real(ws)
        if redecrypt_only:
            outcome.report = redecrypt(ws, open_sdk=clients.open_sdk)
        else:
            pull(
                ws, open_sdk=clients.open_sdk, group_api=clients.group_api, sleep=sleep, report=outcome.report
            )
    except AuditorError as exc:  # PullError too: configuration errors are exit 2, network 75, expired 65
        outcome.exit_code, outcome.error = exc.exit_code, str(exc)
        log.error("pull failed: %s", exc)
        if isinstance(exc, PullError) and exc.alarm:
            alarms.append(exc.alarm)
    if outcome.exit_code and not redecrypt_only:
        try:
            stale = stale_alarm(ws)
            if stale:
                alarms.append(stale)
            record_failure(ws, alarms)
        except AuditorError:  # the checkpoint itself is damaged: that is the error reported
            pass
    for alarm in alarms:
        log.error("ALARM: %s", alarm)
    outcome.report.alarms = alarms
    outcome.quarantine_waiting = quarantined_count(ws)
    if outcome.quarantine_waiting:
        log.warning(
            "pull: %d records wait in %s for their key", outcome.quarantine_waiting, ws.quarantine_dir
        )
    return outcome
