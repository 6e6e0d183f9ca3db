"""Secrets: a table of real shapes (gitleaks' default rules that fit chat, passwords as people type
them), evasions, and hard negatives — documented placeholders and ordinary chat about passwords.

The same table is committed as eval/data/secret/test.csv for ``make eval`` (a test keeps them equal).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.detectors.base import TextView
from auditor.detectors.secret import PREFILTER, find_secrets, shannon_entropy
from tests.detectors import eval_tables

# (text, rule, the secret value as it appears in the text)
CASES = [
    # passwords, Chinese phrasing
    ("测试服务器账号 admin 密码是 Xy#82jd!q9", "secret.password", "Xy#82jd!q9"),
    ("wifi密码：abc12345", "secret.password", "abc12345"),
    ("账号 zhangwei 密码 Passw0rd!", "secret.password", "Passw0rd!"),
    ("账号admin 密码admin123", "secret.password", "admin123"),
    ("堡垒机口令：Qw3rty!9", "secret.password", "Qw3rty!9"),
    ("初始密码为 Init@2026，登录后请修改", "secret.password", "Init@2026"),
    ("VPN 登录密码 vpn#8823Kx", "secret.password", "vpn#8823Kx"),
    ("邮箱密码是hunter2024", "secret.password", "hunter2024"),
    ("路由器管理密码：“Rt-8823-kk”", "secret.password", "Rt-8823-kk"),
    ("服务器密碼是 Tw#2026pass", "secret.password", "Tw#2026pass"),  # traditional 密碼
    ("密码=Zx9!kq2m", "secret.password", "Zx9!kq2m"),
    ("密 码 Lk82!mxq", "secret.password", "Lk82!mxq"),  # keyword spaced out
    ("密*码：Qa9#2kdd", "secret.password", "Qa9#2kdd"),
    ("ｐａｓｓｗｏｒｄ：Ｈｕｎｔｅｒ２０２６", "secret.password", "Ｈｕｎｔｅｒ２０２６"),  # full width
    ("共享盘密码是 qingshan", "secret.password", "qingshan"),
    # passwords, English phrasing
    ("数据库 password: hunter2024", "secret.password", "hunter2024"),
    ("password is hunter2", "secret.password", "hunter2"),
    ("the password for the wifi is Summer2024!", "secret.password", "Summer2024!"),
    ("pwd: Xk2#pp91", "secret.password", "Xk2#pp91"),
    ("PASSWORD=Prod_db_2026", "secret.password", "Prod_db_2026"),
    ("passwd was S3cure!pass", "secret.password", "S3cure!pass"),
    ("The passcode is 7Hq2-9KzL", "secret.password", "7Hq2-9KzL"),
    # passwords in commands and config lines
    ("redis.conf 里 requirepass Xk82mdQ2", "secret.password", "Xk82mdQ2"),
    ("mysql -uroot -pS3cretPw -h 10.0.0.1", "secret.password", "S3cretPw"),
    ("psql --password=Pg#2026x host=db01", "secret.password", "Pg#2026x"),
    # a user name and a password separated by a slash
    ("admin / Gxjp!567", "secret.password", "Gxjp!567"),
    ("root/Passw0rd", "secret.password", "Passw0rd"),
    ("后台账号 ops_li / Kx9#mm21 别外传", "secret.password", "Kx9#mm21"),
    ("登录 zhangsan/zs123456", "secret.password", "zs123456"),
    # URLs with a password
    ("postgres://app:Tr0ub4dor@db.internal:5432/prod", "secret.url_password", "Tr0ub4dor"),
    ("连这个 mysql://root:My$ql2026@10.0.3.7:3306/crm", "secret.url_password", "My$ql2026"),
    ("mongodb+srv://u:s3cr3tPW@cluster0.mongodb.net/app", "secret.url_password", "s3cr3tPW"),
    ("redis://:Kx93ms@10.1.2.3:6379/0", "secret.url_password", "Kx93ms"),
    ("jdbc:postgresql://etl:Etl#2026@pg01:5432/dw", "secret.url_password", "Etl#2026"),
    ("amqp://guest:Rabbit99@mq.local:5672", "secret.url_password", "Rabbit99"),
    ("https://deploy:Gh7!kk2mQ@git.corp.cn/repo.git", "secret.url_password", "Gh7!kk2mQ"),
    # cloud access keys
    ("AWS key AKIA2E3MJQ5TNB6LXQ4Z", "secret.aws_access_key", "AKIA2E3MJQ5TNB6LXQ4Z"),
    ("临时凭证 ASIAY4ZP7QWXR3TLMN2K", "secret.aws_access_key", "ASIAY4ZP7QWXR3TLMN2K"),
    (
        "ＡＫＩＡ２Ｅ３ＭＪＱ５ＴＮＢ６ＬＸＱ４Ｚ",
        "secret.aws_access_key",
        "ＡＫＩＡ２Ｅ３ＭＪＱ５ＴＮＢ６ＬＸＱ４Ｚ",
    ),  # full width
    (
        "aws_secret_access_key = 9f2Kq8Lm3Xv7Bz1Np4Rt6Yw0Hc5Jd8Ge2Ua7Sx3Q",
        "secret.aws_secret_key",
        "9f2Kq8Lm3Xv7Bz1Np4Rt6Yw0Hc5Jd8Ge2Ua7Sx3Q",
    ),
    (
        "SK: Zt8/Lm3Xv7Bz1Np4Rt6Yw0Hc5Jd8Ge2Ua7Sx3Qkw",
        "secret.aws_secret_key",
        "Zt8/Lm3Xv7Bz1Np4Rt6Yw0Hc5Jd8Ge2Ua7Sx3Qkw",
    ),
    ("阿里云的 AccessKey: LTAI5tBcd8XyZ2Qw9PmN", "secret.aliyun_access_key", "LTAI5tBcd8XyZ2Qw9PmN"),
    ("LTAIHCl8H2vmqomKhCuShj5f", "secret.aliyun_access_key", "LTAIHCl8H2vmqomKhCuShj5f"),
    ("腾讯云 SecretId AKIDDjVXn1Ujf7CpskLKiL8iF4Kn5lnFIC7a", "secret.tencent_secret_id", None),
    # code hosting
    (
        "token ghp_1L9MJLyonSUbqYOVwjgoqujmHVQxaAo482Zn",
        "secret.github_token",
        "ghp_1L9MJLyonSUbqYOVwjgoqujmHVQxaAo482Zn",
    ),
    (
        "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",
        "secret.github_token",
        None,
    ),
    ("gho_Qm2Lp8Xz4Rt7Vb1Nc9Kd3Hf6Js0Wy5Ea8GtP", "secret.github_token", None),
    ("glpat-9xK2mQ7vL4pR8tY3wZ6b", "secret.gitlab_token", "glpat-9xK2mQ7vL4pR8tY3wZ6b"),
    ("runner token glrt-Hk29sLq8Xm3Vb7Nz1Pr4", "secret.gitlab_token", None),
    # chat and webhooks
    ("xoxb-2948172650-3817263548-Kd8s7Fj2Lq9Wm3Xp5Rt1Yv6Z", "secret.slack_token", None),
    ("slack user token xoxp-2948172650-3817263548-4726152638-a7f3c9e1b5d2", "secret.slack_token", None),
    (
        "告警发这里 https://hooks.slack.com/services/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",
        "secret.webhook",
        "T0A1B2C3D/B4E5F6G7H/Kx8mP2qR7sT1vW9yZ3aB5cD7",
    ),
    (
        "钉钉机器人 https://oapi.dingtalk.com/robot/send?access_token=aaa50f023cb67c8317db866bd990109276adacf1e9d525284650ef9af6601576",
        "secret.webhook",
        "aaa50f023cb67c8317db866bd990109276adacf1e9d525284650ef9af6601576",
    ),
    (
        "群机器人 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=50c72085-fdc8-4792-b21d-246fab24101f",
        "secret.webhook",
        "50c72085-fdc8-4792-b21d-246fab24101f",
    ),
    (
        "飞书 https://open.feishu.cn/open-apis/bot/v2/hook/9e1d7c3a-5b2f-4e8a-a6c4-0f3b8d2e7a91",
        "secret.webhook",
        "9e1d7c3a-5b2f-4e8a-a6c4-0f3b8d2e7a91",
    ),
    # other providers
    ("地图 key AIzaSyD3kF8mQ2pL7xR9tV4wB6nJ1cH5gK0sYzE", "secret.google_api_key", None),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "secret.stripe_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("rk_live_51Hq2Lm8Xz4Rt7Vb1Nc9Kd3Hf6", "secret.stripe_key", None),
    ("用这个 sk-proj4f8d9a7b6c5e4d3c2b1a0f", "secret.api_token", None),
    ("npm_saGZSsyCdEFdgCUJORFfTGfCjm4QY6FL5oYW", "secret.api_token", None),
    ("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", "secret.api_token", None),
    ("bot token 6839204715:AAHq2Lm8Xz4Rt7Vb1Nc9Kd3Hf6Js0Wy5Ea8", "secret.api_token", None),
    # generic assignments
    (
        "api_key=3f9a8c7e2b1d4f6a9c0e8b7d5a3f1c2e",
        "secret.generic_api_key",
        "3f9a8c7e2b1d4f6a9c0e8b7d5a3f1c2e",
    ),
    ('"client_secret": "Qm2Lp8Xz4Rt7Vb1Nc9Kd3Hf"', "secret.generic_api_key", "Qm2Lp8Xz4Rt7Vb1Nc9Kd3Hf"),
    ("appsecret：5mxFvC5Ay6ZLIWWpCipxryNmIsPYxR", "secret.generic_api_key", "5mxFvC5Ay6ZLIWWpCipxryNmIsPYxR"),
    ("AccessKeySecret: 5mxFvC5Ay6ZLIWWpCipxryNmIsPYxR", "secret.generic_api_key", None),
    ("接口密钥是 k8Hq2Lm9Xz4Rt7Vb1Nc6", "secret.generic_api_key", "k8Hq2Lm9Xz4Rt7Vb1Nc6"),
    ("ACCESS_TOKEN = 'e7d3c9a1b5f24680ace13579bdf02468'", "secret.generic_api_key", None),
    # blocks
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x2\n-----END RSA PRIVATE KEY-----",
        "secret.private_key",
        None,
    ),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "secret.private_key", None),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "secret.jwt",
        None,
    ),
]

HARD_NEGATIVES = [
    # talk about passwords, no password
    "忘记密码的话可以找IT同事重置",
    "密码是多少？",
    "请大家注意信息安全，不要在群里发账号信息",
    "把密码改成强密码",
    "密码错误请重试",
    "密码已经发你邮箱了",
    "口令牌放抽屉里",
    "密 码 都 忘 了",
    "密码至少 8 位，包含大小写",
    "password reset 链接已发",
    "password is required",
    "Password: ********",
    "pwd 命令可以显示当前目录",
    "the password policy changed",
    "请输入 password 再点 login",
    # masked and documented placeholders
    "密码是 ******",
    "password: <password>",
    "密码：xxxxxx",
    "password=${DB_PASSWORD}",
    "pwd=$(pwd)",
    "echo $PASSWORD",
    "mysql -uroot -p",
    "SECRET_KEY = os.environ['SECRET_KEY']",
    "api_key = config.get('api_key')",
    "token 放在 header 里 Authorization: Bearer xxx",
    "admin/admin 登录不了",
    "用户名/密码：请联系管理员",
    "ssh root@10.0.0.5",
    "git push origin feature/abc-123",
    "access_token 有效期是 7200 秒",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "xoxb-xxxxxxxxxxxx-xxxxxxxxxxxx",
    "xoxb-your-bot-token-here",
    "api_key=your_api_key",
    "api_key=YOUR_API_KEY_HERE",
    "token: <your-token>",
    "secret = 'sample_secret_value'",
    "client_secret=dummy_client_secret1",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",  # a test-mode key moves no money
    "postgres://user:password@localhost:5432/db",
    "mysql://root:<password>@127.0.0.1/app",
    "redis://:${REDIS_PASS}@cache:6379",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "api_key=1234567890abcdef",
    "token=aaaaaaaaaaaaaaaa",
    # prefixes mentioned, not keys
    "AKIA 是 AWS key 的前缀",
    "ghp_ 开头的是 GitHub token",
    "glpat- 是 GitLab 的个人令牌前缀",
    "AIza 开头的 key 是谷歌的",
    # key-like words that are not secrets
    "public_key = MIIBIjANBgkqhkiG9w0BAQEFAAOC",
    "access_key_id: LTAI 开头",
    "token_url=https://auth.corp.cn/oauth/token",
    "key: value",
    "tokenizer: bert-base-chinese",
    "monkey=1234abcd5678",
    "commit 3f9a8c7e2b1d4f6a9c0e8b7d5a3f1c2e4b6d8f0a 已合入",
    "文件在 /data/share/2026/report.xlsx",
    # slashes that are not user/password
    "TCP/IP 协议",
    "git checkout user/fix-login-bug",
    "合同模板在 docs/contract_v2.docx",
    "A/B 测试结果 12.5%/13.1%",
    "速度 120km/h",
    "feature/login-page 分支已合并",
    "src/main.py 第 12 行",
    # URLs without a password
    "git@github.com:org/repo.git",
    "ssh://git@gitlab.corp.cn:2222/team/app.git",
    "http://10.0.0.5:8080/status",
    "https://example.com/a@b",
    # ordinary chat
    "今天的会改到下午三点",
    "这个 key 点不动，键盘坏了",
    "用户名是 zhangwei，你直接搜",
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


def test_prefilter_keeps_every_positive_and_batch_equals_one_by_one(analyzer):
    texts = [t for t, *_ in CASES] + HARD_NEGATIVES
    assert set(range(len(CASES))) <= set(PREFILTER.candidates(texts))
    detector = next(d for d in analyzer.detectors if d.category == "secret")
    views = [TextView(t, analyzer.lexicon, analyzer.segmenter) for t in texts]
    assert detector.scan_many(views) == [detector.scan(v) for v in views]


def test_prefilter_survives_a_text_holding_its_separator():
    assert PREFILTER.candidates(["a\x00b", "密码是 Xy#82jd!q9", "你好"]) == [1]


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("aaaaaaaa", 0.0, 0.01),
        ("abababab", 0.99, 1.01),
        ("9f2Kq8Lm3Xv7Bz1Np4Rt6Yw0Hc5Jd8Ge2Ua7Sx3Q", 4.5, 6.0),
    ],
)
def test_shannon_entropy(value, low, high):
    assert low <= shannon_entropy(value) <= high


@given(
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%", min_size=8, max_size=24
    )
)
def test_a_found_password_never_shows_in_its_mask(password):
    for found in find_secrets(f"账号 admin 密码是 {password}"):
        assert password not in found.masked


def eval_rows() -> list[tuple[str, int]]:
    return eval_tables.rows([t for t, *_ in CASES], HARD_NEGATIVES)


def test_eval_table_is_this_table():
    assert eval_tables.read("secret") == eval_rows(), "run: python -m tests.detectors.eval_tables"
