import pytest

CASES = [
    ("低价代购各种大牌，加微信 wxid_dg8823，扫码领优惠券", "ad.promo_with_contact"),
    ("兼职刷单日赚三百，加V：abc5566，名额有限", "ad.strong"),
    ("专业代开发票，联系 QQ 88776655", "ad.strong"),
    ("一手货源，厂家直销，vx: seller_2024", "ad.promo_with_contact"),
    ("限时特价，点击领取 https://promo.example.cn", "ad.promo_with_contact"),
]
HARD_NEGATIVES = [
    "我们的优惠券下周到期，请提醒客户使用",  # promo phrase, no contact
    "加微信聊一下需求",  # contact, no promo
    "新品体验活动名额有限，请在系统里报名",
    "扫码签到",
]


@pytest.mark.parametrize(("text", "rule"), CASES)
def test_ad_found(hits, text, rule):
    assert rule in {h.rule for h in hits(text, "ad")}


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_an_ad(hits, text):
    assert not hits(text, "ad")
