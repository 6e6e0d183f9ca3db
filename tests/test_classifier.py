"""The abuse classifier: featurizer invariants, cues, deterministic training, the precision-first
decision rule, real positives and hard negatives, evidence, and eval's input handling."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.abuse_cues import CueLists, CueMatcher, corroborated, insult_terms, names_of
from auditor.classifier import load_model
from auditor.cli import cli
from auditor.config import DEFAULTS
from auditor.detectors import abuse_model
from auditor.detectors.abuse_model import AbuseModel
from auditor.detectors.base import TextView
from auditor.errors import AuditorError
from auditor.features import char_ngrams, prepare_many
from auditor.lexicon import Lexicon
from auditor.resources import packaged_model
from auditor.text.segment import Segmenter
from auditor.training import AUGMENT_WEIGHTS, train

OFFENSIVE = [
    "{}人都是骗子，素质太差",
    "{}人就是懒，天生的",
    "女人就不适合干{}",
    "那些{}佬滚出去",
    "{}的人脑子都有问题",
]
SAFE = [
    "{}的风景很美，值得一去",
    "我有很多{}朋友，人都很好",
    "{}菜真好吃",
    "她在{}工作，技术很强",
    "{}的同事很热情",
]
FILL = ["河南", "东北", "上海", "广东", "四川", "技术", "销售", "北京", "外地", "乡下"]
CHAT = ["怎么了？", "为什么？", "明天几点开会", "{}的票还有吗", "车怎么了？", "你去过{}吗？", "这是事实"]


def write_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "split", "topic", "label", "TEXT"])
        for i, (text, label) in enumerate(rows):
            writer.writerow([i, "train", "region", label, text])
    return path


def synthetic(seed: int, n: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [
        (rng.choice(OFFENSIVE if label else SAFE).format(rng.choice(FILL)), label)
        for label in (rng.randint(0, 1) for _ in range(n))
    ]


def write_chat(path: Path, seed: int, n: int, label: int = 0) -> Path:
    """Ordinary conversation in the eval set's layout (text,label,source)."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        for _ in range(n):
            writer.writerow([rng.choice(CHAT).format(rng.choice(FILL)), label, "test"])
    return path


def small_train(folder: Path, out: str) -> dict:
    return train(
        folder / "train.csv",
        folder / "dev.csv",
        folder / out,
        seed=3,
        negatives_train=folder / "chat-train.csv",
        negatives_dev=folder / "chat-dev.csv",
        held_out={"other": folder / "other.csv"},
    )


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    write_csv(folder / "train.csv", synthetic(1, 300))
    write_csv(folder / "dev.csv", synthetic(2, 100))
    write_chat(folder / "chat-train.csv", 4, 100)
    write_chat(folder / "chat-dev.csv", 5, 60)
    with open(folder / "other.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(synthetic(6, 40))
    small_train(folder, "a.zip")
    return folder


def test_same_data_and_seed_give_the_same_artifact(small_model):
    small_train(small_model, "b.zip")
    assert (small_model / "a.zip").read_bytes() == (small_model / "b.zip").read_bytes()
    card = (small_model / "a.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in card and "accuracy" in card and "--seed 3" in card
    assert "Cross-dataset, other" in card and "--negatives" in card


def test_training_records_the_rule_and_the_held_out_figures(small_model):
    meta = load_model(small_model / "a.zip").meta
    assert 0 < meta["threshold"] <= meta["alone_threshold"] < 1
    assert meta["negative_rows"] == 100 and meta["conversation_dev"]["lines"] == 60
    assert meta["conversation_dev"]["flagged"] <= meta["conversation_dev"]["budget"]
    assert meta["held_out"]["other"]["support"] == 40


def test_small_model_learns_the_pattern(small_model):
    model = load_model(small_model / "a.zip")
    offensive, safe = model.scores(["广东人都是骗子，素质太差", "广东的风景很美，值得一去"])
    assert offensive > 0.5 > safe


def test_packaged_model_is_small_and_loads():
    path = packaged_model()
    assert path.stat().st_size < 8 * 1024 * 1024
    model = load_model(path)
    assert model.meta["dev_metrics"]["accuracy"] >= 0.88 and model.meta["dev_metrics"]["f1"] >= 0.85
    conversation = model.meta["conversation_dev"]
    assert conversation["lines"] > 3000 and conversation["flagged"] <= conversation["budget"]


def test_default_thresholds_are_the_packaged_models_choice():
    meta, settings_ = load_model(packaged_model()).meta, DEFAULTS["detectors"]["abuse_model"]
    assert (settings_["threshold"], settings_["alone_threshold"]) == (
        meta["threshold"],
        meta["alone_threshold"],
    )


def test_an_artifact_of_another_format_is_a_clear_error(tmp_path):
    import zipfile

    old = tmp_path / "old.zip"
    with zipfile.ZipFile(old, "w") as archive:
        archive.writestr("meta.json", json.dumps({"format": "wecom-auditor/abuse-model/1"}))
        for name in ("kept", "idf", "coef", "cue_coef"):
            archive.writestr(f"{name}.npy", _npy(np.zeros(1, dtype=np.float32)))
    with pytest.raises(AuditorError, match="retrain it"):
        load_model(old)


def _npy(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


# --- the featurizer: n-grams never cross texts, so a text scores the same in any batch ---------

texts_strategy = st.lists(st.text(alphabet="你好傻逼河南人都是骗子？！ ab\n為什麼", max_size=12), max_size=8)


@settings(max_examples=60, deadline=None)
@given(texts_strategy)
def test_ngram_occurrences_stay_inside_their_text(texts):
    batch = prepare_many(texts)
    occ = char_ngrams(batch, (1, 4), 20)
    prepared = batch.texts()
    assert len(prepared) == len(texts)
    for i, text in enumerate(prepared):
        expected = sum(max(0, len(text) - n + 1) for n in range(1, 5))
        assert int((occ.row == i).sum()) == expected
    assert ((occ.start + occ.n) <= np.array([len(prepared[r]) for r in occ.row], dtype=np.int64)).all()
    assert ((occ.bucket >= 0) & (occ.bucket < 2**20)).all()


@settings(max_examples=40, deadline=None)
@given(texts_strategy)
def test_a_text_scores_the_same_alone_and_in_any_batch(texts):
    model = load_model(packaged_model())
    together = model.assess(texts)
    for i, text in enumerate(texts):
        alone = model.assess([text])
        assert alone.scores[0] == pytest.approx(together.scores[i], abs=1e-9)
        assert (alone.cues[0] == together.cues[i]).all()
    assert ((together.scores >= 0) & (together.scores <= 1)).all()


def test_prepared_text_is_normalized_like_the_lexicons_see_it():
    assert prepare_many(["為什麼ＡＢＣ", "傻逼"]).texts() == ["为什么abc", "傻逼"]


# --- cues: a group mention alone is no cue; innocent words do not count as insults -------------


@pytest.mark.parametrize(
    ("text", "cues", "backed"),
    [
        ("河南人都是骗子", {"insult", "group", "derogatory", "group_derogatory"}, True),
        ("你这个猪头", {"you", "you_target", "derogatory"}, True),
        ("操你妈", {"insult", "you", "you_target"}, True),
        ("东北人素质太差了", {"group", "derogatory", "group_derogatory"}, True),
        ("黑人有中秋节吗？", {"group"}, False),
        ("他是台湾人吗？", {"group"}, False),
        ("我操作失误了", set(), False),
        ("滚石唱片，你听说过吗？", {"you"}, False),
        ("你听过摇滚吗", {"you"}, False),
        ("这家店的猪肉很好吃", set(), False),
        ("明天上午十点开会", set(), False),
        # put-downs, dismissals and curses outside COLD's topics
        ("你就是个白眼狼", {"you", "you_target", "derogatory"}, True),
        ("关你屁事，少废话", {"you", "you_target", "derogatory"}, True),
        ("这种人迟早出门被车撞", {"group", "derogatory", "group_derogatory"}, True),
        ("在景区被宰了，门票太贵", set(), False),
        ("这是什么玩意儿？没见过", set(), False),
        ("不是人人都喜欢低俗小说", set(), False),
        ("我也无能为力", set(), False),
        # a denied insult is no cue; 是不是 asks it
        ("你不是猪", {"you"}, False),
        ("他不是傻子，只是慢", set(), False),
        ("你是不是傻", {"you", "you_target", "derogatory"}, True),
        # a title of a work names a film, not a person; an insult outside it still counts
        ("《无耻混蛋》是昆汀导演的电影", set(), False),
        ("《无耻混蛋》说的就是你这个混蛋", {"insult", "you", "you_target", "derogatory"}, True),
    ],
)
def test_cue_table(text, cues, backed):
    matcher = CueMatcher(CueLists(insult_terms()))
    found = matcher.cues(prepare_many([text]))
    assert set(names_of(found[0])) == cues
    assert bool(corroborated(found)[0]) is backed


def test_a_broken_artifact_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AuditorError, match="cannot load the model"):
        load_model(bad)


def detector(**changes):
    cfg = DEFAULTS["detectors"]["abuse_model"] | changes
    lexicon = Lexicon.load(None)
    return AbuseModel(cfg, lexicon), lexicon


def views(texts, lexicon):
    return [TextView(t, lexicon, Segmenter([])) for t in texts]


@pytest.mark.parametrize(
    ("changes", "text", "expected"),
    [
        ({}, "河南人都是骗子，全是小偷", "high"),
        ({"high_threshold": 1.0}, "河南人都是骗子，全是小偷", "medium"),
        (
            {"threshold": 0.999999, "alone_threshold": 1.0, "high_threshold": 1.0},
            "河南人都是骗子，全是小偷",
            None,
        ),
        ({}, "明天上午十点开会，请准时参加", None),
        ({}, "没问题", None),  # short acknowledgements are left to the lexicons
        ({"min_chars": 1, "threshold": 0.001, "alone_threshold": 0.001}, "没问题", "medium"),
        # Precision first: below alone_threshold a score needs a cue, however low the threshold.
        ({"threshold": 0.001, "alone_threshold": 1.0}, "怎么了？", None),
        ({"threshold": 0.001, "alone_threshold": 1.0}, "黑人有中秋节吗？", None),
        ({"threshold": 0.001, "alone_threshold": 1.0, "high_threshold": 1.0}, "东北人素质太差了", "medium"),
        # An old auditor.toml that only raised threshold: the score alone needs at least that much.
        ({"threshold": 0.95, "alone_threshold": 0.65}, "河南人都是骗子，全是小偷", "high"),
        ({"threshold": 0.999999, "alone_threshold": 0.65, "high_threshold": 1.0}, "我就讨厌黑人", None),
    ],
)
def test_threshold_behaviour(changes, text, expected):
    model, lexicon = detector(**changes)
    [hits] = model.scan_many(views([text], lexicon))
    assert (hits[0].severity if hits else None) == expected


# Real-world cases through the whole analyzer (lexicon, patterns and model): attacks on a group or
# a person fire; a group or topic mentioned as such, and everyday questions, do not.
ABUSIVE = [
    "河南人都是骗子，全是小偷",
    "黑人就是低等，像猴子一样",
    "女人就该待在家里生孩子，出来工作就是添乱",
    "你这种人就是社会的渣滓",
    "东北人素质太差了，滚出我们城市",
    "上海人都看不起外地人，真恶心",
    "乡下人就是没素质",
    "你们广东人什么都吃，跟野蛮人一样",
]
ORDINARY = [
    "黑人有中秋节吗？",
    "他是台湾人吗？",
    "中国台湾人。",
    "怎么了？",
    "为什么？",
    "车怎么了？",
    "发生什么事了?",
    "这是事实",
    "你给他打电话了吧?",
    "犯罪恐怖电影",
    "我操作失误了",
    "滚石唱片，你听说过吗？",
    "黑人球员在NBA很多",
    "这家河南烩面很好吃",
    "我有很多东北朋友，人都很好",
    "女性员工占公司的一半",
    "他妈的手术很成功",
]


# A group's rules and their reminders speak *of* abusive speech: the model read 骂人 and 脏话 in them
# as abuse (the first four scored 0.69, 0.87, 0.76 and 0.79). What follows the rule is still judged.
ADMONITIONS = [
    "群里禁止说脏话，违者移出",
    "骂人是不对的",
    "不许骂人",
    "说脏话是不文明的行为",
    "请大家文明发言，不要人身攻击",
    "提醒一下：群内不得谩骂、侮辱他人",
    "骂人解决不了问题，有事好好说",
    "【群规】1.禁止发广告 2.禁止说脏话、人身攻击 3.禁止刷屏，违者移出群聊",
]
ABUSE_BESIDE_A_RULE = [
    "不要骂人，你这个废物",
    "不许骂人，你们这些人真恶心",
    "骂人是不对的，但你真是个傻子",
    "禁止歧视？河南人本来就是骗子",
    "不要脸的人才骂人",  # 不要脸 is the insult, not a prohibition
    "你不得不承认你就是个废物",
]


# Swearing at no one: the profanity detector's finding. The model read 他妈的 as abuse (他妈的这破电脑 0.97,
# 他妈的，又宕机了 0.92, 我他妈的又忘了打卡), so every curse at a machine was a high abuse finding besides.
OATHS_AT_NO_ONE = [
    "他妈的，又宕机了",
    "妈的，服务器又挂了",
    "他妈的这破电脑",
    "他妈的谁把测试环境删了",
    "这他妈什么破需求",
    "真他妈的烦，周末又要加班",
    "今天他妈的堵死了",
    "我他妈的又忘了打卡",
    "TMD，电梯又坏了",
]
# An oath at the reader or after a verb of cursing names its target, and the rest of a text is still read.
ABUSE_WITH_AN_OATH = [
    "你他妈的能不能快点回复",
    "你妈的，会不会说话",
    "操他妈的这帮河南人",
    "去他妈的老板",
    "都是一群死妈的玩意",
    "他妈的你就是个废物",
    "妈的，你这个傻逼",
    "这他妈谁写的代码，你是猪吗",
]


@pytest.mark.parametrize("text", OATHS_AT_NO_ONE)
def test_an_oath_at_no_one_is_profanity_not_abuse(hits, text):
    assert hits(text, "abuse") == []
    assert hits(text, "profanity")


@pytest.mark.parametrize("text", ABUSE_WITH_AN_OATH)
def test_an_oath_that_names_its_target_is_still_abuse(hits, text):
    assert hits(text, "abuse")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="你您他她它这真太操去死没妈娘的骂人脏话不许禁止违规白痴恶心tmdTMD，。 ", max_size=14))
def test_the_texts_the_model_does_not_read_are_found_by_their_cheaper_search(text):
    """The model leaves out what ``_NOT_READ``'s phrases match in the texts its cheap search finds: a
    phrase match in a text the search passes over would be read after all."""
    for names, phrase in abuse_model._NOT_READ:
        if phrase.search(text):
            assert names.search(text), (names.pattern, text)


@pytest.mark.parametrize("text", ADMONITIONS)
def test_rules_against_abusive_speech_are_not_abuse(hits, text):
    assert hits(text, "abuse") == []


@pytest.mark.parametrize("text", ABUSE_BESIDE_A_RULE)
def test_abuse_beside_a_rule_against_it_is_still_abuse(hits, text):
    assert hits(text, "abuse")


def test_a_rule_is_left_out_of_what_the_model_reads_in_a_batch():
    """The rule of one text is no gap in its neighbours: each text keeps its own score whatever
    the batch holds (a match never runs across the separator of the joined batch)."""
    model, lexicon = detector()
    texts = ["不许骂人", "你们这些人真恶心", "骂人", "是不对的", "河南人都是骗子，全是小偷"]
    together = model.scan_many(views(texts, lexicon))
    alone = [model.scan_many(views([text], lexicon))[0] for text in texts]
    assert together == alone
    assert together[0] == [] and together[1] and together[4]


@pytest.mark.parametrize("text", ABUSIVE)
def test_real_attacks_are_abuse(hits, text):
    assert hits(text, "abuse")


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_questions_and_group_mentions_are_not_abuse(hits, text):
    assert hits(text, "abuse") == []


def test_evidence_names_the_contributing_ngrams():
    model, lexicon = detector()
    [[hit]] = model.scan_many(views(["河南人都是骗子，全是小偷"], lexicon))
    assert hit.rule == "abuse.model" and hit.evidence["score"] >= 0.9
    assert "group_derogatory" in hit.evidence["cues"]
    grams = [g.rsplit(" ", 1)[0] for g in hit.evidence["ngrams"]]
    named = [g for g in grams if not g.startswith("[")]
    assert named and all(g in "河南人都是骗子,全是小偷" for g in named)  # as prepared: NFKC comma
    assert any("骗" in g or g == "[derogatory]" for g in grams)


def test_allowlisted_phrases_do_not_count_for_the_model():
    model, lexicon = detector(threshold=0.5)
    [hits] = model.scan_many(views(["垃圾桶在哪里"], lexicon))
    assert hits == []


def test_model_and_lexicon_merge_into_one_abuse_finding(analyzer):
    from auditor.policy import message_findings

    msg = {"msgid": "m", "roomid": "r", "sender": "a", "msgtime": 0, "text": "你这个废物，河南人都是骗子"}
    hits = analyzer.analyze(msg["text"])
    assert {h.rule for h in hits if h.category == "abuse"} >= {"abuse.model", "abuse.you_are"}
    policy = {"adjust": {}}
    [finding] = [
        f for f in message_findings(msg, hits, "internal", policy, "d", "v") if f["category"] == "abuse"
    ]
    rules = {h["rule"] for h in json.loads(finding["evidence"])["hits"]}
    assert rules >= {"abuse.model", "abuse.you_are"}
    assert finding["severity"] == "high"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "no rows"),
        ("\ufeffTEXT,lbl\n你好,0\n".encode(), "no column 'label'"),
        ("TEXT,label\n你好,2\n".encode(), "label must be 0 or 1"),
        ("TEXT,label\n你好,\n".encode(), "label must be 0 or 1"),
        ("TEXT,label\n你好,0\n".encode("utf-16"), "not UTF-8"),
        (b'TEXT,label\n"unterminated,0\n', "label must be 0 or 1"),
    ],
)
def test_eval_malformed_csv_exits_2(runner, ws, tmp_path, content, message):
    path = tmp_path / "labels.csv"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(cli, ["-w", str(ws.root), "eval", "--labels", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_eval_reports_metrics_and_confusion(runner, ws, tmp_path):
    rows = [
        ("河南人都是骗子，全是小偷", 1),
        ("你这个废物", 1),
        ("明天开会", 0),
        ("收到，谢谢", 0),
        ("傻逼", 1),
    ]
    path = write_csv(tmp_path / "l.csv", rows)
    result = runner.invoke(
        cli,
        [
            "-w",
            str(ws.root),
            "eval",
            "--labels",
            str(path),
            "--json",
            "--category",
            "abuse",
            "--category",
            "profanity",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    cm = report["confusion"]
    assert cm["tn"] + cm["fp"] + cm["fn"] + cm["tp"] == 5
    assert report["accuracy"] == 1.0 and report["categories"] == ["abuse", "profanity"]
    text = runner.invoke(cli, ["-w", str(ws.root), "eval", "--labels", str(path)])
    assert "accuracy" in text.output and "label 1" in text.output


def test_model_train_cli(runner, small_model, tmp_path):
    out = tmp_path / "m.zip"
    args = [
        "model",
        "train",
        "--train",
        str(small_model / "train.csv"),
        "--dev",
        str(small_model / "dev.csv"),
    ]
    args += [
        "--negatives",
        str(small_model / "chat-train.csv"),
        "--dev-negatives",
        str(small_model / "chat-dev.csv"),
    ]
    args += ["--held-out", f"other={small_model / 'other.csv'}", "--out", str(out), "--seed", "3"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "held out other" in result.output
    assert out.read_bytes() == (small_model / "a.zip").read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--held-out", "no-equals-sign"], "expected NAME=CSV"),
        (["--negatives", "POSITIVE"], "hard negatives must all be labelled 0"),
        (["--dev-negatives", "MISSING"], "cannot read"),
        (["--augment", "MISSING"], "--augment and --augment-dev go together"),
    ],
)
def test_model_train_bad_input_exits_2(runner, small_model, tmp_path, extra, message):
    positive = write_chat(tmp_path / "positive.csv", 7, 5, label=1)
    extra = [
        str(positive) if e == "POSITIVE" else str(tmp_path / "nope.csv") if e == "MISSING" else e
        for e in extra
    ]
    args = [
        "model",
        "train",
        "--train",
        str(small_model / "train.csv"),
        "--dev",
        str(small_model / "dev.csv"),
    ]
    result = runner.invoke(cli, [*args, *extra, "--out", str(tmp_path / "m.zip")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


# Beside a checkout (../shared) or a worktree (../../shared), like the Makefile's COLD_DEV.
COLD_DEV = next(
    (
        p
        for p in (Path(__file__).resolve().parents[i] / "shared/data/cold/dev.csv" for i in (2, 3))
        if p.exists()
    ),
    Path("absent"),
)


def write_augmentation(path: Path, seed: int, n: int) -> Path:
    """General insults (label 1) and neutral remarks (label 0) beyond the synthetic topics."""
    rng = random.Random(seed)
    insults = ["你就是个{}，滚远点", "关你屁事，{}", "{}，闭上你的嘴"]
    neutral = ["{}的天气不错", "周末去{}看看", "{}的饭菜很好吃"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        for _ in range(n):
            label = rng.randint(0, 1)
            filler = rng.choice(["白眼狼", "饭桶", "窝囊废"] if label else FILL)
            writer.writerow([rng.choice(insults if label else neutral).format(filler), label, "test"])
    return path


def test_augmentation_weight_is_chosen_on_its_dev_split(small_model, tmp_path):
    meta = train(
        small_model / "train.csv",
        small_model / "dev.csv",
        tmp_path / "m.zip",
        seed=3,
        negatives_train=small_model / "chat-train.csv",
        negatives_dev=small_model / "chat-dev.csv",
        augment_train=write_augmentation(tmp_path / "aug-train.csv", 8, 80),
        augment_dev=write_augmentation(tmp_path / "aug-dev.csv", 9, 30),
    )
    assert meta["augment_rows"] == 80 and meta["augment_weight"] in AUGMENT_WEIGHTS
    assert 0 <= meta["augment_dev_f1"] <= 1
    card = (tmp_path / "m.md").read_text(encoding="utf-8")
    assert "Augmentation" in card and "--augment-dev" in card
    assert load_model(tmp_path / "m.zip").meta["augment_sha256"]


def test_augmentation_without_its_dev_split_is_a_clear_error(small_model, tmp_path):
    with pytest.raises(AuditorError, match="both its train and its dev split"):
        train(
            small_model / "train.csv",
            small_model / "dev.csv",
            tmp_path / "m.zip",
            augment_train=write_augmentation(tmp_path / "aug.csv", 8, 20),
        )


@pytest.mark.skipif(not COLD_DEV.exists(), reason="COLD dev split not beside the repository")
def test_cold_dev_meets_the_targets_through_the_real_pipeline(runner, ws):
    result = runner.invoke(
        cli, ["-w", str(ws.root), "eval", "--labels", str(COLD_DEV), "--category", "abuse", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["support"] == 6431
    assert report["accuracy"] >= 0.88 and report["f1"] >= 0.85


def test_cross_topic_figures_when_the_data_has_topics(small_model, tmp_path):
    def with_topics(source: Path, target: Path) -> Path:
        with open(source, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for i, row in enumerate(rows):
                writer.writerow(row | {"topic": ("region", "gender")[i % 2]})
        return target

    meta = train(
        with_topics(small_model / "train.csv", tmp_path / "train.csv"),
        with_topics(small_model / "dev.csv", tmp_path / "dev.csv"),
        tmp_path / "m.zip",
        seed=3,
        topic_column="topic",
    )
    assert set(meta["cross_topic"]) == {"region", "gender"}
    assert all(0 <= f["f1"] <= 1 and f["support"] > 0 for f in meta["cross_topic"].values())
    assert "Cross-topic" in (tmp_path / "m.md").read_text(encoding="utf-8")
