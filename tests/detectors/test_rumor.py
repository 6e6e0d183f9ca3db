import pytest

CASES = [
    ("紧急扩散！听说公司下个月要裁员一半，内部消息，不转不是自己人", "rumor.spread", "high"),
    ("据说喝板蓝根能治癌症，速转给家人", "rumor.debunked", "high"),
    ("转发周知：内部消息说公司年底要倒闭了", "rumor.debunked", "high"),
    ("听说下个月要降薪", "rumor.unverified_claim", "medium"),
    ("内部消息：公司被收购后要大裁员", "rumor.unverified_claim", "medium"),
    ("紧急扩散！！据说明天全员停工", "rumor.spread", "medium"),
    ("緊急擴散，聽說要裁員", "rumor.spread", "high"),  # traditional
    ("据可靠消息，今年年终奖取消了", "rumor.unverified_claim", "medium"),
    ("重磅！喝醋能软化血管，赶紧告诉家人", "rumor.spread", "high"),
    ("最新消息：5G基站辐射致癌，已有多人中招", "rumor.unverified_claim", "medium"),
    # denying that it is a rumor is no counter-speech
    ("这不是谣言！听说公司下个月要裁员，速转", "rumor.spread", "high"),
    ("求辟谣：听说公司下个月要裁员，速转", "rumor.spread", "high"),  # asks for a debunk, spreads it
]
HARD_NEGATIVES = [
    "听说你下周休假？",
    "据说明天会下雨",
    "公司今年没有裁员计划，请大家安心工作",
    "请把会议纪要转发给项目组",
    "速度转起来，今天要上线",
    "哈哈，这是真的[呲牙]",  # the sticker code's letters made it long enough for the model
    # Work chat with 通知 and 转发: group address and forwarding are how a team talks.
    "请大家转发一下这个通知给项目组",
    "麻烦大家转发一下这个通知",
    "转发：关于2024年春节放假安排的通知",
    "通知：本周五下午全员大会，地点三楼会议室",
    "明天下午三点开会，请大家准时参加",
    "据说这个接口下周要升级，文档在 https://wiki.company.com/api",
    "最新消息：会议改到下午三点",  # hearsay alone
    "吸烟致癌，大家少抽点",  # a topic alone
    "记得告诉家人今晚聚餐",  # a push to tell alone
    # counter-speech: the rumor repeated to refute it
    "听说要裁员？别信谣言，等官方通知",
    "辟谣：网传公司年底要倒闭，系不实消息",
    "“喝板蓝根能治癌症”是谣言，大家不要转发",
    "有人说下个月要降薪，这是假消息，不信谣不传谣",
]
# Real rumors from the held-out test split (eval/data/rumor/test.csv, Weibo), hearsay openers included.
REAL_RUMORS = [
    "网传俄罗斯为确保疫情期间民众待在室内，放出去500头狮子。太迷了吧，这么硬核，很俄罗斯，看起来都不像假新闻了，不过为什么不是熊呢？#俄罗斯疫情#",
    "听说是腾讯北分，银科大厦17层腾讯微博team的一个同事，在办公室里累倒了。现在具体什么情况不明，也有谣传说。。。了。"
    "不管怎么说，咱们干互联网的兄弟们，一定要珍惜自己的身体！！！",
    "尼古拉斯·凯奇死了 据说",
]


@pytest.mark.parametrize(("text", "rule", "severity"), CASES)
def test_rumor_found(hits, text, rule, severity):
    found = {h.rule: h.severity for h in hits(text, "rumor")}
    assert found.get(rule) == severity, found


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_single_cues_are_chat_not_rumor(hits, text):
    assert not hits(text, "rumor")


@pytest.mark.parametrize("text", REAL_RUMORS)
def test_real_rumors_are_found_by_the_model(hits, text):
    found = {h.rule: h for h in hits(text, "rumor")}
    hit = found["rumor.model"]
    assert hit.evidence["fired_by"] == "model" and hit.evidence["model"].startswith("rumor/")
    assert hit.evidence["ngrams"] and hit.score >= 0.6
    assert not any("\u200b" in gram for gram in hit.evidence["ngrams"])  # a corpus trait, not wording


@pytest.mark.parametrize(
    ("text", "cue"),
    [  # real posts from the dev split that the model alone scores below its threshold
        ("网传这是新浪微博中午抽风的原因。。。。", "网传"),
    ],
)
def test_model_and_cue_agree_below_the_model_threshold(hits, text, cue):
    [hit] = hits(text, "rumor")
    assert hit.rule == "rumor.model_cue" and hit.evidence["fired_by"] == "model+cue"
    assert hit.evidence["cues"] == [cue]
