import pytest

from auditor.detectors.base import TextView
from auditor.detectors.malicious_link import PREFILTER

CASES = [
    ("新版客户端下载 http://45.77.12.9/update.exe", "malicious_link.ip_host"),
    ("福利领取 https://bit.ly/3xYzAbc", "malicious_link.shortener"),
    ("登录验证 http://xn--pypal-4ve.com/login", "malicious_link.punycode"),
    ("账户异常请登录 https://paypa1-secure.com/verify", "malicious_link.lookalike"),
    ("微信安全中心 http://wechat-login.cc", "malicious_link.blocklist"),
    ("工资调整明细 http://hr-notice.top/工资表.xlsx.exe", "malicious_link.double_extension"),
    ("安装这个 https://files.example.net/tool.apk", "malicious_link.executable_download"),
    ("运行脚本 http://example.net/fix.ps1", "malicious_link.executable_download"),
    ("附件：年终奖名单.xlsx.exe 请查收", "malicious_link.double_extension"),
    ("ｈｔｔｐ://45.77.12.9/a.exe", "malicious_link.ip_host"),  # full-width evasion
    ("点我领取\n福利\njavascript:window.__pwned=1", "malicious_link.script_url"),
    ("JavaScript :alert(document.cookie)", "malicious_link.script_url"),
    ("福利领取 https://bit.ly/3xYzAbc[呲牙]", "malicious_link.shortener"),  # a sticker code after it
    ("福利 www.bit.ly/3xYzAbc[强][强]", "malicious_link.shortener"),
    ("新版 ht\u200btp://45.77.12.9/update.exe", "malicious_link.ip_host"),  # a zero-width space inside
    ("WWW.BIT.LY/3xYzAbc", "malicious_link.shortener"),
    ("点我 javascr\u0131pt:alert(1)", "malicious_link.script_url"),  # dotless ı: re.I reads it as i
    ("cafe\u0301 http://45.77.12.9/a", "malicious_link.ip_host"),  # a combining mark elsewhere in the text
    # an intranet host is no phishing host, but the rest of its link still counts
    ("补丁在 http://10.0.0.5/patch.exe", "malicious_link.executable_download"),
    ("更新 http://[2001:4860:4860::8888]/a", "malicious_link.ip_host"),  # a public IPv6 host
    # shortened links as chat writes them, without a scheme
    ("福利领取 bit.ly/3xYzAbc", "malicious_link.shortener"),
    ("点这里 t.cn/A6xyzABC 领红包", "malicious_link.shortener"),
    ("看这个：DWZ.CN/abcd", "malicious_link.shortener"),
    ("淘宝退款 https://taobao-refund.top/claim", "malicious_link.lookalike"),
    ("支付宝认证 https://alipay.com.verify-account.cn/", "malicious_link.lookalike"),
    ("登录 https://paypal.com-secure.net/", "malicious_link.lookalike"),
    # 45.77.12.9 as the integer, hex and octal hosts browsers accept
    ("领奖 http://760024073/claim", "malicious_link.ip_host"),
    ("登录 http://0x2d4d0c09/login", "malicious_link.ip_host"),
    ("登录 http://055.0115.014.011/login", "malicious_link.ip_host"),
    # …whose downloads anyone may have uploaded (link_user_content.txt)
    (
        "装这个 https://github.com/someone/tool/releases/download/v1/setup.exe",
        "malicious_link.executable_download",
    ),
    ("报价单 https://gitee.com/x/y/raw/master/报价单.pdf.exe", "malicious_link.double_extension"),
]
HARD_NEGATIVES = [
    "企业微信帮助中心 https://work.weixin.qq.com/help",
    "文档在 https://doc.weixin.qq.com/doc/1",
    "代码在 https://github.com/org/repo/releases/tag/v1",  # a work domain that anyone publishes on…
    "文档 https://gitee.com/org/repo/blob/master/README.md",
    "运行库 https://download.microsoft.com/download/vc_redist.x64.exe",  # a vendor's own download
    "官网 https://www.example.com/about",
    "用 node.js 写的",
    "周报.docx",
    "请看 https://www.apple.com/cn/",
    "pineapple.example.org 是测试域名 http://pineapple.example.org",
    "我在学 JavaScript 编程",
    "官网 www.universalstudios.com[呲牙]",  # once crashed the audit: '呲牙' is no IPv6 address
    "http://[呲牙]",
    "看看 http://[ 这个",
    # the team's own servers, by an address no one outside reaches
    "Jenkins 在 http://10.0.0.5:8080/job/build 挂了",
    "内网 wiki：http://192.168.1.20/wiki/onboarding",
    "本地调试 http://127.0.0.1:5000/api/v1/orders",
    "测试环境 http://172.16.3.4:9000",
    "ERROR timeout calling http://10.0.0.5:8080/api/v1/orders",
    "本机 http://[::1]:8080/health",
    "本机 http://0x7f.1:8080/health",  # 127.0.0.1, however written
    "版本说明 http://example.com/v1.2.3/notes",
    "用 bit.ly 缩短一下再发",  # a shortener named, no link
    "abt.cn/about 是我们的官网",  # another host that ends like one
    "邮件发到 ops@t.cn/ 这个地址",
    # the brands' own domains are no look-alikes of themselves
    "这个链接 https://item.taobao.com/item.htm?id=674839201",
    "付款用 https://www.alipay.com/ 就行",
    "工行官网 https://www.icbc.com.cn/",
    "https://www.paypal.com/signin",
    "https://u.wechat.com/abc",
]


@pytest.mark.parametrize(("text", "rule"), CASES)
def test_malicious_link_found(hits, text, rule):
    found = hits(text, "malicious_link")
    assert rule in {h.rule for h in found} or rule in {
        r for h in found for r in h.evidence.get("reasons", [])
    }, found


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("装这个 https://github.com/someone/tool/releases/download/v1/setup.exe", "medium"),
        ("装这个 https://files.example.net/setup.exe", "high"),  # not a work domain
        ("报价单 https://gitee.com/x/y/raw/master/报价单.pdf.exe", "critical"),
    ],
)
def test_a_program_on_a_code_host_is_worth_a_look_not_an_alarm(hits, text, severity):
    [hit] = hits(text, "malicious_link")
    assert hit.severity == severity


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_not_malicious(hits, text):
    assert not hits(text, "malicious_link")


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("setup.exe", True),
        ("工资表.xlsx.exe", True),
        ("install.APK", True),
        ("周报.docx", False),
        ("readme.txt", False),
    ],
)
def test_file_messages_with_executable_names(hits, name, flagged):
    assert bool(hits(name, "malicious_link", is_file=True)) is flagged


def test_prefilter_keeps_every_positive_and_batch_equals_one_by_one(analyzer):
    texts = [t for t, _ in CASES] + HARD_NEGATIVES
    assert set(range(len(CASES))) <= set(PREFILTER.candidates(texts))
    assert PREFILTER.candidates(["今天开会", "收到", "好的👍"]) == []
    detector = next(d for d in analyzer.detectors if d.category == "malicious_link")
    views = [
        TextView(t, analyzer.lexicon, analyzer.segmenter, is_file=t.endswith((".exe", ".docx")))
        for t in texts
    ]
    views += [
        TextView(name, analyzer.lexicon, analyzer.segmenter, is_file=True) for name in ("setup.exe", "a.txt")
    ]
    assert detector.scan_many(views) == [detector.scan(v) for v in views]
    assert detector.scan_many(views)[-2]  # a file is scanned without any candidate text
