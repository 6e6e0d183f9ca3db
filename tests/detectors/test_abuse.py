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
    # a word of stupidity said at someone else, next to the forms excused below
    ("我看你就是个白痴", "abuse.lexicon"),
    ("你比我还白痴", "abuse.lexicon"),
    ("这么简单，连白痴都知道", "abuse.lexicon"),
    ("你问的问题真白痴，你是白痴吗", "abuse.you_are"),
    ("张三那个白痴又把库删了", "abuse.lexicon"),
    ("你的代码太垃圾了", "abuse.lexicon"),  # someone's work, next to the things excused below
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
    # a word of stupidity the writer turns on themself, on a question, or on how easy a thing is
    "我真是个白痴，把密码输错了三次",
    "我好白痴啊，忘了带工牌",
    "问个白痴问题，这个接口怎么调？",
    "可能是个弱智问题，但是测试环境的账号在哪申请？",
    "哈哈，这话问的有点白痴了，不过具体哪年上映的我还真是不记得了？",  # KdConv (eval train split)
    "这个问题有点脑残，不过还是想确认一下",
    "白痴都能看懂的教程",
    "这个工具是傻瓜式操作，很简单",
    # a thing at work called disgusting or rubbish
    "这个bug太恶心了，查了一下午",
    "这批货的质量太垃圾了，要退回供应商",
    "测试环境垃圾得很",
    "今天天气好恶心，又闷又潮",
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
