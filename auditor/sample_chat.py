"""Chat texts with the variety of real chat, for ``auditor sample --realism real``.

Real workplace chat repeats its acknowledgements (收到, 好的, 👍) but writes most other messages
once. The template sample cannot show that: its texts are a few dozen lines with names swapped
in. Here the sentences come from real conversational Chinese (``auditor/corpus/conversation.txt``:
CrossWOZ and KdConv utterances, Apache-2.0, built by eval/build/sample_chat.py), used as they are
or recombined clause by clause, so a million messages are mostly distinct, from two characters to
several hundred, while acknowledgements and stickers keep the share they have in real groups.
"""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus" / "conversation.txt"

# Acknowledgements, reactions and sticker codes, most frequent first (weights fall off by rank).
ACKNOWLEDGEMENTS = [
    "收到",
    "好的",
    "👍",
    "嗯嗯",
    "好",
    "ok",
    "谢谢",
    "收到，谢谢",
    "[强]",
    "好的，收到",
    "明白",
    "OK",
    "辛苦了",
    "没问题",
    "哈哈哈",
    "嗯",
    "可以",
    "👌",
    "好滴",
    "[OK]",
    "谢谢大家",
    "收到👍",
    "1",
    "对的",
    "是的",
    "好嘞",
    "[捂脸]",
    "🙏",
    "稍等",
    "马上",
    "在的",
    "好的👌",
    "哈哈",
    "了解",
    "[抱拳]",
    "行",
    "👏👏",
    "[微笑]",
    "收到！",
    "明白了",
]
# What people put around a sentence in a group: an address, a particle, an emoji.
OPENERS = ["", "", "", "", "@{p} ", "{p}，", "嗯，", "对，", "哈哈，", "另外，", "那", "请问"]
ENDINGS = ["。", "。", "", "", "！", "？", "～", "哈", "呢", "吧", "😂", "[呲牙]"]
# Ends of clauses and sentences: kept with the clause they close.
CLAUSE = re.compile(r"[^，,；;。！？!?~～…]+[，,；;。！？!?~～…]*")
SEPARATORS = "，,；;。！？!?~～…"
# Shares of text messages by kind; the rest are clause recombinations.
ACK_SHARE, VERBATIM_SHARE, LONG_SHARE = 0.27, 0.12, 0.04


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The packaged utterances and their clauses (separators stripped), in file order."""
    lines = [
        line
        for line in CORPUS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    clauses = dict.fromkeys(
        clause.rstrip(SEPARATORS).strip() for line in lines for clause in CLAUSE.findall(line)
    )
    return tuple(lines), tuple(c for c in clauses if len(c) >= 2)


class ChatText:
    """Draws one ordinary chat text at a time from a seeded random source (deterministic)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines, self.clauses = corpus()
        self.ack_weights = [1 / (rank + 1) for rank in range(len(ACKNOWLEDGEMENTS))]

    def _sentence(self, clauses: int) -> str:
        rng = self.rng
        return "，".join(rng.choice(self.clauses) for _ in range(clauses)) + rng.choice(ENDINGS)

    def text(self, people: list[str]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < ACK_SHARE:
            return rng.choices(ACKNOWLEDGEMENTS, self.ack_weights)[0]
        if roll < ACK_SHARE + VERBATIM_SHARE:
            return rng.choice(self.lines)
        if roll < ACK_SHARE + VERBATIM_SHARE + LONG_SHARE:
            # a long message: several sentences, sometimes one per line
            sentences = [self._sentence(rng.randint(2, 5)) for _ in range(rng.randint(3, 9))]
            return ("\n" if rng.random() < 0.3 else "").join(sentences)
        opener = rng.choice(OPENERS).format(p=rng.choice(people))
        return opener + self._sentence(min(6, 1 + int(rng.expovariate(0.9))))
