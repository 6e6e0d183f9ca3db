"""Notice texts from jinja2 templates in ``reports/templates/notices/`` (``KIND.LANG.txt.j2``).

Each template has a ``subject`` block and a ``body`` block. The body is plain text (autoescape off:
nothing renders it as markup; the WeCom channel neutralises angle brackets itself). The subject
becomes an e-mail header and a card title, so it is rendered from the *header* values alone
(dates, counts, ids): chat content such as a group name is not even in its context, and what comes
out is folded onto one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from auditor.resources import data_dir


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates") / "notices"),
        autoescape=False,  # plain text; see the module docstring for why that is safe here
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def one_line(text: str) -> str:
    """Every run of whitespace or control characters → one space: a header can never be split."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def render(kind: str, lang: str, header: dict[str, Any], body: dict[str, Any]) -> Rendered:
    """The notice ``kind`` in ``lang``: ``header`` values reach the subject, ``body`` values only the body."""
    template = environment().get_template(f"{kind}.{lang}.txt.j2")
    subject = "".join(template.blocks["subject"](template.new_context(dict(header))))
    text = "".join(template.blocks["body"](template.new_context({**header, **body})))
    return Rendered(one_line(subject), text.strip() + "\n")
