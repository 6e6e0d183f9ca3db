"""Secrets (账号密码、密钥): credentials posted in chat.

Password disclosures (密码是 …, 账号 admin 密码 …), cloud access keys, private-key blocks and API
tokens. The value itself never leaves this module unmasked: hits carry a masked form that
replaces it in every excerpt, and evidence names only the kind of secret.
"""

from __future__ import annotations

import re

from auditor.detectors import register
from auditor.detectors.base import Hit, TextDetector, TextView

# (rule, severity, pattern); group "value" (or the whole match) is the secret
PATTERNS = [
    (
        "secret.password",
        "high",
        re.compile(
            r"(?:密码|口令|登录密码|password|passwd|pwd)\s*(?:是|为|:|：|=|\s)\s*(?P<value>[!-~]{4,64})", re.I
        ),
    ),
    (
        "secret.private_key",
        "critical",
        re.compile(
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,8000}?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----)?"
        ),
    ),
    ("secret.aws_access_key", "high", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    (
        "secret.aliyun_access_key",
        "high",
        re.compile(r"(?<![A-Za-z0-9])LTAI[0-9A-Za-z]{12,20}(?![A-Za-z0-9])"),
    ),
    ("secret.tencent_secret_id", "high", re.compile(r"(?<![A-Za-z0-9])AKID[0-9A-Za-z]{32}(?![A-Za-z0-9])")),
    ("secret.github_token", "high", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("secret.slack_token", "high", re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}")),
    ("secret.api_key", "high", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}")),
    (
        "secret.jwt",
        "medium",
        re.compile(r"(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
]
# Not secrets: placeholders and masked values people type when they explain a procedure.
PLACEHOLDER = re.compile(r"^(?:\*+|x+|\.+|_+|多少|什么|null|none|n/a|\?+|123|\$\{.*\}|<.*>)$", re.I)


def mask_secret(value: str) -> str:
    """Keep a short prefix so a reviewer can tell which key leaked, hide the rest."""
    if value.startswith("-----BEGIN"):
        return "-----BEGIN PRIVATE KEY----- ****"
    keep = 4 if len(value) >= 12 else 1
    return value[:keep] + "*" * 6


@register
class Secret(TextDetector):
    category = "secret"

    def scan(self, view: TextView) -> list[Hit]:
        text = view.folded.text
        hits: list[Hit] = []
        taken: list[tuple[int, int]] = []
        for rule, severity, pattern in PATTERNS:
            for found in pattern.finditer(text):
                group = "value" if "value" in pattern.groupindex else 0
                value = found.group(group)
                if rule == "secret.password" and (
                    PLACEHOLDER.match(value) or not re.search(r"[A-Za-z0-9]", value)
                ):
                    continue
                s, e = found.span(group)
                if any(a < e and s < b for a, b in taken):
                    continue  # the same value already found by a more specific pattern
                taken.append((s, e))
                start, end = view.folded.span(s, e)
                hits.append(
                    Hit(
                        "secret",
                        rule,
                        severity,
                        start,
                        end,
                        evidence={"kind": rule.split(".", 1)[1], "length": len(value)},
                        masked=mask_secret(value),
                    )
                )
        return hits
