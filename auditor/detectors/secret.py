"""Secrets (账号密码、密钥): credentials posted in chat.

Key shapes follow gitleaks' default rules (github.com/gitleaks/gitleaks, config/gitleaks.toml,
MIT) where they fit chat: cloud access keys, provider tokens, webhook URLs, private-key blocks,
``key = value`` assignments with an entropy floor; plus what chat has and code scanners do not:
passwords in Chinese and English phrasing (密码admin123, password is hunter2, requirepass …,
``admin / Gxjp!567``) and URLs carrying a password (postgres://u:p@h).

Documented placeholders never fire (AKIAIOSFODNN7EXAMPLE, xoxb-xxxx…, your_api_key, ******,
<password>, example/sample/dummy values). The value itself never leaves this module unmasked:
hits carry a masked form that replaces it in every excerpt, and evidence names only its kind.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from auditor.detectors import register
from auditor.detectors.base import Hit, Prefilter, Sensitive, TextBatch, TextDetector, TextView

_TOKEN_END = r"(?![A-Za-z0-9_])"
_TOKEN_START = r"(?<![A-Za-z0-9_])"
# Where an assignment's value starts: `=`, `:`, `=>`, 是/为, optionally quoted.
_ASSIGN = r"""\s*['"]?\s*(?:=>|[=:：]|是|为)\s*['"]?\s*"""


def shannon_entropy(value: str) -> float:
    """Bits per character; random keys score 4–6, words and placeholders far less."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


# Values people type when they explain a procedure or paste documentation.
_PLACEHOLDER_WORDS = re.compile(
    r"example|sample|dummy|placeholder|your[_-]?|changeme|change[_-]me|redacted|<[^>]*>|\$\{|\{\{|%s|\*{3}|x{4}",
    re.I,
)
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:\*+|[x.?_-]+|多少|什么|null|none|nil|n/a|undefined|true|false|123|xxx\w*|\$\w+|\$[({].*|<.*>|\{.*\})$",
    re.I,
)
# In a key (not a password) these mark documentation too: test-mode keys, counting sequences.
_KEY_PLACEHOLDER = re.compile(r"test|fake|mock|1234567|abcdefg|0{6}|(.)\1{5}", re.I)
# Words that follow "password:" in ordinary prose rather than a password.
_PROSE = {
    "required",
    "optional",
    "reset",
    "changed",
    "change",
    "wrong",
    "incorrect",
    "expired",
    "forgot",
    "forgotten",
    "hidden",
    "protected",
    "empty",
    "invalid",
    "correct",
    "same",
    "below",
    "above",
    "manager",
    "policy",
    "strength",
    "login",
    "field",
    "please",
}


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER_VALUE.match(value) or _PLACEHOLDER_WORDS.search(value)) or len(set(value)) <= 2


def _key_like(value: str) -> bool:
    """A key that is not a placeholder, a test-mode key or a counting sequence."""
    return not (is_placeholder(value) or _KEY_PLACEHOLDER.search(value))


def _entropy_at_least(bits: float) -> Callable[[str], bool]:
    return lambda value: _key_like(value) and shannon_entropy(value) >= bits


def _generic_value(value: str) -> bool:
    """gitleaks' generic-api-key checks: letters and digits both, entropy ≥ 3.5 (3.0 for hex)."""
    if not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)) or not _key_like(value):
        return False
    floor = 3.0 if re.fullmatch(r"[0-9a-fA-F]+", value) else 3.5
    return shannon_entropy(value) >= floor


def _aws_secret_value(value: str) -> bool:
    classes = [r"[a-z]", r"[A-Z]", r"\d"]
    return all(re.search(c, value) for c in classes) and _entropy_at_least(4.0)(value)


def _character_classes(value: str) -> int:
    return sum(bool(re.search(c, value)) for c in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))


def _password_value(value: str, separator: str = "") -> bool:
    """Passwords are short and low-entropy, so the checks are about what is *not* a password."""
    if is_placeholder(value) or value.lower() in _PROSE:
        return False
    if value.isalpha():  # a bare word only after an explicit 是 / 为 / : / = (密码是 hunter)
        return bool(re.search(r"[=:：是为]", separator)) and len(value) >= 6
    return True


def _slashed_password(value: str) -> bool:
    """`admin / Gxjp!567`: a digit among mixed characters; not a path, a file name or a number."""
    if "/" in value or re.search(r"\.[A-Za-z]{1,5}$", value) or is_placeholder(value):
        return False
    return bool(re.search(r"\d", value)) and _character_classes(value) >= 2


@dataclass(frozen=True)
class SecretRule:
    """A key shape: group ``value`` (or the whole match) is the secret; ``valid`` rules out look-alikes."""

    rule: str
    severity: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = _key_like
    # For shapes that are only a secret near a word that names them (SK …, 账号 …).
    context: re.Pattern[str] | None = None
    context_reach: int = 40
    users: re.Pattern[str] | None = None  # user names that are context enough (admin / …)
    key_allowlist: re.Pattern[str] | None = None  # assignments to these names are public (key_id = …)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        found = []
        names = [n for n in self.pattern.groupindex if n.startswith("value")]
        for match in self.pattern.finditer(text):
            group = next((n for n in names if match.group(n) is not None), 0)
            value = match.group(group)
            if not self._valid(match, value):
                continue
            if self.key_allowlist is not None and self.key_allowlist.search(match.group("key")):
                continue
            if self.context is not None:
                before = text[max(0, match.start() - self.context_reach) : match.start()]
                user = match.groupdict().get("user") or ""
                if not (self.context.search(before) or (self.users and self.users.fullmatch(user))):
                    continue
            found.append((*match.span(group), value))
        return found

    def _valid(self, match: re.Match[str], value: str) -> bool:
        if self.valid is _password_value:
            return _password_value(value, match.groupdict().get("sep") or "")
        return self.valid(value)


_PASSWORD_KEY_ZH = (
    r"(?:登录密码|初始密码|密[\s*._-]?[码碼]|口[\s*._-]?令)"  # 密 码, 密*码: spaced out to dodge filters
)
_PASSWORD_KEY_EN = (
    r"(?<![A-Za-z])(?:password|passwd|passcode|pwd)(?:\s+(?:for|of|to)\s+(?:the\s+)?[\w.@-]{1,30})?"
)
_ADMIN_USERS = re.compile(r"(?i)admin|administrator|root|sa|postgres|oracle|guest|ubuntu|ec2-user")
_ACCOUNT_WORDS = re.compile(r"(?i)账号|帐号|账户|用户名?|登录|登陆|login|user(?:name)?|account")
# Words before an assignment that name something public (gitleaks' generic-key allowlist, in short).
_PUBLIC_KEY_NAME = re.compile(
    r"(?i)public|pub[_.-]?key|key[_.-]?(?:id|name|alias|size|length|file|path)|secret[_.-]?(?:name|id)|"
    r"token[_.-]?(?:url|uri|endpoint|type|file)|csrf|access[_.-]?key[_.-]?id"
)

RULES: list[SecretRule] = [
    SecretRule(
        "secret.private_key",
        "critical",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,8000}?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?"
        ),
        valid=lambda value: True,
    ),
    SecretRule(
        "secret.url_password",  # postgres://u:p@h, mysql://, mongodb+srv://, redis://:p@h, https://u:p@h
        "high",
        re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{0,64}:(?P<value>[^\s@/]{1,128})@[\w.-]+"),
        valid=lambda value: (
            not is_placeholder(value) and value.lower() not in {"password", "pass", "passwd", "pwd"}
        ),
    ),
    SecretRule(
        "secret.aws_access_key",
        "high",
        re.compile(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])"),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.aws_secret_key",  # 40 base64 characters next to a word that names them
        "high",
        re.compile(r"(?<![A-Za-z0-9/+=])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        valid=_aws_secret_value,
        context=re.compile(r"(?i)secret|aws|\bsk\b|密钥|秘钥"),
    ),
    SecretRule(
        "secret.aliyun_access_key",
        "high",
        re.compile(_TOKEN_START + r"LTAI[0-9A-Za-z]{12,20}" + _TOKEN_END),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.tencent_secret_id",
        "high",
        re.compile(_TOKEN_START + r"AKID[0-9A-Za-z]{32}" + _TOKEN_END),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.github_token",
        "high",
        re.compile(_TOKEN_START + r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{82})" + _TOKEN_END),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.gitlab_token",
        "high",
        re.compile(_TOKEN_START + r"gl(?:pat|dt|rt|ft|soat|ffct|cbt|imt|agent|oas|ptt)-[\w-]{20,300}"),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.slack_token",
        "high",
        re.compile(_TOKEN_START + r"(?:xox[abeoprs]-[0-9A-Za-z-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})"),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.webhook",  # a webhook URL is its own credential: anyone holding it can post
        "high",
        re.compile(
            r"(?:https?://)?(?:hooks\.slack\.com/(?:services|workflows|triggers)/(?P<value>[A-Za-z0-9+/]{43,56})"
            r"|oapi\.dingtalk\.com/robot/send\?access_token=(?P<value2>[0-9a-f]{64})"
            r"|qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=(?P<value3>[0-9a-f-]{36})"
            r"|open\.(?:feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/(?P<value4>[0-9a-f-]{36}))"
        ),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.google_api_key",
        "high",
        re.compile(_TOKEN_START + r"AIza[\w-]{35}" + r"(?![\w-])"),
        valid=_entropy_at_least(4.0),
    ),
    SecretRule(
        "secret.stripe_key",  # live keys only: test-mode keys move no money
        "high",
        re.compile(_TOKEN_START + r"(?:sk|rk)_(?:live|prod)_[A-Za-z0-9]{10,99}" + _TOKEN_END),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.api_token",  # sk- (OpenAI, Anthropic), npm, PyPI, HF, SendGrid, Shopify, DO, Telegram
        "high",
        re.compile(
            _TOKEN_START
            + r"(?:sk-[A-Za-z0-9_-]{20,200}|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[\w-]{50,1000}"
            r"|hf_[A-Za-z]{34}|SG\.[\w-]{22}\.[\w-]{43}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"
            r"|do[opr]_v1_[a-f0-9]{64}|\d{8,10}:AA[\w-]{33})" + _TOKEN_END
        ),
        valid=_entropy_at_least(3.5),
    ),
    SecretRule(
        "secret.jwt",
        "medium",
        re.compile(_TOKEN_START + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
        valid=_entropy_at_least(3.0),
    ),
    SecretRule(
        "secret.password",  # 密码是 …, 密码admin123, 口令：…, password is hunter2, pwd: …
        "high",
        re.compile(
            rf"(?i)(?:{_PASSWORD_KEY_ZH}|{_PASSWORD_KEY_EN})"
            r"(?P<sep>\s*(?:[=:：]|是|为)\s*|\s+(?:is|was|would be|should be)\s*[:：]?\s*|\s+"
            r"|(?<=[码碼令])(?=[!-~]))"
            r"['\"“]?(?P<value>[!-~]{4,64}?)['\"”]?(?=$|[\s,，。;；、）)]|[^!-~])"
        ),
        valid=_password_value,
    ),
    SecretRule(
        "secret.password",  # requirepass s3cret (redis.conf), mysql -uroot -pS3cret, --password=…
        "high",
        re.compile(
            r"(?:requirepass\s+|(?<![\w-])--password[= ]|\bmysql\b[^\n]{0,60}?\s-p)"
            r"['\"]?(?P<value>[!-~]{4,64}?)['\"]?(?=$|\s)"
        ),
        valid=lambda value: not is_placeholder(value),
    ),
    SecretRule(
        "secret.password",  # admin / Gxjp!567, root/Passw0rd (a user name before it, or 账号 just before)
        "high",
        re.compile(
            r"(?<![\w/.:@-])(?P<user>[A-Za-z][\w.@-]{1,30})\s?/\s?(?P<value>[!-~]{6,32}?)(?=$|[\s,，。;；、]|[^!-~])"
        ),
        valid=_slashed_password,
        context=_ACCOUNT_WORDS,
        context_reach=12,
        users=_ADMIN_USERS,
    ),
    SecretRule(
        "secret.generic_api_key",  # api_key=3f9a…, app_secret: …, access_token = "…", 密钥：…
        "high",
        re.compile(
            r"(?i)(?<![A-Za-z0-9])(?P<key>[\w.-]{0,30}?(?:api[_.-]?key|apikey|api[_.-]?secret|app[_.-]?secret|"
            r"app[_.-]?key|client[_.-]?secret|secret[_.-]?key|secret|access[_.-]?key|access[_.-]?token|"
            r"auth[_.-]?token|token|private[_.-]?key|credentials?|密钥|秘钥|令牌))[\w.-]{0,20}"
            + _ASSIGN
            + r"(?P<value>[A-Za-z0-9_.=+/-]{10,150})(?![A-Za-z0-9_.=+/-])"
        ),
        valid=_generic_value,
        key_allowlist=_PUBLIC_KEY_NAME,
    ),
]
# Anything any rule above can match contains one of these (checked over the whole batch at once,
# lower-cased); the class in front lists the characters they start with.
PREFILTER = Prefilter(
    re.compile(
        r"(?=[密口秘令prmstkcalgxhdqfne_:/0-9])(?:密[\s*._-]?[码碼]|口[\s*._-]?令|密钥|秘钥|令牌|passw|passcode|pwd|requirepass|mysql"
        r"|secret|token|key|credential|akia|asia|abia|acca|a3t|ltai|akid|gh[pousr]_|github_pat_|gl[a-z]{1,5}-|xox"
        r"|xapp-|hooks\.slack|dingtalk|qyapi|feishu|larksuite|aiza|[sr]k_|sk-|npm_|pypi-|hf_|sg\.|shp|_v1_|eyj"
        r"|private key|://|\bsk\b|\d:aa|(?:(?<=[a-z])|(?<=[a-z]\s))/(?=\s?[!-~]))"
    ),
    starts="密口秘令prmstkcalgxhdqfne_:/0-9",
)


def mask_secret(value: str) -> str:
    """Keep a short prefix so a reviewer can tell which key leaked, hide the rest."""
    if value.startswith("-----BEGIN"):
        return "-----BEGIN PRIVATE KEY----- ****"
    keep = 4 if len(value) >= 12 else 1
    return value[:keep] + "*" * 6


def find_secrets(text: str) -> list[Sensitive]:
    """Secrets in a plain (width-folded) string, most specific rule first, no two overlapping."""
    out: list[Sensitive] = []
    for rule in RULES:
        for start, end, value in rule.find(text):
            if any(s < end and start < e for s, e, *_ in out):
                continue  # the same value already found by a more specific rule
            out.append(Sensitive(start, end, rule.rule, rule.severity, mask_secret(value)))
    return sorted(out)


@register
class Secret(TextDetector):
    category = "secret"

    def scan(self, view: TextView) -> list[Hit]:
        hits = []
        for found in find_secrets(view.folded.text):
            start, end = view.folded.span(found.start, found.end)
            kind = found.rule.split(".", 1)[1]
            evidence = {"kind": kind, "length": end - start}
            hits.append(
                Hit("secret", found.rule, found.severity, start, end, evidence=evidence, masked=found.masked)
            )
        return hits

    def candidates(self, batch: TextBatch) -> list[int]:
        return PREFILTER.candidates(batch.texts)
