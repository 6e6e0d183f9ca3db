import pytest

from auditor.detectors.base import Hit
from auditor.detectors.quarrel import Quarrel
from auditor.lexicon import Lexicon
from tests.detectors.day_helpers import CONFIG, at, day_of

ABUSE = [Hit("abuse", "abuse.you_are", "medium", 0, 2)]
SWEAR = [Hit("profanity", "profanity.lexicon", "medium", 0, 2)]
WOW = [Hit("profanity", "profanity.lexicon", "low", 0, 2)]  # 卧槽, 我靠: an interjection


def detect(rows, hostile):
    day = day_of(rows)
    hits = {f"m{i:04d}": kind for i, kind in hostile.items()}
    day.hits = hits
    return Quarrel(CONFIG["detectors"]["quarrel"], Lexicon([])).detect(day)


def test_two_people_trading_insults_is_one_quarrel():
    rows = [{"sender": s, "msgtime": at(30 * i)} for i, s in enumerate(["a", "b", "a", "b"])]
    [event] = detect(rows, {0: ABUSE, 1: SWEAR, 2: SWEAR, 3: ABUSE})
    assert event.evidence["participants"] == ["a", "b"]
    assert event.evidence["messages"] == 4 and event.msgid is None


@pytest.mark.parametrize(
    ("name", "senders", "gap", "hostile"),
    [
        ("one person swearing alone", ["a", "a", "a", "a"], 30, {0: SWEAR, 1: SWEAR, 2: SWEAR, 3: SWEAR}),
        ("too far apart", ["a", "b", "a"], 3600, {0: SWEAR, 1: SWEAR, 2: SWEAR}),
        ("only two hostile messages", ["a", "b", "c"], 30, {0: SWEAR, 1: SWEAR}),
        ("hostile messages in different rooms", ["a", "b", "a"], 30, {0: SWEAR, 1: SWEAR, 2: SWEAR}),
        (
            "colleagues cheering with interjections",
            ["a", "b", "c", "a"],
            20,
            {0: WOW, 1: WOW, 2: WOW, 3: WOW},
        ),
    ],
)
def test_not_a_quarrel(name, senders, gap, hostile):
    rows = [
        {"sender": s, "msgtime": at(gap * i), "roomid": f"r{i}" if "rooms" in name else "wr1"}
        for i, s in enumerate(senders)
    ]
    assert detect(rows, hostile) == []


def test_interjections_around_an_insult_are_a_quarrel():
    rows = [{"sender": s, "msgtime": at(30 * i)} for i, s in enumerate(["a", "b", "a"])]
    [event] = detect(rows, {0: WOW, 1: ABUSE, 2: WOW})
    assert event.evidence["participants"] == ["a", "b"] and event.evidence["messages"] == 3
