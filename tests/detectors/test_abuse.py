import pytest

CASES = [
    ("你是猪吗？这么简单都不会", "abuse.you_are"),
    ("你这个废物", "abuse.you_are"),
    ("你真是个垃圾", "abuse.you_are"),
    ("你脑子有病吧", "abuse.your_brain"),
    ("你脑子进水了", "abuse.your_brain"),
    ("你算什么东西，也配来指挥我", "abuse.who_are_you"),
    ("你算老几", "abuse.who_are_you"),
    ("你怎么不去死", "abuse.go_die"),
    ("人渣一个", "abuse.lexicon"),
    ("你們這些白癡", "abuse.lexicon"),  # traditional
    ("你是*猪吧", "abuse.you_are"),  # inserted symbol
    ("你这个混蛋", "abuse.lexicon"),
    ("混…蛋，谁让你删的", "abuse.lexicon"),
    ("你脑瘫吧", "abuse.lexicon"),
    ("脑、、瘫才这么设计", "abuse.lexicon"),
    ("贱 货", "abuse.lexicon"),
    ("一群智😊障", "abuse.lexicon"),
    ("死全家", "abuse.lexicon"),
    ("《无耻混蛋》说的就是你这个混蛋", "abuse.lexicon"),  # the insult outside the title still counts
]
HARD_NEGATIVES = [
    "你是猪肉供应商吗",
    "你不是猪",
    "你垃圾分类了吗",
    "你是垃圾分类负责人吧",
    "垃圾桶在哪里",
    "废物利用，节约成本",
    "你是我们的新同事吗",
    "你脑子真好使",
    "这个算法算什么复杂度",
    "关爱智障人士公益活动",
    "关爱脑瘫患儿，本周六义卖",
    "弱智儿童康复中心的志愿者招募",
    "他在智力障碍学校当老师",
    "猪头肉卖完了",
    "下午请了神经病学专家会诊",
    "《无耻混蛋》是昆汀导演的电影",  # titles of works name a film or a book, not a person
    "你看过陀思妥耶夫斯基的《白痴》吗？",
]


@pytest.mark.parametrize(("text", "rule"), CASES)
def test_abuse_found(hits, text, rule):
    assert rule in {h.rule for h in hits(text, "abuse")}


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_abuse(hits, text):
    assert not hits(text, "abuse")


def test_every_pattern_starts_with_the_word_that_gates_it():
    from auditor.detectors.abuse import PATTERNS, PERSON

    assert all(pattern.pattern.startswith(PERSON) for _, _, pattern in PATTERNS)
