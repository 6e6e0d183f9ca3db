import pytest

POSITIVES = [
    "你他妈的能不能快点回复",
    "卧槽，这需求又改了",
    "傻逼产品经理",
    "tmd 又要通宵加班",
    "WTF is this",
    "我操，这也行",
    "操你大爷",
    "你个贱人",
    "我草，又宕机了",
    "mlgb 谁改的配置",
    "MMP，白加班了",
]
EVASIONS = [
    "這什麼破方案，他媽的",  # traditional
    "傻*逼才这么写代码",  # inserted symbol
    "傻 逼",  # space
    "傻.逼",
    "傻😊逼",  # emoji
    "傻\u200b逼",  # zero-width space
    "ＳＢ吧你",  # full-width letters
    "ＴＭＤ",
    "傻逼逼逼逼",  # repeats
    "SB!",
]
HARD_NEGATIVES = [
    "下班后去操场打球的举手",
    "这个需求的操作流程我整理好了",
    "食堂今天中午有鸡蛋羹",
    "今天的日报请下班前提交",
    "日本分公司的同事下周来访",
    "型号 SB2024 的配件已经到货了",
    "体操比赛",
    "tmdb 数据库",
    "收到",
    "他妈妈做的饭很好吃",
    "我靠谱吗？",
    "我草拟了一份方案",  # 草拟 = to draft
    "草稿已经发群里了",
    "mmpx 是图片格式吗",
]


@pytest.mark.parametrize("text", POSITIVES + EVASIONS)
def test_profanity_found(hits, text):
    assert hits(text, "profanity"), text


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_innocent_lookalikes_are_not_profanity(hits, text):
    assert not hits(text, "profanity"), [h.evidence for h in hits(text, "profanity")]


def test_offsets_point_into_the_original_text(hits):
    text = "真是傻*逼啊"
    [hit] = hits(text, "profanity")
    assert text[hit.start : hit.end] == "傻*逼"
