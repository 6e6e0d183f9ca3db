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

from auditor.errors import AuditorError

GROUP_CATEGORIES = ("internal", "project", "customer")

DEFAULTS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "ingest": {
        # A record larger than this is rejected (a WeCom text message is at most a few KB).
        "max_record_bytes": 4 * 1024 * 1024,
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
}

DEFAULT_TOML = """\
# wecom-auditor settings. Every key is optional; the values shown are the defaults.

timezone = "Asia/Shanghai"          # partition dates are local dates in this zone

[ingest]
max_record_bytes = 4194304          # larger records are rejected
max_reject_ratio = 0.01             # above this share of rejects, ingest/nightly exit 65
inbox_paths = []                    # extra export folders for `auditor nightly`

[groups]
default_category = "internal"       # internal / project / customer
# The first rule whose regular expression matches the group name assigns its category.
# A `category` field in groups.json always wins over these rules.
rules = [
  { name_pattern = "项目|专项|project", category = "project" },
  { name_pattern = "客户|客服|customer|VIP", category = "customer" },
]
"""


def _merge(defaults: dict[str, Any], given: dict[str, Any], where: str) -> dict[str, Any]:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        path = f"{where}{key}"
        if key not in defaults:
            raise AuditorError(f"auditor.toml: unknown setting '{path}'")
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
        if rule["category"] not in GROUP_CATEGORIES:
            raise AuditorError(f"auditor.toml: groups.rules[{i}].category must be one of {GROUP_CATEGORIES}")
        try:
            re.compile(rule["name_pattern"])
        except re.error as exc:
            raise AuditorError(f"auditor.toml: groups.rules[{i}].name_pattern: {exc}") from exc
    if not 0 <= cfg["ingest"]["max_reject_ratio"] <= 1:
        raise AuditorError("auditor.toml: ingest.max_reject_ratio must be between 0 and 1")
    if cfg["ingest"]["max_record_bytes"] <= 0:
        raise AuditorError("auditor.toml: ingest.max_record_bytes must be positive")


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
