import pytest

CASES = [
    ("测试服务器账号 admin 密码是 Xy#82jd!q9", "secret.password", "Xy#82jd!q9"),
    ("数据库 password: hunter2024", "secret.password", "hunter2024"),
    ("wifi密码：abc12345", "secret.password", "abc12345"),
    ("账号 zhangwei 密码 Passw0rd!", "secret.password", "Passw0rd!"),
    ("AWS key AKIAIOSFODNN7EXAMPLE", "secret.aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ("阿里云的 AccessKey: LTAI5tBcd8XyZ2Qw9PmN", "secret.aliyun_access_key", "LTAI5tBcd8XyZ2Qw9PmN"),
    ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "secret.github_token", None),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x2\n-----END RSA PRIVATE KEY-----",
        "secret.private_key",
        None,
    ),
    ("用这个 sk-proj4f8d9a7b6c5e4d3c2b1a0f", "secret.api_key", None),
    ("ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ", "secret.aws_access_key", None),  # full-width evasion
]
HARD_NEGATIVES = [
    "忘记密码的话可以找IT同事重置",
    "密码是多少？",
    "请大家注意信息安全，不要在群里发账号信息",
    "密码是 ******",
    "把密码改成强密码",
    "AKIA 是 AWS key 的前缀",
    "ghp_ 开头的是 GitHub token",
]


@pytest.mark.parametrize(("text", "rule", "value"), CASES)
def test_secret_found_and_masked(hits, text, rule, value):
    found = [h for h in hits(text, "secret") if h.rule == rule]
    assert found, hits(text, "secret")
    hit = found[0]
    assert hit.masked and "*" in hit.masked
    if value:
        assert text[hit.start : hit.end] == value
        assert value not in hit.masked and value not in str(hit.evidence)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_a_secret(hits, text):
    assert not hits(text, "secret")
