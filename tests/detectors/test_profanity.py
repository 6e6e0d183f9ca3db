"""Profanity: an evasion table (every positive × every separator, Latin letters split, pinyin,
traditional, full-width) and a hard-negative table (must not fire).

The same table is committed as eval/data/profanity/test.csv for ``make eval``; after changing it,
rewrite the file with ``python -m tests.detectors.test_profanity``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

EVAL_CSV = Path(__file__).resolve().parents[2] / "eval" / "data" / "profanity" / "test.csv"

# What people put between the characters of a word to slip past a filter.
SEPARATORS = {
    "space": " ",
    "star": "*",
    "ellipsis": "…",
    "enum_comma": "、、",
    "dot": ".",
    "underscore": "_",
    "emoji": "😊",
    "zero_width": "\u200b",
}
# A profanity term and a sentence it is used in ("{}" marks where).
CHINESE = [
    ("傻逼", "{}产品经理又改需求"),
    ("婊子", "她就是个{}"),
    ("他妈的", "你{}能不能快点回复"),
    ("操你妈", "{}，谁删的库"),
    ("傻卵", "这个{}又把构建搞挂了"),
    ("憨批", "别理那个{}"),
    ("王八蛋", "哪个{}动了我的配置"),
    ("狗日的", "{}又不回消息"),
    ("贱人", "你个{}"),
    ("草泥马", "{}，又宕机了"),
    ("妈卖批", "{}，又要加班"),
    ("滚犊子", "赶紧{}"),
]
LATIN = [
    ("sb", "你个{}"),
    ("tmd", "{}又要通宵"),
    ("cnm", "{}谁改的代码"),
    ("nmsl", "{}！"),
    ("mlgb", "{}，白干了"),
    ("wtf", "{} is this"),
]
PINYIN = [
    "shabi 吧你",
    "你就是个 shabi",
    "SHABI",
    "ShaBi 一个",
    "sha bi",
    "sha-bi 产品",
    "sha.bi",
    "sha_bi",
    "sha*bi",
    "sha😊bi",
    "caonima",
    "cao ni ma 谁干的",
    "CaoNiMa",
    "tamade 又改了",
    "ta ma de",
    "nimabi",
    "wo cao 宕机了",
    "wocao",
]
TRADITIONAL_AND_WIDTH = [
    "這什麼破方案，他媽的",
    "操你媽",
    "你個賤人",
    "ＳＢ吧你",
    "ｓｂ",
    "ＴＭＤ",
    "ｓｈａｂｉ",
    "傻Ｂ",
    "傻 B",
    "傻 b 一个",
    "傻*B",
    "傻逼逼逼逼",
    "SB!",
    "傻\u200b逼",
    "傻😊️逼",
    "婊…子",
    "婊、、子",
    "婊……子",
    "他、妈、的",
    "草—泥—马",
]
PLAIN = [
    "你他妈的能不能快点回复",
    "卧槽，这需求又改了",
    "tmd 又要通宵加班",
    "WTF is this",
    "我操，这也行",
    "操你大爷",
    "我草，又宕机了",
    "mlgb 谁改的配置",
    "MMP，白加班了",
    "这他妈谁写的",
    "妈的，又加班",
    "你尼玛的能不能看群",
    "傻缺才这么写",
    "他m的又宕机",
    "你m的能不能看群",
]


def _split(word: str, separator: str) -> str:
    return separator.join(word)


def evasions() -> list[str]:
    """Every positive of the table, in a fixed order."""
    rows = list(PLAIN)
    for term, sentence in CHINESE + LATIN:
        rows.append(sentence.format(term))
        rows += [sentence.format(_split(term, sep)) for sep in SEPARATORS.values()]
    return rows + PINYIN + TRADITIONAL_AND_WIDTH


HARD_NEGATIVES = [
    # from issue 13
    "他妈的手术很成功",
    "尼玛次仁下周来北京出差",
    "StringBuilder sb = new StringBuilder();",
    "sb.append(name);",
    "关爱智障人士公益活动",
    "关爱脑瘫患儿，本周六义卖",
    # everyday lookalikes
    "下班后去操场打球的举手",
    "这个需求的操作流程我整理好了",
    "体操比赛",
    "垃圾桶在哪里",
    "我草拟了一份方案",
    "草稿已经发群里了",
    "型号 SB2024 的配件已经到货了",
    "傻瓜相机也能拍得很好",
    "食堂今天中午有鸡蛋羹",
    "今天的日报请下班前提交",
    "日本分公司的同事下周来访",
    "tmdb 数据库",
    "mmpx 是图片格式吗",
    "他妈妈做的饭很好吃",
    "我靠谱吗？",
    "收到",
    "我妈的意思是周末回家",
    "他妈生病住院了，请假两天",
    "你妈妈身体还好吗",
    "她妈的生日是下周三",
    "扎西尼玛是我们藏区的销售",
    "见 a/b 测试的结果",
    "s/b 25, not 24",
    "A B 两个方案你选一个",
    "os.path.join(base, name)",
    "wxid_sbabc123 是他的微信",
    "牛逼，这个方案太好了",
    "装逼的事别干",
    "2B铅笔和橡皮带好",
    "这次 nima 算法的效果不错",
    "傻傻分不清楚",
    "逼真的效果图",
    "被逼无奈只好加班",
    "操心的事太多了",
    "贱卖库存",
    "日狗的新闻你看了吗",
    "他的妈妈是老师",
    "鸡巴士站在哪",
    "int cnm;",
    "Mr. S. B. Chen will join the call",
    "合同由 S.B. Wang 签字",
    # real lines from the conversation set's train and dev splits (CrossWOZ, KdConv; Apache-2.0)
    "说到这首歌可了不得，都上过春晚，引得全民健康操盛行一时。",
    "我最喜欢吃驴打滚儿，最好是人均消费为50-100元的餐馆",
    "1997年被李宗盛发掘，签约滚石唱片，那时她还不到二十岁呢。",
    "好，蓝调薰衣草庄园的地址在哪呢？",
    "他爱吃香草冰淇淋，请帮我推荐一家餐馆。",
]


def table_rows() -> list[tuple[str, int]]:
    """(text, label) rows: evasions are 1, hard negatives 0."""
    return [(text, 1) for text in evasions()] + [(text, 0) for text in HARD_NEGATIVES]


def render_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(table_rows())
    return buffer.getvalue()


@pytest.mark.parametrize("text", evasions())
def test_profanity_found(hits, text):
    assert hits(text, "profanity"), text


def test_evasion_recall_meets_target(hits):
    found = [bool(hits(text, "profanity")) for text in evasions()]
    assert sum(found) / len(found) >= 0.95


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_innocent_lookalikes_fire_no_lexicon_rule(hits, text):
    fired = [
        (h.rule, h.evidence) for c in ("profanity", "abuse") for h in hits(text, c) if h.rule != "abuse.model"
    ]
    assert not fired


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("真是傻*逼啊", "傻*逼"),
        ("婊…子", "婊…子"),
        ("你个s.b吧", "s.b"),
        ("sha-bi 产品", "sha-bi"),
        ("傻 B", "傻 B"),
    ],
)
def test_offsets_point_into_the_original_text(hits, text, span):
    [hit] = hits(text, "profanity")
    assert text[hit.start : hit.end] == span


def test_the_eval_csv_is_this_table():
    assert EVAL_CSV.read_text(encoding="utf-8") == render_csv(), (
        "regenerate with: python -m tests.detectors.test_profanity"
    )


if __name__ == "__main__":
    EVAL_CSV.parent.mkdir(parents=True, exist_ok=True)
    EVAL_CSV.write_text(render_csv(), encoding="utf-8")
