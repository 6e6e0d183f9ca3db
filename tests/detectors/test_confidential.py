from pathlib import Path

import pytest

from auditor.analyzer import Analyzer, Ruleset
from auditor.config import load_config

CASES = ["这是绝密文件，严禁外传", "內部資料，僅供參考", "发一下机密的投标方案", "星河项目的报价底线是八折"]
HARD_NEGATIVES = ["请大家签署保密协议", "密码学课程", "这个问题很机智"]


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
