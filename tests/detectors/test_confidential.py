from pathlib import Path

import pytest

from auditor.analyzer import Analyzer, Ruleset
from auditor.config import load_config

CASES = [
    "这是绝密文件，严禁外传",
    "內部資料，僅供參考",
    "发一下机密的投标方案",
    "星河项目的报价底线是八折",
    "严禁外传的机密资料如下：投标价 380 万",  # the label itself forbids, and still labels
    "这份是机密？不，绝密",  # one marker asked about, the next one stated
    "机密文件已归档，投标价 380 万",  # done, not an instruction: the material follows
    "绝密资料如下，看完请销毁：投标价 380 万",  # the instruction is in another clause
]
HARD_NEGATIVES = [
    "请大家签署保密协议",
    "密码学课程",
    "这个问题很机智",
    # words about confidentiality, not a label on material
    "这个不是机密，可以发给客户",
    "这份资料是机密吗？",
    "请不要在群里讨论机密信息",
    "电影《洛城机密》好看",
    # how to keep confidential material safe: a reminder of the rules, not the material
    "本周机密文件要全部归档",
    "绝密资料请阅后销毁",
    "内部资料统一交回行政部登记",
    "机密文件一律加密后再发邮件",
]


@pytest.mark.parametrize("text", CASES)
def test_markers_found(hits, text):
    assert hits(text, "confidential")


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_confidential(hits, text):
    assert not hits(text, "confidential")


def test_company_codenames_extend_the_builtin_lexicon(tmp_path: Path):
    (tmp_path / "confidential.txt").write_text("# codenames\n北极星计划\thigh\n", encoding="utf-8")
    company = Analyzer(Ruleset(load_config(None), tmp_path))
    [hit] = [h for h in company.analyze("北极星计划下季度发布") if h.category == "confidential"]
    assert (hit.rule, hit.severity) == ("confidential.company", "high")
    builtin = Analyzer(Ruleset(load_config(None), None))
    assert not [h for h in builtin.analyze("北极星计划下季度发布") if h.category == "confidential"]


def test_company_allowlist_suppresses(tmp_path: Path):
    (tmp_path / "allowlist.txt").write_text("机密度\n", encoding="utf-8")
    company = Analyzer(Ruleset(load_config(None), tmp_path))
    assert not [h for h in company.analyze("材料的机密度很高") if h.category == "confidential"]
