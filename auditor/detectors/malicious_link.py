"""Malicious links and files (恶意链接): the lures of phishing and malware in group chat.

A URL is suspicious when its host is a bare public IP address (also written as one number, in hex or
in octal), a URL shortener (also a link on one written without its scheme, as chat writes them:
t.cn/A6x…), punycode or a look-alike of a well-known brand (not the brand's own domains), when it is
on the blocklist, or when it downloads an executable or script; a file (a file message, or a name in
text) is suspicious with an executable extension or a double extension (工资表.xlsx.exe). Links to
well-known work domains (link_allowlist.txt) are never hits, unless the domain is one where anyone
can publish a file (link_user_content.txt: github.com, gitee.com, cloud drives), whose executable and
double-extension downloads are still hits. An address no one outside can reach
(private, loopback, link-local: http://10.0.0.5:8080/jenkins, http://127.0.0.1:5000) is how teams
name their own servers, not a phishing host; its link is still checked for everything else (an
executable download from it is a hit).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit

from auditor.detectors import register
from auditor.detectors.base import Hit, Prefilter, TextBatch, TextDetector, TextView

URL_TAIL = r"[^\s<>\"'，。！？、；：（）【】《》]+"
URL = re.compile(rf"(?:https?://|www\.){URL_TAIL}", re.I)
DOC_EXTENSIONS = "doc|docx|xls|xlsx|ppt|pptx|pdf|txt|jpg|jpeg|png|gif|zip|rar|mp4"
DOUBLE_EXTENSION = re.compile(rf"[^\s/\\]+\.(?:{DOC_EXTENSIONS})\.(?P<ext>[a-z0-9]{{2,4}})(?![a-z0-9])", re.I)
# Brands phishing dresses up as, each with the domains that are its own: a host with a label opening on
# the brand (homoglyphs read as letters) is a look-alike unless it lies under one of them, so
# item.taobao.com and www.icbc.com.cn are the brands themselves, and taobao-refund.top is not.
BRANDS = {
    "paypal": frozenset({"paypal.com", "paypal.cn", "paypalobjects.com"}),
    "apple": frozenset({"apple.com", "apple.com.cn", "icloud.com", "icloud.com.cn"}),
    "microsoft": frozenset({"microsoft.com", "microsoftonline.com", "live.com", "office.com"}),
    "weixin": frozenset({"weixin.qq.com", "qq.com"}),
    "wechat": frozenset({"wechat.com"}),
    "alipay": frozenset({"alipay.com", "alipay.cn", "alipayobjects.com"}),
    "taobao": frozenset({"taobao.com"}),
    "icbc": frozenset({"icbc.com.cn"}),
    "tencent": frozenset({"tencent.com", "tencentcloud.com", "qq.com"}),
}
SCRIPT_URL = re.compile(r"(?<![a-z])(?:javascript|vbscript|data:text/html)\s*:?", re.I)
# Anything a rule above can match holds one of these; files are always scanned (executable_file).
PREFILTER = Prefilter(
    re.compile(
        rf"(?=[hwjvd.])(?:https?://|www\.|javascript|vbscript|data:text/html|\.(?:{DOC_EXTENSIONS})\."
        r"|\.[a-z]{2,6}/)",  # the end of a host before its path: a bare link (t.cn/A6x…)
        re.I,
    ),
    starts="hwjvdHWJVD.",
)
HOMOGLYPHS = str.maketrans("013457@", "oleasta")  # paypa1 → paypal, rn is left to punycode checks


def _ip_host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host names, in every form a browser reads as one: dotted or IPv6, and the
    integer, hex and octal forms phishing hides one in (http://760024073/, http://0x2d4d0c09/,
    http://055.0115.014.011/ are all 45.77.12.9), which ``inet_aton`` parses as browsers do."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _lookalike(host: str) -> bool:
    """Whether a label of ``host`` opens on a brand (read through HOMOGLYPHS: paypa1 is paypal) while
    ``host`` is not under one of that brand's own domains (compared as written: paypa1.com is not
    paypal.com)."""
    tokens = re.split(r"[.-]", host.translate(HOMOGLYPHS))
    return any(
        token.startswith(brand) and not _suffix_in(host, domains)
        for brand, domains in BRANDS.items()
        for token in tokens
    )


def _suffix_in(host: str, domains: frozenset[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))


@register
class MaliciousLink(TextDetector):
    category = "malicious_link"

    def __init__(self, settings, lexicon):
        super().__init__(settings, lexicon)
        self.extensions = frozenset(e.lower().lstrip(".") for e in settings["dangerous_extensions"])
        self.allowed = lexicon.sets["link_allowlist"]
        self.blocked = lexicon.sets["link_blocklist"] | frozenset(d.lower() for d in settings["blocklist"])
        self.shorteners = lexicon.sets["shorteners"]
        self.user_content = lexicon.sets["link_user_content"]
        # Chat writes a shortened link without its scheme (t.cn/A6xyz, bit.ly/3x…): on a shortener's host
        # that is a link too. Not inside a longer host or a URL (no letter, digit, dot, @ or / before it).
        hosts = "|".join(map(re.escape, sorted(self.shorteners, key=len, reverse=True)))
        self.bare_links = re.compile(rf"(?<![\w.@/-])(?:{hosts})/{URL_TAIL}", re.I) if hosts else None

    def _url_reasons(self, url: str) -> list[tuple[str, str]]:
        candidate = url if "://" in url else f"http://{url}"
        try:
            parsed = urlsplit(candidate)
            host = (parsed.hostname or "").lower().rstrip(".")
        except ValueError:
            # a sticker code typed right after a link (bit.ly/x[呲牙]) reads as a bad IPv6 host:
            # the link ends where the bracket starts
            try:
                parsed = urlsplit(candidate.split("[", 1)[0])
                host = (parsed.hostname or "").lower().rstrip(".")
            except ValueError:
                return []
        if not host:
            return []
        path = unquote(parsed.path).lower()
        if _suffix_in(host, self.allowed):  # a work domain: only what anyone may have uploaded to it
            if not _suffix_in(host, self.user_content):
                return []
            # a program from a code host is often a team's own tool: worth a look, not an alarm
            return [
                (rule, "medium" if rule.endswith("executable_download") else severity)
                for rule, severity in self._download_reasons(path)
            ]
        reasons = []
        address = _ip_host(host)
        if address is not None and address.is_global:
            reasons.append(("malicious_link.ip_host", "high"))
        if _suffix_in(host, self.blocked):
            reasons.append(("malicious_link.blocklist", "high"))
        if _suffix_in(host, self.shorteners):
            reasons.append(("malicious_link.shortener", "medium"))
        if any(label.startswith("xn--") for label in host.split(".")):
            reasons.append(("malicious_link.punycode", "high"))
        elif _lookalike(host):
            reasons.append(("malicious_link.lookalike", "high"))
        return reasons + self._download_reasons(path)

    def _download_reasons(self, path: str) -> list[tuple[str, str]]:
        """What a URL's (lower-cased, unquoted) path downloads: a double-extension or executable file."""
        if DOUBLE_EXTENSION.search(path):
            return [("malicious_link.double_extension", "critical")]
        if "." in path.rsplit("/", 1)[-1] and path.rsplit(".", 1)[-1] in self.extensions:
            return [("malicious_link.executable_download", "high")]
        return []

    def scan(self, view: TextView) -> list[Hit]:
        text = view.folded.text
        hits = []
        covered: list[tuple[int, int]] = []
        links = [*URL.finditer(text), *(self.bare_links.finditer(text) if self.bare_links else ())]
        for found in links:
            url = found.group().rstrip(".,;:!?)")
            s, e = found.start(), found.start() + len(url)
            covered.append((s, e))
            reasons = self._url_reasons(url)
            if reasons:
                start, end = view.folded.span(s, e)
                rule, severity = max(reasons, key=lambda r: ("low", "medium", "high", "critical").index(r[1]))
                hits.append(
                    Hit(
                        "malicious_link",
                        rule,
                        severity,
                        start,
                        end,
                        evidence={"url": url[:300], "reasons": [r for r, _ in reasons]},
                    )
                )
        for found in DOUBLE_EXTENSION.finditer(text):
            s, e = found.span()
            if found.group("ext").lower() in self.extensions and not any(a <= s < b for a, b in covered):
                start, end = view.folded.span(s, e)
                hits.append(
                    Hit(
                        "malicious_link",
                        "malicious_link.double_extension",
                        "critical",
                        start,
                        end,
                        evidence={"file": found.group()[:200]},
                    )
                )
        for found in SCRIPT_URL.finditer(text):
            if found.group().lower().startswith("data") or found.group().endswith(":"):
                start, end = view.folded.span(*found.span())
                hits.append(
                    Hit(
                        "malicious_link",
                        "malicious_link.script_url",
                        "high",
                        start,
                        end,
                        evidence={"scheme": found.group().rstrip(":").strip().lower()},
                    )
                )
        if view.is_file and not hits:
            name = text.strip().lower()
            if "." in name and name.rsplit(".", 1)[-1] in self.extensions:
                hits.append(
                    Hit(
                        "malicious_link",
                        "malicious_link.executable_file",
                        "high",
                        0,
                        len(view.text),
                        evidence={"file": view.text[:200]},
                    )
                )
        return hits

    def candidates(self, batch: TextBatch) -> list[int]:
        """Texts the prefilter finds a link or a file name in, and every file."""
        return sorted({*PREFILTER.candidates(batch.texts), *batch.file_rows})
