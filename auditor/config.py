"""Settings from ``W/auditor.toml``, merged over defaults.

Every setting has a default, so the file is optional. Unknown keys and wrong types are
configuration errors (exit 2): a typo in a threshold must not silently fall back to the
default in a compliance tool.
"""

from __future__ import annotations

import copy
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any

from auditor.categories import FINDING_CATEGORIES, GROUP_CATEGORIES, LEARNED_CATEGORIES
from auditor.errors import AuditorError

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "ingest": {
        # A record larger than this is rejected (a WeCom text message is at most a few KB).
        # Also the cap on a line, applied while reading: a longer line is rejected in linear time.
        "max_record_bytes": 4 * 1024 * 1024,
        # A file that decompresses to more is quarantined (W/quarantine/), the rest of the inbox goes on.
        "max_decompressed_bytes": 2 * 1024**3,
        # A .json document or roster .csv is parsed whole, so its cap is lower.
        "max_document_bytes": 256 * 1024**2,
        # Rejected records kept in W/rejects per input file (raw cut at 16 KiB); the rest are counted.
        "max_stored_rejects": 1000,
        # Share of rejected records above which ingest and nightly exit 65.
        "max_reject_ratio": 0.01,
        # Extra export folders the nightly job picks files up from, besides W/inbox/.
        "inbox_paths": [],
    },
    "groups": {
        # Category for an internal group that no rule matches; customer groups default to "customer".
        "default_category": "internal",
        # Ordered rules: the first whose regular expression matches the group name wins.
        "rules": [
            {"name_pattern": "项目|专项|project", "category": "project"},
            {"name_pattern": "客户|客服|customer|VIP", "category": "customer"},
        ],
    },
    "ladder": {
        # The escalation ladder over confirmed findings per person in a rolling window.
        "window_days": 90,
        "repeat_count": 2,  # ≥ this many (or one high) → public criticism in the group
        "removal_count": 4,  # ≥ this many (or one critical) → temporary removal
        "rejoin_ban_days": 30,  # after a temporary removal
        "termination_categories": ["illegal"],  # any confirmed → termination review by HR
        "major_leak_categories": ["confidential", "secret", "pii"],
        "major_leak_severity": "critical",  # a leak this severe → termination review by HR
    },
    "appeals": {
        "filing_working_days": 5,  # a member may appeal within this many working days of the action
        "investigation_working_days": 10,  # the owner or admin must answer within this many
    },
    "backup": {
        "dir": "",  # snapshot store; empty: W/backups. A relative path is taken from the workspace.
    },
    "report": {
        "lang": "zh",  # zh or en
        "context_messages": 3,  # messages shown before and after each finding
    },
    "console": {
        # Sign-in through WeCom web authorisation (企业微信网页授权); off while corpid is empty.
        "wecom_oauth": {
            "corpid": "",
            "agentid": "",  # the self-built application whose OAuth the console uses
            "secret_env": "AUDITOR_WECOM_SECRET",  # environment variable holding that application's secret
            "redirect_uri": "",  # the console's public address + /auth/wecom/callback
            "authorize_url": "https://login.work.weixin.qq.com/wwlogin/sso/login",
            "api_base": "https://qyapi.weixin.qq.com",
        },
    },
    "audit": {
        # Worker processes for text analysis; 0 means one per available core.
        "workers": 0,
        "engine": "local",  # local (process pool) or dask (a Dask distributed cluster)
        "scheduler": "",  # the Dask scheduler address, e.g. tcp://10.0.0.5:8786
    },
    "detectors": {
        "disabled": [],  # categories to skip entirely
        "flooding": {"burst_messages": 10, "burst_seconds": 60, "repeat_messages": 5, "repeat_seconds": 300},
        "quarrel": {"window_seconds": 600, "min_participants": 2, "min_messages": 3},
        "abuse_model": {
            "path": "",  # a model artifact; empty: the COLD model shipped with the package
            # Calibrated scores; the packaged model's thresholds, chosen on dev data (its model card).
            "threshold": 0.66,  # from this score a message is a finding if an abuse cue backs it
            "alone_threshold": 0.66,  # … and from this score (or threshold, if higher) without one
            "high_threshold": 0.9,  # … and at which it is high
            "min_chars": 4,  # shorter texts (收到, 没问题) are left to the lexicons
            "top_ngrams": 5,  # n-grams shown in the evidence
        },
        # Rumor and ad: rules plus a learned model (auditor/models/rumor-weibo.zip, ad-sms.zip). A message
        # fires on the rules, on the model alone at ``threshold``, or on the model at ``cue_threshold``
        # together with a rule cue (spread phrase, debunked claim / contact handle, link, promo phrase).
        "rumor": {
            "model": "",  # a model artifact; empty: the one shipped with the package
            "threshold": 0.0,  # model alone; 0: the threshold tuned into the artifact on dev (0.59)
            "cue_threshold": 0.4,  # model together with a rumor cue
            "min_chars": 8,  # texts with fewer letters (numbers do not count) are left to the rules
            "top_ngrams": 5,
        },
        "ad": {
            "model": "",
            "threshold": 0.0,
            "cue_threshold": 0.5,
            "min_chars": 8,
            "top_ngrams": 5,
        },
        "malicious_link": {
            "dangerous_extensions": [
                "exe",
                "apk",
                "bat",
                "cmd",
                "scr",
                "vbs",
                "js",
                "jar",
                "msi",
                "ps1",
                "hta",
                "pif",
                "lnk",
                "dll",
            ],
            "blocklist": [],  # extra bad domains, besides dictionaries/link_blocklist.txt
        },
    },
    "notify": {
        # The nightly job sends each group owner and admin their group's summary only when true;
        # `auditor notify send-notice` works either way.
        "enabled": False,
        "channels": ["email"],  # email and/or wecom: where summaries and notices go
        "base_url": "",  # where W/reports is served (https://…/reports), for the links in messages
        "lang": "zh",  # zh or en: the templates in reports/templates/notices/
        "smtp": {
            "host": "",
            "port": 587,
            "security": "starttls",  # starttls, ssl (SMTPS, usually port 465) or plain
            "username": "",  # empty: no login
            "password_env": "AUDITOR_SMTP_PASSWORD",  # the password comes from this variable
            "sender": "",  # the From: address
            "ca_file": "",  # an extra CA certificate (PEM) for a relay with a private certificate
            "timeout": 30,
        },
        "wecom": {
            "api_base": "https://qyapi.weixin.qq.com",
            "corpid": "",
            "agentid": 0,  # the application (自建应用) that sends
            "secret_env": "AUDITOR_WECOM_SECRET",  # the application's secret comes from this variable
            "timeout": 30,
        },
    },
    "wecom": {
        # Pulling the archive with the Finance SDK (`auditor pull`; nightly pulls first when corp_id is set).
        "corp_id": "",  # empty: no pulling, nightly reads the inbox only
        "secret_env": "WECOM_ARCHIVE_SECRET",  # environment variable holding the archive secret
        "secret_file": "",  # … or a file holding it (relative to the workspace); never the secret itself
        "contact_secret_env": "",  # customer-contact (客户联系) secret for customer groups; empty: skip them
        "sdk_library": "/opt/wecom/libWeWorkFinanceSdk_C.so",
        "private_keys": {},  # publickey_ver → PEM file of the private key, relative to the workspace
        "proxy": "",  # socks5://… or http://…
        "proxy_password": "",  # user:password for the proxy, if it needs one
        "timeout_s": 5,
        "media": "id",  # id (keep sdkfileid) or download
        "max_pull_age_days": 2,  # alarm when the last successful pull is older than this
    },
    "policy": {
        # Severity steps added per finding category and group category (clamped to low…critical):
        # what is said in front of customers weighs more; personal data in an internal group less.
        "adjust": {
            category: {"internal": 0, "project": 0, "customer": 0} | changes
            for category, changes in {
                "profanity": {"customer": 1},
                "abuse": {"customer": 1},
                "illegal": {},
                "rumor": {"customer": 1},
                "confidential": {"customer": 1},
                "secret": {"customer": 1},
                "pii": {"internal": -1, "customer": 1},
                "malicious_link": {},
                "ad": {},
                "flooding": {},
                "quarrel": {"customer": 1},
                "membership": {},
            }.items()
        },
    },
}

DEFAULT_TOML = """\
# wecom-auditor settings. Every key is optional; the values shown are the defaults.

timezone = "Asia/Shanghai"          # partition dates are local dates in this zone

[ingest]
max_record_bytes = 4194304          # larger records (lines) are rejected
max_decompressed_bytes = 2147483648 # a file decompressing to more is quarantined
max_document_bytes = 268435456      # the same for a .json document or roster .csv (parsed whole)
max_stored_rejects = 1000           # rejected records kept in W/rejects per file; the rest are counted
max_reject_ratio = 0.01             # above this share of rejects, ingest/nightly exit 65
inbox_paths = []                    # extra export folders for `auditor nightly`

[ladder]                            # escalation over confirmed findings per person
window_days = 90
repeat_count = 2                    # ≥ 2 (or one high) → public criticism in the group
removal_count = 4                   # ≥ 4 (or one critical) → temporary removal
rejoin_ban_days = 30
termination_categories = ["illegal"]
major_leak_categories = ["confidential", "secret", "pii"]
major_leak_severity = "critical"

[appeals]                           # counted in working days (statutory calendar, 调休 included)
filing_working_days = 5
investigation_working_days = 10

[backup]
dir = ""                            # snapshot store, e.g. "/mnt/backup/auditor"; empty: W/backups

[report]
lang = "zh"                         # zh or en
context_messages = 3                # messages shown before and after each finding

[console.wecom_oauth]               # WeCom web sign-in for `auditor serve`; off while corpid is empty
corpid = ""
agentid = ""
secret_env = "AUDITOR_WECOM_SECRET" # the application's secret is read from this environment variable
redirect_uri = ""                   # e.g. "https://audit.example.com/auth/wecom/callback"
authorize_url = "https://login.work.weixin.qq.com/wwlogin/sso/login"
api_base = "https://qyapi.weixin.qq.com"

[audit]
workers = 0                         # text-analysis processes; 0 = one per available core
engine = "local"                    # local, or dask (pip install "wecom-auditor[dask]")
scheduler = ""                      # Dask scheduler, e.g. "tcp://10.0.0.5:8786"

[detectors]
disabled = []                       # finding categories to skip, e.g. ["ad"]

[detectors.flooding]                # per person and room
burst_messages = 10                 # ≥ this many messages …
burst_seconds = 60                  # … within this many seconds
repeat_messages = 5                 # ≥ this many near-identical messages …
repeat_seconds = 300                # … within this many seconds

[detectors.quarrel]
window_seconds = 600                # hostile messages at most this far apart form one exchange
min_participants = 2
min_messages = 3

[detectors.abuse_model]             # the COLD-trained classifier, next to the abuse lexicon
path = ""                           # empty: the model shipped with the package
threshold = 0.66                    # calibrated score that fires with an abuse cue (insult, 你+insult …)
alone_threshold = 0.66              # … and without one; raise both for fewer false alarms
high_threshold = 0.9
min_chars = 4
top_ngrams = 5

[detectors.rumor]                   # rules plus the learned model (see the README, "learned detectors")
model = ""                          # empty: the model shipped with the package
threshold = 0.0                     # model alone; 0 = the threshold tuned into the model on dev (0.59)
cue_threshold = 0.4                 # model score that fires together with a spread cue or debunked claim
min_chars = 8                       # texts with fewer letters (digits do not count) are left to the rules
top_ngrams = 5

[detectors.ad]
model = ""
threshold = 0.0
cue_threshold = 0.5                 # … together with a contact handle, link or promo phrase
min_chars = 8
top_ngrams = 5

[detectors.malicious_link]
blocklist = []                      # extra bad domains besides dictionaries/link_blocklist.txt

[notify]                            # notifications (README "Notifications")
enabled = false                     # nightly: send each group owner and admin their group's summary
channels = ["email"]                # email and/or wecom
base_url = ""                       # where W/reports is served, e.g. "https://audit.example.com/reports"
lang = "zh"                         # zh or en

[notify.smtp]
host = ""
port = 587
security = "starttls"               # starttls, ssl or plain
username = ""                       # empty: no login
password_env = "AUDITOR_SMTP_PASSWORD"  # the password is read from this variable, never from here
sender = ""                         # From: address
ca_file = ""                        # extra CA certificate (PEM) for a relay with a private certificate
timeout = 30

[notify.wecom]                      # application messages (应用消息) from a self-built application
api_base = "https://qyapi.weixin.qq.com"
corpid = ""
agentid = 0
secret_env = "AUDITOR_WECOM_SECRET" # the application's secret is read from this variable
timeout = 30
# Pull the archive with WeCom's Finance SDK (README "Pulling from WeCom"). Set corp_id to enable.
# [wecom]
# corp_id = "ww…"
# secret_env = "WECOM_ARCHIVE_SECRET"  # environment variable holding the archive secret
# secret_file = ""                     # … or a file holding it (chmod 600); never put the secret here
# contact_secret_env = ""              # 客户联系 secret, for customer-group details
# sdk_library = "/opt/wecom/libWeWorkFinanceSdk_C.so"
# private_keys = { 1 = "keys/v1.pem", 2 = "keys/v2.pem" }  # by publickey_ver, relative to the workspace
# proxy = ""                           # socks5://… or http://…
# proxy_password = ""
# timeout_s = 5
# media = "id"                         # or "download"
# max_pull_age_days = 2                # alarm when the last successful pull is older

# Severity steps per finding category and group category, e.g. personal data in customer groups:
# [policy.adjust.pii]
# internal = -1
# customer = 1

[groups]
default_category = "internal"       # internal / project / customer
# The first rule whose regular expression matches the group name assigns its category.
# A `category` field in groups.json always wins over these rules.
rules = [
  { name_pattern = "项目|专项|project", category = "project" },
  { name_pattern = "客户|客服|customer|VIP", category = "customer" },
]
"""


# The element type of every list setting: an empty default says nothing about what it holds.
LIST_ITEMS: dict[str, type] = {
    "ingest.inbox_paths": str,
    "groups.rules": dict,
    "ladder.termination_categories": str,
    "ladder.major_leak_categories": str,
    "detectors.disabled": str,
    "detectors.malicious_link.dangerous_extensions": str,
    "detectors.malicious_link.blocklist": str,
    "notify.channels": str,
}


# Tables whose keys the operator chooses, with the type of their values.
FREE_TABLES: dict[str, type] = {"wecom.private_keys": str}


def _check_items(path: str, value: list[Any]) -> None:
    item_type = LIST_ITEMS[path]
    for i, item in enumerate(value):
        if not isinstance(item, item_type):
            expected = "table" if item_type is dict else item_type.__name__
            raise AuditorError(f"auditor.toml: '{path}[{i}]' must be {expected}, got {type(item).__name__}")


def _merge(defaults: dict[str, Any], given: dict[str, Any], where: str) -> dict[str, Any]:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        path = f"{where}{key}"
        if key not in defaults:
            raise AuditorError(f"auditor.toml: unknown setting '{path}'")
        if path in FREE_TABLES:  # keys chosen by the operator (key versions), values of one type
            if not isinstance(value, dict) or not all(
                isinstance(v, FREE_TABLES[path]) for v in value.values()
            ):
                raise AuditorError(f"auditor.toml: '{path}' must be a table of {FREE_TABLES[path].__name__}")
            merged[key] = dict(value)
            continue
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise AuditorError(f"auditor.toml: '{path}' must be a table")
            merged[key] = _merge(default, value, f"{path}.")
        elif isinstance(default, bool) or not isinstance(default, int | float):
            if not isinstance(value, type(default)):
                raise AuditorError(
                    f"auditor.toml: '{path}' must be {type(default).__name__}, got {type(value).__name__}"
                )
            if isinstance(value, list):
                _check_items(path, value)
            merged[key] = value
        else:  # numbers: an int where a float is expected is fine
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AuditorError(f"auditor.toml: '{path}' must be a number, got {type(value).__name__}")
            if isinstance(default, int) and not isinstance(value, int):
                raise AuditorError(f"auditor.toml: '{path}' must be a whole number")
            merged[key] = value
    return merged


def _validate(cfg: dict[str, Any]) -> None:
    try:
        zoneinfo.ZoneInfo(cfg["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise AuditorError(f"auditor.toml: unknown timezone {cfg['timezone']!r}") from exc
    groups = cfg["groups"]
    if groups["default_category"] not in GROUP_CATEGORIES:
        raise AuditorError(
            f"auditor.toml: groups.default_category must be one of {', '.join(GROUP_CATEGORIES)}"
        )
    for i, rule in enumerate(groups["rules"]):
        if not isinstance(rule, dict) or set(rule) != {"name_pattern", "category"}:
            raise AuditorError(f"auditor.toml: groups.rules[{i}] needs exactly name_pattern and category")
        if not isinstance(rule["name_pattern"], str):
            raise AuditorError(f"auditor.toml: groups.rules[{i}].name_pattern must be str")
        if rule["category"] not in GROUP_CATEGORIES:
            raise AuditorError(f"auditor.toml: groups.rules[{i}].category must be one of {GROUP_CATEGORIES}")
        try:
            re.compile(rule["name_pattern"])
        except re.error as exc:
            raise AuditorError(f"auditor.toml: groups.rules[{i}].name_pattern: {exc}") from exc
    unknown = set(cfg["detectors"]["disabled"]) - set(cfg["policy"]["adjust"])
    if unknown:
        raise AuditorError(
            f"auditor.toml: detectors.disabled names unknown categories: {', '.join(sorted(unknown))}"
        )
    for key in ("termination_categories", "major_leak_categories"):
        unknown = set(cfg["ladder"][key]) - set(FINDING_CATEGORIES)
        if unknown:
            raise AuditorError(
                f"auditor.toml: ladder.{key} names unknown categories: {', '.join(sorted(unknown))}"
            )
    if cfg["report"]["lang"] not in ("zh", "en"):
        raise AuditorError("auditor.toml: report.lang must be zh or en")
    if not 0 <= cfg["report"]["context_messages"] <= 50:
        raise AuditorError("auditor.toml: report.context_messages must be between 0 and 50")
    ladder = cfg["ladder"]
    if ladder["major_leak_severity"] not in ("low", "medium", "high", "critical"):
        raise AuditorError("auditor.toml: ladder.major_leak_severity must be low, medium, high or critical")
    if not 1 <= ladder["repeat_count"] <= ladder["removal_count"]:
        raise AuditorError("auditor.toml: ladder needs 1 <= repeat_count <= removal_count")
    periods = {f"ladder.{k}": ladder[k] for k in ("window_days", "rejoin_ban_days")}
    periods |= {f"appeals.{k}": days for k, days in cfg["appeals"].items()}
    for key, days in periods.items():
        if days < 1:
            raise AuditorError(f"auditor.toml: {key} must be at least 1 day")
    model = cfg["detectors"]["abuse_model"]
    if not (0 < model["threshold"] <= model["high_threshold"] <= 1 and 0 < model["alone_threshold"] <= 1):
        raise AuditorError(
            "auditor.toml: detectors.abuse_model needs 0 < threshold <= high_threshold <= 1 "
            "and 0 < alone_threshold <= 1"
        )
    # Below these a threshold means nothing (a burst of one message, a quarrel of one person).
    minimums = {
        "flooding": {"burst_messages": 2, "burst_seconds": 1, "repeat_messages": 2, "repeat_seconds": 1},
        "quarrel": {"window_seconds": 1, "min_participants": 2, "min_messages": 2},
        "abuse_model": {"min_chars": 1, "top_ngrams": 0},
        **{category: {"min_chars": 1, "top_ngrams": 0} for category in LEARNED_CATEGORIES},
    }
    for detector, keys in minimums.items():
        for key, least in keys.items():
            if cfg["detectors"][detector][key] < least:
                raise AuditorError(f"auditor.toml: detectors.{detector}.{key} must be at least {least}")
    for category in LEARNED_CATEGORIES:
        learned = cfg["detectors"][category]
        if not (0 <= learned["threshold"] <= 1 and 0 < learned["cue_threshold"] <= 1):
            raise AuditorError(
                f"auditor.toml: detectors.{category} needs 0 <= threshold <= 1 and 0 < cue_threshold <= 1"
            )
    oauth = cfg["console"]["wecom_oauth"]
    if oauth["corpid"]:
        missing = [k for k in ("agentid", "secret_env", "redirect_uri") if not oauth[k]]
        if missing:
            raise AuditorError(f"auditor.toml: console.wecom_oauth needs {', '.join(missing)} with corpid")
        for key in ("redirect_uri", "authorize_url", "api_base"):
            if not re.match(r"https?://[^/\s]+", oauth[key]):
                raise AuditorError(f"auditor.toml: console.wecom_oauth.{key} must be an http(s) URL")
    if cfg["audit"]["engine"] not in ("local", "dask"):
        raise AuditorError("auditor.toml: audit.engine must be local or dask")
    if cfg["audit"]["workers"] < 0:
        raise AuditorError("auditor.toml: audit.workers must be 0 (all cores) or more")
    if not 0 <= cfg["ingest"]["max_reject_ratio"] <= 1:
        raise AuditorError("auditor.toml: ingest.max_reject_ratio must be between 0 and 1")
    for key in ("max_record_bytes", "max_decompressed_bytes", "max_document_bytes", "max_stored_rejects"):
        if cfg["ingest"][key] <= 0:
            raise AuditorError(f"auditor.toml: ingest.{key} must be positive")
    _validate_notify(cfg["notify"])
    _validate_wecom(cfg["wecom"])


NOTIFY_CHANNELS = ("email", "wecom")


def _validate_notify(notify: dict[str, Any]) -> None:
    unknown = [c for c in notify["channels"] if c not in NOTIFY_CHANNELS]
    if unknown or len(set(notify["channels"])) != len(notify["channels"]):
        raise AuditorError("auditor.toml: notify.channels lists email and/or wecom, each at most once")
    if notify["lang"] not in ("zh", "en"):
        raise AuditorError("auditor.toml: notify.lang must be zh or en")
    if notify["base_url"] and not re.match(r"https?://[^\s]+$", notify["base_url"]):
        raise AuditorError("auditor.toml: notify.base_url must be an http:// or https:// address")
    smtp, wecom = notify["smtp"], notify["wecom"]
    if smtp["security"] not in ("starttls", "ssl", "plain"):
        raise AuditorError("auditor.toml: notify.smtp.security must be starttls, ssl or plain")
    if not 1 <= smtp["port"] <= 65535:
        raise AuditorError("auditor.toml: notify.smtp.port must be between 1 and 65535")
    for key, value in (("smtp.timeout", smtp["timeout"]), ("wecom.timeout", wecom["timeout"])):
        if value <= 0:
            raise AuditorError(f"auditor.toml: notify.{key} must be positive")
    if not re.match(r"https?://[^\s]+$", wecom["api_base"]):
        raise AuditorError("auditor.toml: notify.wecom.api_base must be an http:// or https:// address")
    if not notify["enabled"]:
        return
    # switched on: every channel it uses must be usable, or each night would fail the same way
    if not notify["channels"]:
        raise AuditorError("auditor.toml: notify.enabled needs at least one of notify.channels")
    if "email" in notify["channels"] and not (smtp["host"] and smtp["sender"]):
        raise AuditorError(
            "auditor.toml: notify.enabled with email in notify.channels: "
            "set notify.smtp.host and notify.smtp.sender"
        )
    if "wecom" in notify["channels"] and not (wecom["corpid"] and wecom["agentid"] > 0):
        raise AuditorError(
            "auditor.toml: notify.enabled with wecom in notify.channels: "
            "set notify.wecom.corpid and notify.wecom.agentid"
        )


def _validate_wecom(wecom: dict[str, Any]) -> None:
    if wecom["media"] not in ("id", "download"):
        raise AuditorError("auditor.toml: wecom.media must be id or download")
    if not 1 <= wecom["timeout_s"] <= 300:
        raise AuditorError("auditor.toml: wecom.timeout_s must be between 1 and 300 seconds")
    if wecom["max_pull_age_days"] < 1:
        raise AuditorError("auditor.toml: wecom.max_pull_age_days must be at least 1 day")
    if wecom["proxy"] and not re.match(r"^(socks5h?|https?)://", wecom["proxy"]):
        raise AuditorError("auditor.toml: wecom.proxy must start with socks5://, http:// or https://")
    for version in wecom["private_keys"]:
        if not version.isdigit():
            raise AuditorError(f"auditor.toml: wecom.private_keys: key version {version!r} must be a number")
    if wecom["corp_id"] and not wecom["private_keys"]:
        raise AuditorError(
            "auditor.toml: wecom.corp_id is set, so wecom.private_keys needs a key (publickey_ver = path)"
        )
    if wecom["corp_id"] and not (wecom["secret_env"] or wecom["secret_file"]):
        raise AuditorError("auditor.toml: wecom.corp_id is set, so wecom needs secret_env or secret_file")


def load_config(path: Path | None) -> dict[str, Any]:
    """Defaults merged with the TOML file at ``path`` (absent file → defaults)."""
    given: dict[str, Any] = {}
    if path is not None and path.exists():
        try:
            given = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise AuditorError(f"{path}: not valid TOML: {exc}") from exc
    cfg = _merge(DEFAULTS, given, "")
    _validate(cfg)
    return cfg
