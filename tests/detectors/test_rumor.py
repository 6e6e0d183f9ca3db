import pytest

CASES = [
    ("紧急扩散！听说公司下个月要裁员一半，内部消息，不转不是自己人", "rumor.spread", "high"),
    ("据说喝板蓝根能治癌症，速转给家人", "rumor.debunked", "high"),
    ("转发周知：内部消息说公司年底要倒闭了", "rumor.debunked", "high"),
    ("听说下个月要降薪", "rumor.unverified_claim", "medium"),
    ("内部消息：公司被收购后要大裁员", "rumor.unverified_claim", "medium"),
    ("紧急扩散！！据说明天全员停工", "rumor.spread", "medium"),
    ("緊急擴散，聽說要裁員", "rumor.spread", "high"),  # traditional
]
HARD_NEGATIVES = [
    "听说你下周休假？",
    "据说明天会下雨",
    "公司今年没有裁员计划，请大家安心工作",
    "请把会议纪要转发给项目组",
    "速度转起来，今天要上线",
]


@pytest.mark.parametrize(("text", "rule", "severity"), CASES)
def test_rumor_found(hits, text, rule, severity):
    found = {h.rule: h.severity for h in hits(text, "rumor")}
    assert found.get(rule) == severity, found


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_single_cues_are_chat_not_rumor(hits, text):
    assert not hits(text, "rumor")
