"""A deterministic generator of realistic WeCom archives, for the demo, tests and benchmarks.

Workplace chat is mostly short acknowledgements (收到/好的), some longer planning messages,
and a small share of images, files and links. Violations are planted at a low rate in the
"dirty" groups only, each kind at least once per day, evasions included; every planted
message is listed in manifest.json so detection recall can be measured. Innocent look-alikes
(操场, 操作, 鸡蛋, 日报) appear everywhere, clean groups included.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import heapq
import io
import itertools
import json
import random
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from auditor import atomic
from auditor.sample_chat import ChatText

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
# template: the demo sample, a few dozen work lines with names swapped in (sample_data/, tests);
# real: sentences of real conversational Chinese, mostly distinct, for benchmarks (auditor/sample_chat.py)
REALISMS = ("template", "real")
BATCH_SIZE = 1000
VIOLATION_RATE = 0.003  # share of ordinary messages in a "dirty" group that break a rule

SURNAMES = ("wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu")
SURNAMES += ("xu", "sun", "hu", "zhu", "gao", "lin", "he", "guo", "ma", "luo")
GIVEN = ("wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong")
GIVEN += ("yan", "jie", "juan", "tao", "ming", "chao", "xiu", "xia", "ping", "gang", "hua")
DEPARTMENTS = ["研发部", "产品部", "销售部", "客服部", "财务部", "人力资源部", "市场部", "运维部"]
GROUP_NAMES = {
    "internal": ["研发部内部沟通群", "财务部日常群", "市场部工作群", "行政通知群", "运维值班群"],
    "project": ["星河项目专项群", "天枢系统升级项目群", "华东区渠道拓展项目", "年会筹备专项群"],
    "customer": ["VIP客户服务群", "华南客户交流群", "大客户售后服务群", "新品体验客户群"],
}

ACKS = [
    "收到",
    "好的",
    "好的，收到",
    "OK",
    "ok",
    "👍",
    "谢谢",
    "收到，谢谢",
    "明白",
    "嗯嗯",
    "没问题",
    "[强]",
    "好滴",
]
WORK = [
    "明天上午十点开周会，大家提前准备一下进度",
    "这个需求的操作流程我整理好了，发在共享文档里",
    "今天的日报请下班前提交",
    "测试环境已经部署完成，大家可以验证了",
    "客户反馈的问题已经定位，预计今晚修复",
    "下午三点在三号会议室评审方案",
    "请各位本周五前完成季度自评",
    "食堂今天中午有鸡蛋羹和红烧肉",
    "下班后去操场打球的举手",
    "系统操作手册已经更新到最新版本",
    "日本分公司的同事下周来访，请做好接待",
    "报销单据请贴好发票交到财务",
    "新版本的安装包在内网下载页，别用外面的链接",
    "忘记密码的话可以找IT同事重置",
    "型号 SB2024 的配件已经到货了",
    "今天打卡系统有点慢，大家耐心等一下",
    "这个bug的复现步骤：先登录，再点导出，最后刷新页面",
    "订单号 202611160001 已发货，物流单号稍后同步",
    "周末加班的同学记得在系统里申请调休",
    "请大家注意信息安全，不要在群里发账号信息",
    "本月绩效面谈安排在下周二和周三",
    "会议纪要：一、确认排期；二、明确负责人；三、下周复盘",
    "打扰一下，谁知道打印机的驱动在哪里下载？",
    "客户说操作界面不太直观，我们再优化一下",
]
CUSTOMER = [
    "您好，请问有什么可以帮您？",
    "我们的产品支持七天无理由退换",
    "已经为您登记，工程师会在24小时内联系您",
    "感谢您的反馈，我们会持续改进",
    "请问设备的序列号是多少？",
    "新版本已经上线，欢迎体验",
    "我想咨询一下续费的价格",
    "上次的问题已经解决了，谢谢你们",
]
LONG = [
    "各位同事好，关于下季度的工作安排说明如下：第一，核心项目按原计划推进，每周一同步进度；"
    "第二，新人培训由人力资源部统一组织，各部门配合安排导师；第三，请大家合理安排假期，"
    "确保关键岗位有人值守。有问题随时在群里沟通，谢谢大家的配合。",
    "复盘一下昨天的线上故障：晚上八点左右监控报警，数据库连接数打满，值班同学十分钟内定位到"
    "慢查询并回滚了变更，服务在二十分钟后恢复。后续改进：上线前做压测，变更窗口避开高峰，"
    "完善告警分级。",
]


def id_card(rng: random.Random) -> str:
    """A mainland resident ID number with a valid GB 11643 check digit and birth date."""
    area = rng.choice(["110101", "310104", "440305", "510107"])
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=rng.randrange(365 * 20))
    body = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def luhn_card(rng: random.Random, prefix: str = "622202") -> str:
    """A 16-digit bank card number that passes the Luhn check."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "186", "155", "177"]) + f"{rng.randrange(10**8):08d}"


# Violation scenarios: category → callables returning the text of one planted message.
def _violations(rng: random.Random) -> dict[str, list[Callable[[], str]]]:
    return {
        "profanity": [
            lambda: "你他妈的能不能快点回复",
            lambda: "卧槽，这需求又改了，傻逼产品",
            lambda: "這什麼破方案，他媽的",  # traditional characters
            lambda: "tmd 又要通宵加班",
            lambda: "傻*逼才这么写代码",  # inserted symbol
            lambda: "ＳＢ吧你",  # full-width letters
        ],
        "abuse": [
            lambda: "你是猪吗？这么简单都不会",
            lambda: "你脑子有病吧，谁让你改生产库的",
            lambda: "你算什么东西，也配来指挥我",
            lambda: "废物一个，什么都干不好",
        ],
        "illegal": [
            lambda: "有人玩网上赌博吗，百家乐稳赚不赔",
            lambda: "出售冰毒，量大从优，私聊",
            lambda: "低价出售仿真枪支弹药",
            lambda: "看黄色视频加我，全是高清无码",
            lambda: "網上賭場開業，充值送百分之五十",  # traditional
        ],
        "rumor": [
            lambda: "紧急扩散！听说公司下个月要裁员一半，内部消息，不转不是自己人",
            lambda: "据说喝板蓝根能治癌症，速转给家人",
            lambda: "转发周知：内部消息说公司年底要倒闭了，工资发不出来",
        ],
        "confidential": [
            lambda: "这是绝密文件，严禁外传：星河项目的报价底线是八折",
            lambda: "内部资料，仅供参考：北极星计划下季度发布路线图",
            lambda: "发一下机密的投标方案给客户看看",
        ],
        "secret": [
            lambda: "测试服务器账号 admin 密码是 Xy#82jd!q9",
            lambda: (
                "阿里云的 AccessKey: LTAI"
                + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(20))
            ),
            lambda: (
                "AWS key AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
            ),
            lambda: (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x2"
                + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))
                + "\n-----END RSA PRIVATE KEY-----"
            ),
            lambda: (
                "github token ghp_"
                + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789") for _ in range(36))
            ),
        ],
        "pii": [
            lambda: f"客户王先生的电话是 {mobile(rng)}，麻烦回访一下",
            lambda: f"联系我：+86 {mobile(rng)[:3]} {mobile(rng)[3:7]} 5678",
            lambda: f"客户身份证号 {id_card(rng)}，帮忙登记一下",
            lambda: f"退款打到这张银行卡：{luhn_card(rng)}",
            lambda: "把合同发到 li.na@example-client.com",
        ],
        "malicious_link": [
            lambda: "新版客户端下载 http://45.77.12.9/update.exe",
            lambda: "福利领取 https://bit.ly/3xYzAbc",
            lambda: "登录这个页面验证账号 http://xn--pypal-4ve.com/login",
            lambda: "工资调整明细在这里 http://hr-notice.top/工资表.xlsx.exe",
        ],
        "ad": [
            lambda: "低价代购各种大牌，加微信 wxid_dg8823，扫码领优惠券",
            lambda: "兼职刷单日赚三百，加V：abc5566，名额有限",
            lambda: "专业代开发票，联系 QQ 88776655",
        ],
    }


class _Archive:
    """Accumulates records and knows the people and groups of the company."""

    def __init__(self, rng: random.Random, groups: int, start: dt.date):
        self.rng = rng
        self.start = start
        self.records: list[dict[str, Any]] = []
        self.planted: dict[str, list[str]] = {}
        self.count = 0
        names = sorted({f"{s}{g}" for s in SURNAMES for g in GIVEN})
        rng.shuffle(names)
        self.staff = names[: max(40, groups * 12)]
        self.left = self.staff[-2:]  # two people who have left the company
        self.externals = [f"wm{rng.getrandbits(48):012x}" for _ in range(max(10, groups * 3))]
        self.robot = f"wb{rng.getrandbits(40):010x}"
        self.groups = self._make_groups(groups)
        self.weights: list[float] = []
        self.chat: ChatText | None = None  # set for realism "real"

    def _make_groups(self, count: int) -> list[dict[str, Any]]:
        categories = ["internal", "project", "customer"]
        used: dict[str, int] = {c: 0 for c in categories}
        groups = []
        active_staff = [s for s in self.staff if s not in self.left]
        for i in range(count):
            category = categories[i % 3]
            names = GROUP_NAMES[category]
            n = used[category]
            used[category] += 1
            name = names[n % len(names)] + (f"{n // len(names) + 1}" if n >= len(names) else "")
            size = self.rng.randint(5, 25)
            members = self.rng.sample(active_staff, size)
            externals = (
                self.rng.sample(self.externals, self.rng.randint(3, 8)) if category == "customer" else []
            )
            # the first three groups (one per category) carry the planted violations; the rest are clean
            groups.append(
                {
                    "roomid": f"wr{self.rng.getrandbits(64):016x}",
                    "name": name,
                    "category": category,
                    "owner": members[0],
                    "members": members,
                    "externals": externals,
                    "people": members + externals,
                    "dirty": i < 3 or (i % 5 == 0),
                }
            )
        return groups

    def msgid(self) -> str:
        self.count += 1
        return f"{self.rng.getrandbits(96):024x}_{self.count}"

    def add(
        self,
        sender: str,
        when: dt.datetime,
        msgtype: str,
        payload: Any,
        roomid: str = "",
        tolist: list[str] | None = None,
        planted: list[str] | None = None,
        collect: bool = True,
    ) -> dict[str, Any]:
        """A record; ``collect`` keeps it with the day's special records (ordinary ones stream)."""
        record: dict[str, Any] = {
            "msgid": self.msgid(),
            "action": "send",
            "from": sender,
            "tolist": tolist or [],
            "roomid": roomid,
            "msgtime": round(when.timestamp() * 1000),
            "msgtype": msgtype,
        }
        key = {
            "docmsg": "doc",
            "markdown": "info",
            "news": "info",
            "qydiskfile": "info",
            "external_redpacket": "redpacket",
        }.get(msgtype, msgtype)
        record[key] = payload
        if msgtype in ("meeting_voice_call", "voip_doc_share"):
            del record["roomid"]  # these come without a roomid key in real exports
            record["voiceid" if msgtype == "meeting_voice_call" else "voipid"] = f"v{self.count}"
        if collect:
            self.records.append(record)
        if planted:
            self.planted[record["msgid"]] = planted
        return record

    def text(
        self,
        group: dict[str, Any],
        sender: str,
        when: dt.datetime,
        content: str,
        planted: list[str] | None = None,
        collect: bool = True,
    ) -> dict[str, Any]:
        tolist = [m for m in group["members"] if m != sender][:5]
        return self.add(sender, when, "text", {"content": content}, group["roomid"], tolist, planted, collect)


def _every_type(arc: _Archive, group: dict[str, Any], when: dt.datetime) -> None:
    """One message of each WeCom archive type, so every parser path is exercised."""
    rng, who = arc.rng, group["members"]
    room = group["roomid"]
    md5 = lambda: f"{rng.getrandbits(128):032x}"  # noqa: E731
    step = iter(range(1, 100))
    t = lambda: when + dt.timedelta(seconds=next(step) * 7)  # noqa: E731
    first = arc.add(who[1], t(), "text", {"content": "这条消息发错了，马上撤回"}, room)
    arc.add(who[1], t(), "revoke", {"pre_msgid": first["msgid"]}, room)["action"] = "recall"
    arc.add(who[0], t(), "image", {"md5sum": md5(), "filesize": 48213, "sdkfileid": "sdk-img"}, room)
    arc.add(who[0], t(), "agree", {"userid": who[2], "agree_time": int(when.timestamp())}, room)
    arc.add(who[0], t(), "disagree", {"userid": who[2], "disagree_time": int(when.timestamp())}, room)
    arc.add(
        who[2],
        t(),
        "voice",
        {"md5sum": md5(), "voice_size": 3201, "play_length": 4, "sdkfileid": "sdk-v"},
        room,
    )
    arc.add(
        who[2], t(), "video", {"md5sum": md5(), "filesize": 120331, "play_length": 12, "sdkfileid": "s"}, room
    )
    arc.add(who[3], t(), "card", {"corpname": "示例科技有限公司", "userid": who[4]}, room)
    arc.add(
        who[3],
        t(),
        "location",
        {
            "longitude": 113.94,
            "latitude": 22.54,
            "address": "深圳市南山区科技园",
            "title": "示例大厦",
            "zoom": 15,
        },
        room,
    )
    arc.add(
        who[4],
        t(),
        "emotion",
        {"type": 1, "width": 100, "height": 100, "imagesize": 2000, "md5sum": md5(), "sdkfileid": "e"},
        room,
    )
    arc.add(
        who[4],
        t(),
        "file",
        {
            "md5sum": md5(),
            "filename": "第三季度周报.docx",
            "fileext": "docx",
            "filesize": 22013,
            "sdkfileid": "f",
        },
        room,
    )
    arc.add(
        who[0],
        t(),
        "link",
        {
            "title": "项目管理规范",
            "description": "最新版流程说明",
            "link_url": "https://work.weixin.qq.com/help",
            "image_url": "",
        },
        room,
    )
    arc.add(
        who[1],
        t(),
        "weapp",
        {
            "title": "会议室预订",
            "description": "预订明天的会议室",
            "username": "gh_1",
            "displayname": "企业服务",
        },
        room,
    )
    arc.add(
        who[2],
        t(),
        "chatrecord",
        {
            "title": "群聊的聊天记录",
            "item": [
                {
                    "type": "ChatRecordText",
                    "msgtime": int(when.timestamp()),
                    "content": json.dumps({"content": "方案已经评审通过"}, ensure_ascii=False),
                    "from_chatroom": True,
                },
                {
                    "type": "ChatRecordFile",
                    "msgtime": int(when.timestamp()),
                    "content": json.dumps({"filename": "评审意见.xlsx"}, ensure_ascii=False),
                    "from_chatroom": True,
                },
            ],
        },
        room,
    )
    arc.add(who[0], t(), "todo", {"title": "提交季度总结", "content": "周五前提交到共享盘"}, room)
    arc.add(
        who[0],
        t(),
        "vote",
        {"votetitle": "团建去哪里", "voteitem": ["爬山", "烧烤"], "votetype": 101, "voteid": "v1"},
        room,
    )
    arc.add(
        who[0],
        t(),
        "collect",
        {
            "room_name": group["name"],
            "creator": who[0],
            "create_time": "2026-11-16",
            "title": "午餐统计",
            "details": [{"id": 1, "ques": "是否订餐", "type": "Text"}],
        },
        room,
    )
    arc.add(
        who[1],
        t(),
        "redpacket",
        {"type": 1, "wish": "恭喜发财，大吉大利", "totalcnt": 5, "totalamount": 500},
        room,
    )
    arc.add(
        who[1],
        t(),
        "external_redpacket",
        {"type": 1, "wish": "感谢支持", "totalcnt": 2, "totalamount": 200},
        room,
    )
    arc.add(
        who[0],
        t(),
        "meeting",
        {
            "topic": "周会",
            "starttime": 1,
            "endtime": 2,
            "address": "三号会议室",
            "remarks": "带电脑",
            "meetingtype": 101,
            "meetingid": 1,
            "status": 1,
        },
        room,
    )
    arc.add(
        who[0],
        t(),
        "docmsg",
        {"title": "需求文档", "link_url": "https://doc.weixin.qq.com/doc/1", "doc_creator": who[0]},
        room,
    )
    arc.add(who[0], t(), "markdown", {"content": "**上线通知**：今晚十点发布"}, room)
    arc.add(
        who[0],
        t(),
        "news",
        {
            "item": [
                {
                    "title": "公司新闻",
                    "description": "年度优秀员工评选开始",
                    "url": "https://work.weixin.qq.com/news",
                    "picurl": "",
                }
            ]
        },
        room,
    )
    arc.add(
        who[0],
        t(),
        "calendar",
        {
            "title": "季度复盘",
            "creatorname": who[0],
            "attendeename": who[1:3],
            "starttime": 1,
            "endtime": 2,
            "place": "大会议室",
            "remarks": "全员参加",
        },
        room,
    )
    arc.add(
        who[3],
        t(),
        "mixed",
        {
            "item": [
                {"type": "text", "content": json.dumps({"content": "截图如下"}, ensure_ascii=False)},
                {"type": "image", "content": json.dumps({"md5sum": md5(), "filesize": 1, "sdkfileid": "m"})},
            ]
        },
        room,
    )
    arc.add(
        who[0],
        t(),
        "meeting_voice_call",
        {"endtime": 1, "sdkfileid": "mv", "demofiledata": [], "sharescreendata": []},
        tolist=who[1:3],
    )
    arc.add(
        who[0],
        t(),
        "voip_doc_share",
        {"filename": "会议材料.pptx", "md5sum": md5(), "filesize": 1, "sdkfileid": "vd"},
        tolist=who[1:2],
    )
    arc.add(
        who[2],
        t(),
        "sphfeed",
        {"feed_type": 4, "sph_name": "企业官方号", "feed_desc": "新品发布会回顾"},
        room,
    )
    arc.add(who[2], t(), "voiptext", {"callduration": 300, "invitetype": 1}, room)
    arc.add(who[2], t(), "qydiskfile", {"filename": "共享盘/制度汇编.pdf"}, room)
    arc.records.append(
        {"msgid": arc.msgid(), "action": "switch", "time": int(t().timestamp() * 1000), "user": who[4]}
    )


def _plant(
    arc: _Archive, group: dict[str, Any], when: dt.datetime, violations: dict[str, list], full: bool
) -> None:
    """Planted violations: with ``full``, one of every lexicon category plus flooding, a quarrel,
    membership breaches and a malicious attachment; otherwise a random two categories."""
    rng, who = arc.rng, group["members"]
    categories = sorted(violations) if full else rng.sample(sorted(violations), 2)
    for i, category in enumerate(categories):
        arc.text(
            group,
            rng.choice(who),
            when + dt.timedelta(minutes=7 * i),
            rng.choice(violations[category])(),
            [category],
        )
    if not full:
        return
    t0 = when + dt.timedelta(hours=2)
    flooder = who[-1]
    for i in range(12):  # 12 near-identical messages in under a minute
        arc.text(
            group, flooder, t0 + dt.timedelta(seconds=4 * i), "在吗在吗，快回复" + "!" * (i % 3), ["flooding"]
        )
    t1 = when + dt.timedelta(hours=3)
    a, b = who[1], who[2]
    lines = [(a, "你是猪吗，方案写成这样"), (b, "你他妈的才是猪"), (a, "傻逼，懒得理你"), (b, "你算什么东西")]
    for i, (sender, line) in enumerate(lines):
        arc.text(group, sender, t1 + dt.timedelta(seconds=30 * i), line, ["quarrel"])
    arc.text(
        group,
        arc.left[0],
        when + dt.timedelta(hours=4),
        "我虽然离职了，还是提醒大家按时交周报",
        ["membership"],
    )
    if group["category"] != "customer":
        arc.text(
            group,
            arc.externals[0],
            when + dt.timedelta(hours=5),
            "各位好，我是供应商的对接人",
            ["membership"],
        )
    # a malicious file attachment, not only links in text
    arc.add(
        rng.choice(who),
        when + dt.timedelta(hours=6),
        "file",
        {
            "md5sum": "0" * 32,
            "filename": "工资表.xlsx.exe",
            "fileext": "exe",
            "filesize": 90112,
            "sdkfileid": "x",
        },
        group["roomid"],
        planted=["malicious_link"],
    )


# Ordinary chat: templates with slots, so the archive has as many distinct texts as real chat does.
TEMPLATES = [
    "{p}，{doc}今天{t}前发我一下",
    "{proj}的{doc}已经更新，大家看一下第{n}页",
    "今天{t}在{room}开{meeting}，请准时参加",
    "{p}请假{n}天，工作先由{q}跟进",
    "第{n}版方案已经提交评审，{p}辛苦了",
    "{proj}进度：完成{pct}%，预计周{wd}上线",
    "客户{cust}反馈了{n}个问题，{p}帮忙看看",
    "这周的{doc}还差{n}份没交，{p}提醒一下",
    "{t}的会议改到{room}了",
    "报销{n}00元的单据已经提交，{p}审批一下",
    "{p}：好的，我{t}之前处理完",
    "服务器{n}号机的告警已经恢复了",
    "{proj}的测试用例写了{n}条，还需要补充边界情况",
    "周{wd}团建，预算每人{n}0元，大家投票选地点",
    "新同事{p}今天入职，欢迎加入{proj}！",
    "麻烦{p}把{doc}共享到群里",
    "{cust}的订单已经发货，单号稍后同步",
    "下周{wd}之前把{proj}的{doc}定稿",
]
SLOTS = {
    "doc": ["周报", "会议纪要", "需求文档", "测试报告", "排期表", "设计稿", "复盘文档", "预算表"],
    "proj": ["星河项目", "天枢系统", "渠道拓展", "年会筹备", "数据平台", "客服系统", "新版官网"],
    "room": ["一号会议室", "三号会议室", "大会议室", "线上会议", "五楼小会议室"],
    "meeting": ["周会", "评审会", "复盘会", "站会", "项目启动会"],
    "t": ["九点", "十点半", "中午", "下午两点", "下午四点", "五点", "下班"],
    "cust": ["华南分销", "VIP客户", "示例集团", "老客户", "新客户"],
    "wd": ["一", "二", "三", "四", "五"],
}


def _fill(rng: random.Random, template: str, people: list[str]) -> str:
    values = {k: rng.choice(v) for k, v in SLOTS.items()}
    return template.format(
        p=rng.choice(people),
        q=rng.choice(people),
        n=rng.randint(1, 20),
        pct=rng.randrange(10, 100, 10),
        **values,
    )


def _ordinary(
    arc: _Archive, group: dict[str, Any], when: dt.datetime, violations: dict[str, list]
) -> dict[str, Any]:
    """One ordinary message (rarely a planted violation); returned, not collected."""
    rng = arc.rng
    sender = rng.choice(group["people"])
    room = group["roomid"]
    roll = rng.random()
    if group["dirty"] and roll < VIOLATION_RATE:
        category = rng.choice(sorted(violations))
        return arc.text(
            group,
            rng.choice(group["members"]),
            when,
            rng.choice(violations[category])(),
            [category],
            collect=False,
        )
    if arc.chat is not None:
        return _ordinary_real(arc, arc.chat, group, when, roll)
    if roll < 0.88:
        if roll < 0.42:
            content = rng.choice(ACKS)
        elif group["category"] == "customer" and roll < 0.55:
            content = rng.choice(CUSTOMER)
        elif roll < 0.62:
            content = rng.choice(WORK)
        elif roll < 0.86:
            content = _fill(rng, rng.choice(TEMPLATES), group["members"])
        else:
            content = rng.choice(LONG)
        return arc.text(group, sender, when, content, collect=False)
    md5 = f"{rng.getrandbits(128):032x}"
    if roll < 0.94:
        return arc.add(
            sender,
            when,
            "image",
            {"md5sum": md5, "filesize": rng.randint(1, 10**6), "sdkfileid": "img"},
            room,
            collect=False,
        )
    if roll < 0.97:
        return arc.add(
            sender,
            when,
            "emotion",
            {"type": 2, "width": 240, "height": 240, "imagesize": 30000, "md5sum": md5, "sdkfileid": "e"},
            room,
            collect=False,
        )
    if roll < 0.99:
        name = rng.choice(["周报.docx", "需求说明.pdf", "排期表.xlsx", "会议纪要.docx", "设计稿.png"])
        return arc.add(
            sender,
            when,
            "file",
            {
                "md5sum": md5,
                "filename": name,
                "fileext": name.rsplit(".", 1)[1],
                "filesize": 10000,
                "sdkfileid": "f",
            },
            room,
            collect=False,
        )
    return arc.add(
        sender,
        when,
        "link",
        {
            "title": "企业微信帮助中心",
            "description": "使用说明",
            "link_url": "https://work.weixin.qq.com/help",
            "image_url": "",
        },
        room,
        collect=False,
    )


def _ordinary_real(
    arc: _Archive, chat: ChatText, group: dict[str, Any], when: dt.datetime, roll: float
) -> dict[str, Any]:
    """One ordinary message of the realistic archive: mostly distinct text, now and then a work line
    with the innocent look-alikes (操场, 日报), and the media mix of a real group."""
    rng = arc.rng
    sender = rng.choice(group["people"])
    if roll < 0.84:
        content = chat.text(group["members"])
    elif roll < 0.86:
        content = (
            rng.choice(WORK) if rng.random() < 0.5 else _fill(rng, rng.choice(TEMPLATES), group["members"])
        )
    else:
        return arc.add(sender, when, *_media(rng), group["roomid"], collect=False)
    return arc.text(group, sender, when, content, collect=False)


def _media(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A non-text message: pictures and stickers first, then voice, files, links, video, the rest."""
    md5 = f"{rng.getrandbits(128):032x}"
    kind = rng.choices(
        ["image", "emotion", "voice", "file", "link", "video", "location", "card", "weapp"],
        [45, 25, 8, 8, 5, 4, 2, 2, 1],
    )[0]
    if kind == "image":
        return kind, {"md5sum": md5, "filesize": rng.randint(10**4, 3 * 10**6), "sdkfileid": "img"}
    if kind == "emotion":
        size = rng.choice([120, 240, 300])
        return kind, {
            "type": rng.choice([1, 2]),
            "width": size,
            "height": size,
            "imagesize": rng.randint(2000, 90000),
            "md5sum": md5,
            "sdkfileid": "e",
        }
    if kind == "voice":
        seconds = rng.randint(1, 59)
        return kind, {"md5sum": md5, "voice_size": seconds * 900, "play_length": seconds, "sdkfileid": "v"}
    if kind == "file":
        name = rng.choice(
            ["周报.docx", "需求说明.pdf", "排期表.xlsx", "会议纪要.docx", "设计稿.png", "合同.pdf"]
        )
        ext = name.rsplit(".", 1)[1]
        return kind, {
            "md5sum": md5,
            "filename": name,
            "fileext": ext,
            "filesize": rng.randint(10**3, 10**7),
            "sdkfileid": "f",
        }
    if kind == "link":
        title, url = rng.choice(
            [
                ("企业微信帮助中心", "https://work.weixin.qq.com/help"),
                ("项目周报模板", "https://docs.qq.com/doc/DZ2V4aW5nQ2xh"),
                ("新版官网上线公告", "https://www.example.com/news/2026/launch"),
            ]
        )
        return kind, {"title": title, "description": "", "link_url": url, "image_url": ""}
    if kind == "video":
        return kind, {
            "md5sum": md5,
            "filesize": rng.randint(10**5, 5 * 10**7),
            "play_length": rng.randint(3, 120),
            "sdkfileid": "s",
        }
    if kind == "location":
        return kind, {
            "longitude": 116.4,
            "latitude": 39.9,
            "address": "北京市东城区",
            "title": "公司",
            "zoom": 15,
        }
    if kind == "card":
        return kind, {"corpname": "示例科技有限公司", "userid": f"u{rng.randrange(1000)}"}
    return kind, {"title": "会议室预订", "description": "", "username": "gh_1", "displayname": "企业服务"}


HOUR_WEIGHTS = [1] * 8 + [20, 40, 40, 40, 25, 30, 40, 40, 40, 35, 20, 8, 5, 3, 2, 1]


def _work_times(rng: random.Random, count: int, per_second: int) -> list[int]:
    """Sorted times into a day, in 1/``per_second`` seconds, following the office-hours rhythm of
    workplace chat."""
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
    hour = 3600 * per_second
    return sorted(h * hour + rng.randrange(hour) for h in hours)


def _special_records(arc: _Archive, d: int, violations: dict[str, list]) -> list[dict[str, Any]]:
    """The day's hand-made records: every message type (day one), planted violations, one-to-one chat."""
    arc.records = []
    day = arc.start + dt.timedelta(days=d)
    morning = dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=TZ)
    if d == 0:
        _every_type(arc, arc.groups[0], morning)
    dirty = [g for g in arc.groups if g["dirty"]]
    for i, g in enumerate(dirty):  # every category every day, in a rotating group
        _plant(arc, g, morning + dt.timedelta(minutes=13 * i), violations, full=i == d % len(dirty))
    a, b = arc.staff[0], arc.staff[1]
    arc.add(a, morning + dt.timedelta(hours=1), "text", {"content": "下午有空聊一下需求吗"}, "", [b])
    return sorted(arc.records, key=lambda r: r.get("msgtime", r.get("time")))


def _day_stream(arc: _Archive, d: int, count: int, violations: dict[str, list]) -> Iterator[dict[str, Any]]:
    """The day's records in time order: hand-made ones merged into generated ordinary chat."""
    special = _special_records(arc, d, violations)
    day = arc.start + dt.timedelta(days=d)
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=TZ)
    n = max(0, count - len(special))
    groups = arc.rng.choices(arc.groups, arc.weights, k=n)
    # A real archive's msgtime is in milliseconds; the template archive keeps its whole seconds (its bytes).
    per_second = 1 if arc.chat is None else 1000
    ordinary = (
        _ordinary(arc, g, midnight + dt.timedelta(seconds=t / per_second), violations)
        for g, t in zip(groups, _work_times(arc.rng, n, per_second), strict=True)
    )
    yield from heapq.merge(special, ordinary, key=lambda r: r.get("msgtime", r.get("time")))


def _groups_json(arc: _Archive) -> list[dict[str, Any]]:
    items = []
    for i, g in enumerate(arc.groups):
        create = int(dt.datetime.combine(arc.start - dt.timedelta(days=200), dt.time(9), TZ).timestamp())
        if g["category"] == "customer":
            members = [{"userid": u, "type": 1, "join_time": create, "join_scene": 1} for u in g["members"]]
            members += [
                {"userid": u, "type": 2, "join_time": create + 86400, "join_scene": 3} for u in g["externals"]
            ]
            item: dict[str, Any] = {
                "group_chat": {
                    "chat_id": g["roomid"],
                    "name": g["name"],
                    "owner": g["owner"],
                    "create_time": create,
                    "notice": "请文明交流，勿发广告",
                    "member_list": members,
                    "admin_list": [{"userid": g["members"][1]}],
                }
            }
        else:
            item = {
                "roomid": g["roomid"],
                "roomname": g["name"],
                "creator": g["owner"],
                "room_create_time": create,
                "notice": "本群为工作群，请遵守企微社群管理制度",
                "members": [{"memberid": u, "jointime": create} for u in g["members"]],
            }
        if i % 2 == 0:  # half carry an explicit category, the rest rely on the name rules
            item["category"] = g["category"]
        items.append(item)
    return items


def _roster_csv(arc: _Archive) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["userid", "name", "department", "status", "left_date"])
    for i, userid in enumerate(arc.staff):
        left = userid in arc.left
        writer.writerow(
            [
                userid,
                userid.capitalize(),
                DEPARTMENTS[i % len(DEPARTMENTS)],
                "left" if left else "active",
                (arc.start - dt.timedelta(days=10)).isoformat() if left else "",
            ]
        )
    return buffer.getvalue()


def _write_day(
    exports: Path, day: dt.date, shape: int, records: Iterator[dict[str, Any]], seq: list[int]
) -> list[str]:
    """Stream one day into the export shape of the day: JSONL, gzip JSONL or GetChatData batches."""

    def numbered() -> Iterator[dict[str, Any]]:
        for record in records:
            seq[0] += 1
            record["seq"] = seq[0]
            yield record

    def line(record: dict[str, Any]) -> bytes:
        return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    if shape in (0, 1):
        name = f"archive-{day}.jsonl" + (".gz" if shape else "")
        with atomic.atomic_path(exports / name) as tmp, open(tmp, "wb") as raw:
            # gzip without a file name or time in its header: the same seed gives the same bytes
            handle = (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0, filename="") if shape else raw
            )
            for record in numbered():
                handle.write(line(record))
            if shape:
                handle.close()
        return [name]
    names = []
    stream = numbered()
    while batch := list(itertools.islice(stream, BATCH_SIZE)):
        name = f"getchatdata-{day}-{len(names) + 1:04d}.json"
        atomic.write_text(
            exports / name, json.dumps({"errcode": 0, "errmsg": "ok", "chatdata": batch}, ensure_ascii=False)
        )
        names.append(name)
    return names


def generate(
    out: Path,
    *,
    messages: int,
    groups: int,
    days: int,
    seed: int,
    start: dt.date = dt.date(2026, 11, 16),
    realism: str = "template",
) -> dict[str, Any]:
    """Write the archive into ``out/exports/`` and return its manifest (``out/manifest.json``);
    ``out/company-dictionaries/`` holds the sample company's codenames for ``W/dictionaries/``.

    Day files rotate through the three export shapes: JSONL, gzip JSONL and GetChatData
    batches of 1000 records, so every reader is exercised. Records are generated and written
    one day at a time in time order, so memory stays flat for a ten-million-message archive.
    ``realism`` is one of REALISMS; "template" keeps the bytes of earlier releases for a seed.
    """
    if realism not in REALISMS:
        raise ValueError(f"realism must be one of {', '.join(REALISMS)}")
    rng = random.Random(seed)
    arc = _Archive(rng, groups, start)
    arc.weights = [rng.uniform(0.5, 3.0) for _ in arc.groups]
    if realism == "real":
        arc.chat = ChatText(rng)
    violations = _violations(rng)
    exports = out / "exports"  # what an archive puller drops; manifest.json stays outside it
    exports.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    seq = [0]
    for d in range(days):
        per_day = messages // days + (1 if d < messages % days else 0)
        files += _write_day(
            exports, start + dt.timedelta(days=d), d % 3, _day_stream(arc, d, per_day, violations), seq
        )
    atomic.write_text(exports / "groups.json", json.dumps(_groups_json(arc), ensure_ascii=False, indent=1))
    atomic.write_text(exports / "roster.csv", _roster_csv(arc))
    manifest = {
        "seed": seed,
        "messages": seq[0],
        "days": [(start + dt.timedelta(days=d)).isoformat() for d in range(days)],
        "files": files,
        "groups": [
            {"roomid": g["roomid"], "name": g["name"], "category": g["category"], "clean": not g["dirty"]}
            for g in arc.groups
        ],
        "planted": dict(sorted(arc.planted.items())),
    }
    if realism != "template":  # the template manifest keeps its bytes
        manifest["realism"] = realism
    atomic.write_text(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    # the company's own dictionary terms, to copy into W/dictionaries/ (北极星计划 is planted above)
    atomic.write_text(
        out / "company-dictionaries" / "confidential.txt",
        "# Project codenames of the sample company\n北极星计划\thigh\n",
    )
    return manifest
