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
    # a comparison does not cover an offer
    ("这游戏就像赌博，充值就能赢钱，加我", "illegal.gambling", "critical"),
    ("今晚一起去赌博吧", "illegal.gambling", "high"),
    ("他和赌博网站的人有联系", "illegal.gambling", "critical"),  # 和 is no comparison
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
    # figures of speech: a comparison, no offer
    "这个方案有点赌博的意思，风险太大",
    "上线不做灰度就是在赌博",
    "这款游戏像毒品一样让人上瘾",
    "押这么多在一个客户身上，简直是赌博",
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
