"""What the learned rumor and ad models read: the wording, not the contact details or the number values.

Contact handles, links and numbers are the rules' cues (``detectors.ad.CONTACT``, the spread
phrases); a model that also learns them fires on a bare phone number or a helpdesk reply with a
hotline, and then "model and cue agree" means nothing. So links are dropped, every digit run reads as
one ``0`` (a price, a phone number and a date look alike) and a run of the same punctuation reads as
one mark (！！！！ is a tone of voice, common in chat). Training and scoring both go through ``view``.
"""

from __future__ import annotations

import re

VIEW = "wording/1"  # recorded in the artifact: a model is scored through the view it was trained on
_LINK = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u4e00-\u9fff]*|O网页链接")
_DIGITS = re.compile(r"\d+")
_REPEATED_MARK = re.compile(r"([!！?？~～.。…,，、])\1+")


def view(text: str) -> str:
    text = _LINK.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return _REPEATED_MARK.sub(r"\1", text)
