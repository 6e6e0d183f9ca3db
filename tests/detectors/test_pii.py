import pytest

from auditor.detectors.pii import id_card_valid, luhn_valid

CASES = [
    ("客户电话 13812345678，麻烦回访", "pii.mobile", "138****5678"),
    ("联系我：+86 138 1234 5678", "pii.mobile", "138****5678"),
    ("手机 186-0012-3456", "pii.mobile", "186****3456"),
    ("电话１３９１２３４５６７８", "pii.mobile", "139****5678"),  # full-width digits
    ("客户身份证号 11010519491231002X，帮忙登记", "pii.id_card", "110105********002X"),
    ("身份证 44030519900101123X", "pii.id_card", None),
    ("退款打到这张银行卡：6222021234567890128", "pii.bank_card", "6222***********0128"),
    ("卡号 4111 1111 1111 1111", "pii.bank_card", "4111********1111"),
    ("把合同发到 li.na@example-client.com", "pii.email", "l***@example-client.com"),
]
HARD_NEGATIVES = [
    "订单号 202611160001 已发货",
    "订单号 13812345678 已发货",  # an order number that looks like a mobile
    "身份证 110105194912310021",  # wrong check digit
    "身份证 110105194913310028",  # month 13
    "6222021234567890123",  # Luhn-valid? no: and no card context either
    "流水号 4111111111111111",  # business id, not a card
    "批次 4111111111111111 已入库",  # Luhn-valid but no card context
    "版本号 1.3.8",
    "会议在 2026-11-16 13:30",
    "价格是 13800 元",
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
    ("number", "valid"),
    [
        ("11010519491231002X", True),
        ("44030519900101123X", True),
        ("11010519491231002x", True),
        ("110105194912310021", False),
        ("110105189912310025", False),
        ("11010520991231002X", False),
    ],
)
def test_gb11643_checksum_and_birth_date(number, valid):
    assert id_card_valid(number) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("6222021234567890128", True),
        ("4111111111111112", False),
    ],
)
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid
