"""Abuse cues that carry from one source to another: who is addressed and what is said of them.

A character n-gram model learns its training set's topics (COLD: race, region, gender), so on
other text it fires on a mention of a group or a topic as such (黑人有中秋节吗？). These cues say
what makes a sentence an attack wherever it comes from, and serve twice: as features of the
model, and as the corroboration a middling model score needs before it becomes a finding.

- ``insult``: a term of the shipped abuse or profanity lexicon (two characters or more);
- ``you`` and ``you_target``: second person, and second person with an insult or a derogatory
  predicate in the same message (你这种人就是骗子);
- ``group``, ``derogatory`` and ``group_derogatory``: a group term, a derogatory predicate, and
  both in one message (河南人都是骗子) — a group mention alone is no cue (他是台湾人吗？).

The term lists are stored in the model artifact, so a model scores with the cues it was trained
with, whatever the dictionaries say later.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

from auditor.features import Batch
from auditor.text.batch import TermIndex, TermScreen

CUES = ("insult", "you", "you_target", "group", "derogatory", "group_derogatory")
# The cues that make a model score worth a reviewer's minute below the score trusted alone.
CORROBORATING = ("insult", "you_target", "group_derogatory")

SECOND_PERSON = ("你", "妳", "尔等", "汝")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_REGIONS = _words(
    """
    河南 东北 上海 北京 广东 四川 湖南 湖北 山东 福建 安徽 江西 广西 贵州 云南 甘肃
    陕西 山西 河北 天津 重庆 浙江 江苏 温州 潮汕 台湾 香港 新疆 西藏 内蒙 宁夏 青海
    海南 江浙 南方 北方 外地 本地 农村 乡下 城里 大陆 日本 韩国 美国 印度 非洲 欧洲
    中东 外国 东南亚
    """
)
GROUPS = (
    *(f"{region}人" for region in _REGIONS),
    *_words(
        """
        黑人 白人 黄种人 黑鬼 老外 阿三 棒子 鬼子 小日本 穆斯林 绿绿 回族 维族 犹太人
        少数民族 女人 男人 女的 男的 女生 男生 女性 男性 女司机 娘们 老娘们 小仙女 女权
        男权 直男 基佬 同性恋 跨性别 残疾人 农民工 乡巴佬 外地佬 河南佬 北佬 南蛮 蛮子
        东北佬 广东佬 上海佬 这些人 那些人 这种人 那种人 这帮人 那帮人 这群人 那群人
        """
    ),
)
# The second list's dismissals, curses, threats and dehumanising put-downs (滚犊子 … 人面兽心) carry
# the cue to insults of any topic; a few are from LDNOOBW's Chinese list (github.com/LDNOOBW,
# CC BY 4.0: 瘪三 下三烂 烂货 骚货 婊子养 龟儿子 瓜娃子). None occurs in the conversation train split.
DEROGATORY = _words(
    """
    骗子 小偷 强盗 土匪 流氓 懒 脏 臭 蠢 笨 傻 贱 丑 素质差 素质太差 素质真差
    素质很差 素质极差 素质低 没素质 低素质 没教养 恶心 垃圾 滚出 滚回 滚开 滚粗 给我滚
    猴子 猩猩 畜生 牲口 禽兽 低等 劣等 低劣 下等 该死 死光 去死 不配 下贱 婊 屌丝
    娘炮 舔狗 普信 蝗虫 害虫 人渣 败类 废物 无耻 不要脸 野蛮 落后 愚昧 智商低 弱智
    脑残 杂种 跪舔 狗 猪 瘟 劣根性 看不起 瞧不起 鄙视 活该 贱人 欠揍 欠打 找打 有病
    神经病 白痴 蠢货 什么东西 不是东西 废柴 丢人 可耻 卑鄙 奴才 奴性 寄生虫 吸血鬼子
    巨婴 妈宝 绿茶婊 捞女 渣男 渣女
    """
) + _words(  # general flaming and name-calling of Chinese social media, beyond COLD's three topics
    """
    喷子 键盘侠 杠精 水军 五毛 美分 带节奏 洗地 汉奸 卖国贼 公知 精日 蛆 女拳 男拳
    田园婊 狗腿 走狗 龟孙 王八 王八蛋 混蛋 混账 滚蛋 闭嘴 脑子进水 脑子有病 没脑子
    智商税 二逼 二百五 脑瘫 辣鸡 土鳖 狗屁 放屁 扯淡 丧心病狂 不得好死 断子绝孙 畜牲
    蛆虫 窝囊 孬种 怂 软蛋 下三滥 恶臭 作呕 厚颜无耻 不知廉耻 贱骨头 欠骂 嘴臭 渣滓
    洋奴 崇洋媚外 跪族 狗日 贱货 婊子 白莲花 憨批 煞笔 傻叉 装逼 屁民 刁民 贱民 暴民
    死妈 nmsl
    滚犊子 滚远点 滚一边 一边凉快 爬开 爬远点 闭上你的嘴 住嘴 少废话 关你屁事
    关你什么事 算老几 算什么东西 你也配 你配吗 不配活 不配当人 猪狗不如 狗东西 狗杂种
    狗娘养 狗崽子 狗腿子 狗仗人势 疯狗 狗叫 乱咬人 杂碎 渣渣 瘪三 下三烂 烂货 骚货
    婊子养 龟儿子 瓜娃子 傻子 傻帽 傻冒 二货 二傻子 蠢猪 猪头 脑子被门夹 脑子被驴踢
    脑袋被门夹 脑子有坑 低能 无脑 跳梁小丑 戏精 白眼狼 忘恩负义 伪君子 无赖 泼妇
    令人作呕 丢人现眼 臭不要脸 厚脸皮 脸皮厚 满嘴喷粪 喷粪 吃屎 胡说八道 阴阳怪气
    搅屎棍 嘴贱 穷鬼 土包子 老不死 老东西 死胖子 死肥猪 丑八怪 没家教 有娘生没娘养
    缺德 丧尽天良 挨千刀 天打雷劈 死全家 全家死光 出门被车撞 早死 短命鬼 弄死你 打死你
    砍死 杀光 毒瘤 祸害 低人一等 窝囊废 饭桶 弱鸡 菜鸡 眼瞎 狗眼 愚蠢 蠢材 下流
    脑残粉 引战 挑事 小粉红 殖人 卖国 狗汉奸 贱种 野种 孽种 杂毛 畜生不如 禽兽不如
    人面兽心 添乱 拖后腿 碍事 累赘 多余的人 没用的东西
    """
)

# Innocent words that contain or overlap an insult or a derogatory predicate (操作 in 我操作失误,
# 摇滚, 猪肉): such a cue that overlaps one of them does not count.
EXCUSED = _words(
    """
    操作 操场 操心 体操 节操 情操 早操 操练 广播操 摇滚 滚石 打滚 驴打滚 滚动 滚烫
    滚滚 翻滚 滚筒 滚蛋糕 吸血鬼 猪肉 猪排 猪蹄 猪脚 猪油 猪八戒 猪猪侠 小猪佩奇 佩奇
    狗狗 小狗 热狗 狗粮 猪年 狗年 属猪 属狗 懒羊羊 懒人 臭豆腐 臭鳜鱼 螺蛳粉 丑小鸭
    脏器 心脏 肝脏 傻瓜相机 人妖 尼玛次仁 他妈妈 流氓兔 蠢萌 笨笨 笨蛋熊
    """
)


# A title of a work (《无耻混蛋》) names a film or a book: an insult inside one is no cue, as it is no
# lexicon hit (auditor.detectors.base; the pattern is repeated here because the detectors import this
# module through the model).
_TITLE = re.compile(r"《[^《》\n]{1,40}》")


@dataclass(frozen=True)
class CueLists:
    insult: tuple[str, ...]
    you: tuple[str, ...] = SECOND_PERSON
    group: tuple[str, ...] = GROUPS
    derogatory: tuple[str, ...] = DEROGATORY
    excused: tuple[str, ...] = EXCUSED

    def as_meta(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in ("insult", "you", "group", "derogatory", "excused")}

    @classmethod
    def from_meta(cls, meta: dict[str, list[str]]) -> CueLists:
        return cls(**{k: tuple(v) for k, v in meta.items()})


def insult_terms() -> tuple[str, ...]:
    """The shipped abuse and profanity lexicon terms of two characters or more, normalized like
    the lexicon matches them (single characters such as 操 are morphemes of innocent words)."""
    from auditor.lexicon import Lexicon

    entries = Lexicon.load(None).entries
    return tuple(sorted({e.key for e in entries if e.category in ("abuse", "profanity") and len(e.key) >= 2}))


class CueMatcher:
    """One pass over a whole prepared batch finds every cue term of every text (``TermIndex``)."""

    _KINDS = ("insult", "you", "group", "derogatory", "excused")

    def __init__(self, lists: CueLists) -> None:
        self.lists = lists
        terms: dict[str, set[int]] = {}
        for kind, name in enumerate(self._KINDS):
            for term in getattr(lists, name):
                terms.setdefault(term, set()).add(kind)
        self.terms = TermIndex({term: (len(term), tuple(sorted(kinds))) for term, kinds in terms.items()})
        excused = self._KINDS.index("excused")
        # a text without a term of a cue kind has no cue, whatever it excuses
        self.screen = TermScreen(t for t, kinds in terms.items() if kinds != {excused})

    def cues(self, batch: Batch, within: np.ndarray | None = None) -> np.ndarray:
        """A ``(n_texts, len(CUES))`` 0/1 matrix for a prepared batch; the terms are looked for only in the
        texts the screen lets through and, when given, ``within`` names (the others' rows stay zero)."""
        possible = self.screen.starts(batch.codepoints)
        possible[batch.separators] = False
        rows = np.unique(np.searchsorted(batch.separators, np.flatnonzero(possible), side="right"))
        if within is not None:
            rows = np.intersect1d(rows, within, assume_unique=True)
        out = np.zeros((batch.n_texts, len(CUES)), dtype=np.float32)
        if len(rows):
            out[rows] = self._cues(batch, rows)
        return out

    def _cues(self, batch: Batch, rows: np.ndarray) -> np.ndarray:
        """The cue rows of the texts at ``rows`` (ascending)."""
        excused_kind = self._KINDS.index("excused")
        chosen = np.zeros(batch.n_texts, dtype=bool)
        chosen[rows] = True
        lengths = np.diff(np.concatenate(([-1], batch.separators, [len(batch.codepoints)]))) - 1
        in_rows = np.repeat(chosen, lengths + 1)[: len(batch.codepoints)]  # a text and the separator after it
        spans: list[tuple[int, int, int]] = []  # (start, end, kind) in the joined text
        excused: list[tuple[int, int]] = []
        for end, (length, matched) in self.terms.find(batch.joined, batch.codepoints, within=in_rows):
            for kind in matched:
                if kind == excused_kind:
                    excused.append((end - length + 1, end + 1))
                else:
                    spans.append((end - length + 1, end + 1, kind))
        judged = (self._KINDS.index("insult"), self._KINDS.index("derogatory"))
        if excused:  # rare: a handful of Python comparisons per excused word
            spans = [
                s for s in spans if s[2] not in judged or not any(a < s[1] and s[0] < b for a, b in excused)
            ]
        joined = batch.joined
        spans = [s for s in spans if s[2] not in judged or not _negated(joined, s[0])]
        if "《" in joined:  # titles of works: one regex pass, then a bisect per judged span
            titles = [m.span() for m in _TITLE.finditer(joined)]
            title_starts = [a for a, _ in titles]
            spans = [s for s in spans if s[2] not in judged or not _in_title(titles, title_starts, s)]
        found = np.zeros((batch.n_texts, excused_kind), dtype=bool)
        if spans:
            starts, _, kinds = (np.array(column) for column in zip(*spans, strict=True))
            found[np.searchsorted(batch.separators, starts, side="right"), kinds] = True
        insult, you, group, derogatory = found[rows].T
        out = np.column_stack(
            [insult, you, you & (insult | derogatory), group, derogatory, group & derogatory]
        )
        return out.astype(np.float32)


def _negated(joined: str, start: int) -> bool:
    """An insult or predicate right after 不是 is denied (你不是猪), unless 是不是 asks it (你是不是傻)."""
    return joined[max(0, start - 2) : start] == "不是" and joined[max(0, start - 3) : start] != "是不是"


def _in_title(titles: list[tuple[int, int]], starts: list[int], span: tuple[int, int, int]) -> bool:
    """Does the span overlap a title? Titles do not overlap, so the last one starting before the
    span's end is the only one to check."""
    last = bisect.bisect_left(starts, span[1]) - 1
    return last >= 0 and span[0] < titles[last][1]


def corroborated(cues: np.ndarray) -> np.ndarray:
    """Per text: does a lexicon insult, second person with a target, or a group with a derogatory
    predicate back the model's score?"""
    return cues[:, [CUES.index(c) for c in CORROBORATING]].any(axis=1)


def names_of(row: np.ndarray) -> list[str]:
    return [name for name, value in zip(CUES, row, strict=True) if value]
