import datetime as dt

import pytest

from auditor.detectors.membership import Membership
from auditor.lexicon import Lexicon
from tests.detectors.day_helpers import CONFIG, LEFT, at, day_of


def detect(rows, roster=None):
    return Membership(CONFIG["detectors"].get("membership", {}), Lexicon([])).detect(
        day_of(rows, roster=roster or {"gone": LEFT})
    )


@pytest.mark.parametrize(
    ("name", "rows", "rules"),
    [
        (
            "left employee still posting",
            [{"sender": "gone", "msgtime": at(0)}, {"sender": "gone", "msgtime": at(9)}],
            ["membership.left_member"],
        ),
        (
            "external contact in internal group",
            [{"sender": "wmVendor", "msgtime": at(0)}],
            ["membership.external_in_internal_group"],
        ),
        (
            "external contact in project group",
            [{"sender": "wmVendor", "msgtime": at(0), "group_category": "project"}],
            ["membership.external_in_internal_group"],
        ),
    ],
)
def test_membership_breaches(name, rows, rules):
    assert [e.rule for e in detect(rows)] == rules


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        (
            "external contact in a customer group",
            [{"sender": "wmCust", "msgtime": at(0), "group_category": "customer"}],
        ),
        ("a robot in an internal group", [{"sender": "wbBot", "msgtime": at(0)}]),
        ("an active employee", [{"sender": "zhangwei", "msgtime": at(0)}]),
        ("left employee, one-to-one chat", [{"sender": "gone", "roomid": "", "msgtime": at(0)}]),
    ],
)
def test_not_a_breach(name, rows):
    assert detect(rows) == []


def test_posting_on_the_leaving_day_is_allowed():
    roster = {"gone": {**LEFT, "left_date": dt.date(2026, 11, 16)}}
    assert detect([{"sender": "gone", "msgtime": at(0)}], roster) == []
