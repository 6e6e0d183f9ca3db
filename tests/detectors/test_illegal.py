import pytest

CASES = [
    ("有人玩网上赌博吗，百家乐稳赚不赔", "illegal.gambling", "critical"),
    ("出售冰毒，量大从优，私聊", "illegal.drugs", "critical"),
    ("低价出售仿真枪支弹药", "illegal.weapons", "critical"),
    ("看黄色视频加我，全是高清无码", "illegal.pornography", "critical"),
    ("網上賭場開業，充值送百分之五十", "illegal.gambling", "critical"),  # traditional
    ("赌*博网站了解一下", "illegal.gambling", "high"),  # evasion, no solicitation
    ("明天弄死你", "illegal.violence", "high"),
]
HARD_NEGATIVES = [
    "公司严禁赌博，违者开除",
    "远离毒品，珍爱生命，不碰冰毒",
    "这是个大麻烦",
    "请勿传播色情内容",
    "打击洗钱是银行的责任",
]


@pytest.mark.parametrize(("text", "rule", "severity"), CASES)
def test_illegal_found_with_subtype(hits, text, rule, severity):
    found = hits(text, "illegal")
    assert rule in {h.rule for h in found}
    assert max(h.severity for h in found if h.rule == rule) == severity or severity in {
        h.severity for h in found
    }


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_prohibitions_and_lookalikes_are_not_illegal(hits, text):
    assert not hits(text, "illegal")
