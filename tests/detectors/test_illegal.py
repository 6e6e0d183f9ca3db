import pytest

CASES = [
    ("有人玩网上赌博吗，百家乐稳赚不赔", "illegal.gambling", "critical"),
    ("出售冰毒，量大从优，私聊", "illegal.drugs", "critical"),
    ("低价出售仿真枪支弹药", "illegal.weapons", "critical"),
    ("看黄色视频加我，全是高清无码", "illegal.pornography", "critical"),
    ("網上賭場開業，充值送百分之五十", "illegal.gambling", "critical"),  # traditional
    ("赌*博网站了解一下", "illegal.gambling", "high"),  # evasion, no solicitation
    ("明天弄死你", "illegal.violence", "high"),
    # a word of awareness does not cover an offer or a demand
    ("科普一下冰毒的危害，想要的私聊", "illegal.drugs", "critical"),
    ("禁毒宣传月，顺便问下哪里能买到大麻", "illegal.drugs", "high"),
]
HARD_NEGATIVES = [
    "公司严禁赌博，违者开除",
    "远离毒品，珍爱生命，不碰冰毒",
    "这是个大麻烦",
    "请勿传播色情内容",
    "打击洗钱是银行的责任",
    # education, campaigns and news about the offence
    "冰毒和海洛因的危害科普",
    "禁毒宣传月：大麻不是软毒品",
    "警方破获一起网络赌博案，涉案金额上亿",
    "合规培训案例：员工参与赌博被依法处理",
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
