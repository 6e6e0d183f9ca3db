"""Personal data: mobiles, ID numbers (checksum + birth date), bank cards (Luhn + a card word or a
bank's short name), e-mail — and hard negatives: business identifiers, git remotes, near misses.

The same table is committed as eval/data/pii/test.csv for ``make eval`` (a test keeps them equal).
"""

import pytest

from auditor.detectors.base import TextView
from auditor.detectors.pii import PREFILTER, find_personal_data, id_card_valid, luhn_valid
from tests.detectors import eval_tables

# (text, rule, what the span shows once masked; None: not checked)
CASES = [
    # mobile numbers
    ("客户电话 13812345678，麻烦回访", "pii.mobile", "138****5678"),
    ("联系我：+86 138 1234 5678", "pii.mobile", "138****5678"),
    ("手机 186-0012-3456", "pii.mobile", "186****3456"),
    ("电话１３９１２３４５６７８", "pii.mobile", "139****5678"),  # full-width digits
    ("0086 15900001111 是他的新号", "pii.mobile", "159****1111"),
    ("有事打17722334455", "pii.mobile", "177****4455"),
    ("加vx13800138000领资料", "pii.mobile", "138****8000"),  # letters before it: a contact in an ad
    ("电话：13800138000/13900139000", "pii.mobile", "138****8000"),
    # ID numbers
    ("客户身份证号 11010519491231002X，帮忙登记", "pii.id_card", "110105********002X"),
    ("身份证 44030519900101123X", "pii.id_card", None),
    ("身份证 110105 19491231 002X", "pii.id_card", "110105********002X"),  # grouped as on forms
    ("证件号 320106-19850612-1235", "pii.id_card", "320106********1235"),
    ("她的身份证是440304199211084561", "pii.id_card", "440304********4561"),
    ("510107197803057898", "pii.id_card", "510107********7898"),  # no context needed: checksum
    ("身份证号码：３３０１０６２０００１２３１００４６", "pii.id_card", None),  # full width
    # bank cards: a card word or a bank's name near a Luhn-valid number
    ("退款打到这张银行卡：6222021234567890128", "pii.bank_card", "6222***********0128"),
    ("卡号 4111 1111 1111 1111", "pii.bank_card", "4111********1111"),
    ("招行卡 6225825984860136", "pii.bank_card", "6225********0136"),
    ("工行 6212001706343349763 户名张三", "pii.bank_card", "6212***********9763"),
    ("建行卡号6217719911673921809", "pii.bank_card", "6217***********1809"),
    ("农行 6228365235351729795", "pii.bank_card", "6228***********9795"),
    ("中行 6230342527050074869 李四", "pii.bank_card", None),
    ("打到交行 6222455831470853575", "pii.bank_card", None),
    ("邮储卡 6217719911673921809", "pii.bank_card", None),
    ("浦发信用卡 4392222958749481", "pii.bank_card", "4392********9481"),
    ("用民生的卡 6226-2000-1234-5675", "pii.bank_card", None),
    ("兴业 6229 0812 3456 7891", "pii.bank_card", None),
    ("平安 6230580000012345679 转我", "pii.bank_card", None),
    ("光大 6226620000012345679", "pii.bank_card", None),
    ("华夏 6230200000012345679", "pii.bank_card", None),
    ("中信卡号：6226900000012345670", "pii.bank_card", None),
    ("card no 4111-1111-1111-1111", "pii.bank_card", None),
    # e-mail
    ("把合同发到 li.na@example-client.com", "pii.email", "l***@example-client.com"),
    ("邮箱 zhang_san+crm@corp.com.cn", "pii.email", "z***@corp.com.cn"),
    ("Email: Wang.Wei@Company.CN 谢谢", "pii.email", None),
]

HARD_NEGATIVES = [
    # business identifiers
    "订单号 202611160001 已发货",
    "订单号 13812345678 已发货",  # an order number that looks like a mobile
    # numbers inside identifiers
    "trace 13800138000abc 超时了",
    "合同 HT-2026-13812345678 已归档",
    "order_13800138000 重复下单",
    "请求 req-13912345678 返回 500",
    "流水号 4111111111111111",  # business id, not a card
    "运单 6222021234567890128 已签收",
    "工号 11010519491231002X",
    # near misses
    "身份证 110105194912310021",  # wrong check digit
    "身份证 110105194913310028",  # month 13
    "身份证 110105 19491231 0021",  # grouped, wrong check digit
    "6222021234567890123",  # not Luhn-valid, no card word
    "批次 4111111111111111 已入库",  # Luhn-valid but no card context
    "招行卡 6225825984860137",  # a card word, but not Luhn-valid
    "招行的 App 又更新了",
    "平安夜快乐",
    "民生问题要重视",
    "卡顿了，重启一下",
    "12345678901",  # starts with 12: not a mobile
    "版本号 1.3.8",
    "会议在 2026-11-16 13:30",
    "价格是 13800 元",
    "座机 010-52975000",
    "发票金额 1234567.89",
    # git remotes and URLs are not e-mail
    "git@github.com:org/repo.git",
    "git clone git@gitlab.corp.cn:team/app.git",
    "ssh://git@gitlab.corp.cn:2222/team/app.git",
    "remote: ssh://deploy@10.0.0.8/srv/repo",
    "@张三 你看下",
    "周五见 @all",
]


@pytest.mark.parametrize(("text", "rule", "masked"), CASES)
def test_personal_data_found_and_masked(hits, text, rule, masked):
    found = [h for h in hits(text, "pii") if h.rule == rule]
    assert found, hits(text, "pii")
    if masked:
        assert found[0].masked == masked


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_personal_data(hits, text):
    assert not hits(text, "pii")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("批次 4111111111111111 已入库", "pii.bank_card"),  # masked even where no finding is raised
        ("订单号 13812345678 已发货", "pii.mobile"),
        ("trace 13800138000abc 超时了", "pii.mobile"),
        ("工号 11010519491231002X", "pii.id_card"),
    ],
)
def test_broad_mode_finds_what_detection_leaves(text, rule):
    assert not find_personal_data(text)
    assert [f.rule for f in find_personal_data(text, broad=True)] == [rule]


def test_prefilter_sees_what_the_detector_sees():
    # zero-width characters are dropped before matching, so the batch prefilter must drop them too
    texts = ["我的手机138\u200b0013\u200b8000", "你好"]
    assert PREFILTER.candidates(texts) == [0]


def test_prefilter_keeps_every_positive_and_batch_equals_one_by_one(analyzer):
    texts = [t for t, *_ in CASES] + HARD_NEGATIVES
    assert set(range(len(CASES))) <= set(PREFILTER.candidates(texts))
    detector = next(d for d in analyzer.detectors if d.category == "pii")
    views = [TextView(t, analyzer.lexicon, analyzer.segmenter) for t in texts]
    assert detector.scan_many(views) == [detector.scan(v) for v in views]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("11010519491231002X", True),
        ("44030519900101123X", True),
        ("11010519491231002x", True),
        ("320106198506121235", True),
        ("110105194912310021", False),
        ("110105189912310025", False),
        ("11010520991231002X", False),
        ("310115199902291112", False),  # 1999-02-29 does not exist
    ],
)
def test_gb11643_checksum_and_birth_date(number, valid):
    assert id_card_valid(number) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("6222021234567890128", True),
        ("6225825984860136", True),
        ("4111111111111112", False),
        ("6225825984860137", False),
    ],
)
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


def eval_rows() -> list[tuple[str, int]]:
    return eval_tables.rows([t for t, *_ in CASES], HARD_NEGATIVES)


def test_eval_table_is_this_table():
    assert eval_tables.read("pii") == eval_rows(), "run: python -m tests.detectors.eval_tables"
