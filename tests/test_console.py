"""The review console through Starlette's TestClient: every route as every role, CSRF, sessions,
the login throttle, hostile chat content, and decisions landing in the ledger under the
signed-in name."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from auditor.console.app import SESSION_COOKIE, create_app
from auditor.console.auth import LoginThrottle
from auditor.console.users import UserStore
from auditor.ledger import Ledger
from auditor.violations import load_findings
from tests import console_fixture as cf


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return cf.build(tmp_path_factory.mktemp("console"))


@pytest.fixture
def ws(built, tmp_path):
    return cf.copy(built, tmp_path / "ws")


def client_for(ws, role: str | None = None, **options) -> TestClient:
    scheme = "https" if options.get("secure_cookies") else "http"
    client = TestClient(
        create_app(ws, today=lambda: cf.TODAY, **options),
        base_url=f"{scheme}://testserver",
        follow_redirects=False,
    )
    if role is not None:
        response = cf.sign_in(client, cf.ACCOUNTS.get(role, role))
        assert response.status_code == 303, response.text
    return client


def ids(ws):
    return {
        "F_A": cf.finding_in(ws, "wrA", "profanity"),
        "F_C": cf.finding_in(ws, "wrC", "profanity", "zhaolei"),
        "ACT": "ACT-000001",
    }


# --- every route × every role ------------------------------------------------------------------

ROLES = ("anonymous", "officer", "owner", "hr", "viewer")
GET_TABLE = [
    # path, then the status for anonymous, officer, owner (lina: wrC), hr, viewer
    ("/queue", (303, 200, 200, 403, 200)),
    ("/findings/{F_A}", (303, 200, 403, 200, 200)),  # wrA is not lina's; HR: zhangwei is referred
    ("/findings/{F_C}", (303, 200, 200, 403, 200)),  # zhaolei is not referred
    ("/findings/0000deadbeef", (303, 404, 404, 404, 404)),
    ("/people/zhangwei", (303, 200, 403, 200, 200)),
    ("/people/zhaolei", (303, 200, 403, 403, 200)),
    ("/people/nobody-at-all", (303, 404, 403, 403, 404)),
    ("/referrals", (303, 200, 403, 200, 403)),
    ("/trail", (303, 200, 403, 403, 200)),
    ("/trail.csv", (303, 200, 403, 403, 200)),
    ("/dashboard", (303, 200, 403, 403, 200)),
    ("/", (303, 303, 303, 303, 303)),
    ("/login", (200, 200, 200, 200, 200)),
    ("/console.css", (200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_as_every_role(built, role):
    client = client_for(built, None if role == "anonymous" else role)
    found = ids(built)
    for path, expected in GET_TABLE:
        response = client.get(path.format(**found))
        assert response.status_code == expected[ROLES.index(role)], (role, path, response.text[:300])
        if response.status_code == 303 and path != "/":
            assert response.headers["location"].startswith("/login?next=")


POST_TABLE = [
    # path, form, then the status for officer, owner, hr, viewer (303: done, back to the page)
    ("/decide", {"op": "confirm", "ids[]": "{F_C}", "reason": "checked"}, (303, 403, 403, 403)),
    ("/decide", {"op": "dismiss", "ids[]": "{F_C}", "reason": "quote"}, (303, 403, 403, 403)),
    ("/decide", {"op": "claim", "ids[]": "{F_C}"}, (303, 403, 403, 403)),
    ("/decide", {"op": "assign", "ids[]": "{F_C}", "assignee": "wangfang"}, (303, 403, 403, 403)),
    ("/decide", {"op": "escalate", "ids[]": "{F_C}", "reason": "grave"}, (303, 403, 403, 403)),
    ("/decide", {"op": "acknowledge", "ids[]": "{F_C}"}, (303, 303, 403, 403)),
    (
        "/people/zhaolei/actions",
        {"step": "warning", "ids[]": "{F_C}", "on": "2026-11-17"},
        (303, 403, 403, 403),
    ),
    ("/actions/{ACT}/void", {"reason": "wrong person"}, (303, 403, 403, 403)),
    ("/actions/{ACT}/appeal", {"reason": "not me"}, (403, 403, 403, 403)),  # only zhangwei may
    ("/appeals/APL-000001/resolve", {"outcome": "upheld", "reason": "x"}, (303, 403, 403, 403)),
    ("/queue/filters", {"op": "save", "name": "mine", "query": "severity=high"}, (303, 303, 403, 303)),
    ("/actions/{ACT}/notice", {}, (303, 403, 403, 403)),  # refused in a notice: not a warning
    # evidence: 200 is the zip; an owner their groups' findings, HR the referred (zhangwei)
    ("/findings/{F_C}/evidence", {}, (200, 200, 403, 403)),
    ("/findings/{F_A}/evidence", {}, (200, 403, 200, 403)),
    ("/findings/{F_C}/evidence", {"unmasked": "1"}, (200, 403, 403, 403)),
    ("/people/zhangwei/evidence", {}, (200, 403, 200, 403)),
    ("/people/zhaolei/evidence", {}, (200, 403, 403, 403)),
    ("/actions/{ACT}/evidence", {}, (200, 403, 200, 403)),
    ("/actions/{ACT}/evidence", {"unmasked": "1"}, (200, 403, 403, 403)),
]


@pytest.mark.parametrize("role", ROLES[1:])
@pytest.mark.parametrize(
    ("path", "form", "expected"),
    POST_TABLE,
    ids=[f"{p[0]}:{p[1].get('op', '')}{'unmasked' if 'unmasked' in p[1] else ''}" for p in POST_TABLE],
)
def test_every_decision_as_every_role(ws, role, path, form, expected):
    client = client_for(ws, role)
    found = ids(ws)
    data = {k: v.format(**found) for k, v in form.items()} | {
        "csrf_token": cf.token(client),
        "next": "/queue",
    }
    before = len(Ledger(ws.ledger_path).events())
    response = client.post(path.format(**found), data=data)
    assert response.status_code == expected[ROLES.index(role) - 1], response.text[:300]
    after = Ledger(ws.ledger_path).events()
    if response.status_code == 403:
        assert len(after) == before  # a refused request writes nothing


def test_anonymous_posts_are_refused_and_write_nothing(ws):
    client = client_for(ws)
    found = ids(ws)
    for path, form, _ in POST_TABLE:
        data = {k: v.format(**found) for k, v in form.items()} | {"csrf_token": cf.token(client)}
        assert client.post(path.format(**found), data=data).status_code == 403
    assert len(Ledger(ws.ledger_path).events()) == 1  # the fixture's action only


def test_a_decision_carries_the_signed_in_name_and_never_a_typed_one(ws):
    client = client_for(ws, "officer")
    fid = ids(ws)["F_C"]
    data = {
        "op": "confirm",
        "ids[]": fid,
        "reason": "seen",
        "by": "someone-else",
        "csrf_token": cf.token(client),
    }
    assert client.post("/decide", data=data).status_code == 303
    [review] = Ledger(ws.ledger_path).events("review")
    assert (review["actor"], review["finding_id"], review["decision"]) == ("wangfang", fid, "confirmed")


def test_an_owner_acknowledges_only_their_own_groups_findings(ws):
    client = client_for(ws, "owner")
    data = {"op": "acknowledge", "ids[]": ids(ws)["F_A"], "csrf_token": cf.token(client)}
    assert client.post("/decide", data=data).status_code == 303
    assert Ledger(ws.ledger_path).events("acknowledge") == []
    assert "own groups only" in client.get("/queue").text


def test_the_person_concerned_can_appeal_and_an_officer_resolves(ws):
    zhangwei = client_for(ws, "zhangwei")
    response = zhangwei.post(
        "/actions/ACT-000001/appeal", data={"reason": "I quoted it", "csrf_token": cf.token(zhangwei)}
    )
    assert response.status_code == 303
    [appeal] = Ledger(ws.ledger_path).events("appeal_filed")
    assert appeal["actor"] == "zhangwei"
    officer = client_for(ws, "officer")
    response = officer.post(
        "/appeals/APL-000002/resolve",
        data={"outcome": "overturned", "reason": "quote", "csrf_token": cf.token(officer)},
    )
    assert response.status_code == 303
    assert Ledger(ws.ledger_path).actions()[1].voided
    page = officer.get("/people/zhangwei").text
    assert "APL-000002" in page and "已撤销" in page


def test_a_refused_decision_is_a_notice_not_an_error(ws):
    client = client_for(ws, "officer")
    data = {"op": "dismiss", "ids[]": ids(ws)["F_C"], "reason": "", "csrf_token": cf.token(client)}
    assert client.post("/decide", data=data).status_code == 303
    assert "a dismissal needs --reason" in client.get("/queue").text
    data = {"step": "warning", "on": "2026-11-01", "ids[]": ids(ws)["F_C"], "csrf_token": cf.token(client)}
    client.post("/people/zhaolei/actions", data=data)
    assert "before the finding it answers" in client.get("/queue").text
    assert len(Ledger(ws.ledger_path).events()) == 1


# --- CSRF, sessions, the throttle ----------------------------------------------------------------


@pytest.mark.parametrize(
    "csrf",
    [None, "", "forged-token", "other-session"],
)
def test_a_post_without_the_sessions_csrf_token_is_403(ws, csrf):
    client = client_for(ws, "officer")
    data = {"op": "confirm", "ids[]": ids(ws)["F_C"], "reason": "x"}
    if csrf == "other-session":
        data["csrf_token"] = cf.token(client_for(ws, "officer"))
    elif csrf is not None:
        data["csrf_token"] = csrf
    response = client.post("/decide", data=data)
    assert response.status_code == 403 and "CSRF" in response.text
    assert Ledger(ws.ledger_path).events("review") == []


def test_the_sign_in_form_itself_needs_the_token(ws):
    client = client_for(ws)
    response = client.post("/login", data={"name": "wangfang", "password": cf.PASSWORD})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies or "user" not in response.text


def test_a_json_body_is_refused_like_a_form_without_token(ws):
    client = client_for(ws, "officer")
    response = client.post("/decide", json={"op": "confirm", "csrf_token": cf.token(client)})
    assert response.status_code == 403


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_httponly_samesite_strict_and_secure_over_https(ws, secure):
    client = client_for(ws, secure_cookies=secure)
    response = cf.sign_in(client, "wangfang")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert ("secure" in cookie) is secure


def test_signing_in_starts_a_new_session_and_signing_out_ends_it(ws):
    client = client_for(ws)
    anonymous_token = cf.token(client)
    assert cf.sign_in(client, "wangfang").status_code == 303
    assert cf.token(client) != anonymous_token  # no session fixation
    assert client.post("/logout", data={"csrf_token": cf.token(client)}).status_code == 303
    assert client.get("/queue").status_code == 303


def test_a_tampered_cookie_is_no_session(ws):
    client = client_for(ws, "officer")
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/queue").status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_never_redirects_off_site(ws, target):
    client = client_for(ws)
    response = client.post(
        "/login",
        data={"name": "wangfang", "password": cf.PASSWORD, "next": target, "csrf_token": cf.token(client)},
    )
    assert response.headers["location"] == "/queue"


def test_sign_in_is_throttled_per_name_and_address(ws):
    client = client_for(ws, throttle=LoginThrottle(limit=3, window=3600))
    for _ in range(3):
        assert cf.sign_in(client, "wangfang", "wrong password!").status_code == 401
    blocked = cf.sign_in(client, "wangfang")  # the right password, too late
    assert blocked.status_code == 429 and "15" in blocked.text
    assert cf.sign_in(client, "viewer1").status_code == 303  # another name is not blocked


def test_the_throttle_forgets_failures_after_its_window():
    now = [0.0]
    throttle = LoginThrottle(limit=2, window=60, clock=lambda: now[0])
    throttle.failed("a", "ip")
    throttle.failed("a", "ip")
    assert throttle.blocked("a", "ip") and not throttle.blocked("a", "other-ip")
    now[0] = 61.0
    assert not throttle.blocked("a", "ip")


def test_a_removed_account_is_signed_out(ws):
    client = client_for(ws, "viewer")
    with UserStore(ws.root) as users:
        users.remove("viewer1")
    assert client.get("/queue").status_code == 303


# --- headers and hostile content -----------------------------------------------------------------


def test_every_page_has_a_script_free_csp_and_no_external_url(built):
    client = client_for(built, "officer")
    found = ids(built)
    for path, _ in GET_TABLE:
        response = client.get(path.format(**found))
        csp = response.headers["content-security-policy"]
        assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-frame-options"] == "DENY"
        if response.headers.get("content-type", "").startswith("text/html"):
            assert not re.search(r"(src|href|action)=\"(https?:)?//", response.text)
            assert "<script" not in response.text.lower()


HOSTILE_PAGES = [
    "/queue?status=all",
    "/findings/{F_A}",
    "/findings/{F_C}",
    "/findings/{F_H}",
    "/people/zhangwei",
]
HOSTILE_PAGES += ["/people/zhaolei", "/trail", "/dashboard", "/queue?q=<script>&person={{7*7}}&status=all"]


def test_hostile_chat_content_is_shown_escaped_everywhere(ws):
    client = client_for(ws, "officer")
    found = ids(ws) | {"F_H": cf.finding_in(ws, "wrC", sender=cf.HOSTILE_SENDER)}
    # put hostile text into the ledger too: a reason, an assignee
    form = {"op": "escalate", "ids[]": found["F_H"], "reason": "<script>window.__pwned=1</script>"}
    client.post("/decide", data=form | {"csrf_token": cf.token(client)})
    form = {"op": "assign", "ids[]": found["F_H"], "assignee": "<img src=x onerror=alert(1)>"}
    client.post("/decide", data=form | {"csrf_token": cf.token(client)})
    for path in HOSTILE_PAGES:
        html = client.get(path.format(**found)).text
        assert "<script>window.__pwned" not in html and "<img src=x" not in html, path
        assert "<svg onload" not in html and "<iframe" not in html and "<b>内部</b>" not in html, path
        assert not re.search(r"href=\"\s*javascript:", html, re.I), path
    queue = client.get("/queue?status=all").text
    assert cf.TEMPLATE_ATTACK in queue.replace("&#34;", '"')  # shown as typed, never evaluated
    assert "&lt;script&gt;window.__pwned" in client.get("/trail").text
    assert "研发部&lt;b&gt;内部&lt;/b&gt;群" in client.get(f"/findings/{found['F_A']}").text
    assert "138****5678" in queue and "13812345678" not in queue  # masked through auditor.masking


@pytest.mark.parametrize(
    "path",
    [
        "/findings/..%2F..%2Fetc%2Fpasswd",
        "/findings/%3Cscript%3E",
        "/people/..%2F..%2Fetc",
        "/people/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/actions/..%2FACT-1/void",
    ],
)
def test_path_tricks_in_ids_are_not_found_and_echo_nothing_raw(ws, path):
    client = client_for(ws, "officer")
    response = client.get(path)
    assert response.status_code in (403, 404, 405)
    assert "<script>" not in response.text


def test_a_malformed_filter_is_a_clear_400(built):
    client = client_for(built, "officer")
    response = client.get("/queue?date_from=yesterday")
    assert response.status_code == 400 and "date_from must be a date" in response.text
    assert client.get("/queue?severity=<b>").status_code == 400


# --- what the pages show -------------------------------------------------------------------------


def test_the_queue_filters_by_every_parameter(ws):
    client = client_for(ws, "officer")
    lake = load_findings(ws)

    def shown(query: str) -> set[str]:
        return set(re.findall(r'name="ids\[\]" value="([0-9a-f]+)"', client.get("/queue?" + query).text))

    def where(test) -> set[str]:
        return {fid for fid, f in lake.items() if test(f)}

    everything = shown("status=all")
    assert everything == set(lake) and len(everything) >= 8
    assert (
        shown("status=all&group=wrC")
        == shown("status=all&group=客户服务")
        == where(lambda f: f["roomid"] == "wrC")
    )
    assert shown("status=all&group_category=customer") == where(lambda f: f["roomid"] == "wrC")
    assert shown("status=all&severity=high") == where(lambda f: f["severity"] == "high")
    assert shown("status=all&category=pii") == where(lambda f: f["category"] == "pii")
    assert shown("status=all&person=zhaolei") == where(lambda f: f["sender"] == "zhaolei")
    assert shown("status=all&q=138****") == where(lambda f: "138****" in f["excerpt"])
    assert shown("status=all&date_from=2026-11-17") == set()
    assert shown("status=all&date_to=2026-11-16") == everything
    client.post("/decide", data={"op": "claim", "ids[]": ids(ws)["F_C"], "csrf_token": cf.token(client)})
    assert shown("status=all&reviewer=wangfang") == {ids(ws)["F_C"]}
    form = {"op": "dismiss", "ids[]": ids(ws)["F_C"], "reason": "r", "csrf_token": cf.token(client)}
    client.post("/decide", data=form)
    assert ids(ws)["F_C"] not in shown("")  # pending only, by default
    assert shown("status=dismissed") == {ids(ws)["F_C"]}


def test_the_queue_puts_the_most_severe_first(built):
    html = client_for(built, "officer").get("/queue?status=all").text
    severities = re.findall(r'<tr class="s-(\w+)">', html)
    order = ["critical", "high", "medium", "low"]
    assert severities == sorted(severities, key=order.index)


def test_an_owner_sees_only_their_groups_in_the_queue(built):
    html = client_for(built, "owner").get("/queue?status=all").text
    shown = set(re.findall(r'name="ids\[\]" value="([0-9a-f]+)"', html))
    assert ids(built)["F_C"] in shown and ids(built)["F_A"] not in shown
    assert 'value="confirm"' not in html and 'value="acknowledge"' in html


def test_the_finding_page_shows_conversation_evidence_history_and_record(ws):
    client = client_for(ws, "officer")
    fid = cf.finding_in(ws, "wrA", "pii")
    client.post(
        "/decide", data={"op": "confirm", "ids[]": fid, "reason": "seen it", "csrf_token": cf.token(client)}
    )
    html = client.get(f"/findings/{fid}").text
    assert "上下文对话" in html and 'class="anchor"' in html  # the conversation around it
    assert "规则 pii.mobile" in html  # evidence in words, in Chinese
    assert "seen it" in html and "wangfang" in html  # review history
    assert "zhangwei 的处理记录" in html or "张伟 (zhangwei) 的处理记录" in html
    assert "13812345678" not in html


def test_the_person_page_records_a_warning_and_voids_it(ws):
    client = client_for(ws, "officer")
    fid = ids(ws)["F_C"]
    client.post(
        "/decide", data={"op": "confirm", "ids[]": fid, "reason": "r", "csrf_token": cf.token(client)}
    )
    html = client.get("/people/zhaolei").text
    assert "建议：群内通报批评（依据：1 confirmed, worst high）" in html  # the ladder's step and why
    form = {"step": "warning", "ids[]": fid, "on": "2026-11-17", "reason": "first time"}
    assert (
        client.post("/people/zhaolei/actions", data=form | {"csrf_token": cf.token(client)}).status_code
        == 303
    )
    [action] = [a for a in Ledger(ws.ledger_path).actions().values() if a.subject == "zhaolei"]
    assert (action.actor, action.step, action.findings) == ("wangfang", "warning", [fid])
    html = client.get("/people/zhaolei").text
    assert action.action_id in html and action.details["appeal_deadline"] in html
    client.post(f"/actions/{action.action_id}/void", data={"reason": "wrong", "csrf_token": cf.token(client)})
    assert Ledger(ws.ledger_path).actions()[action.event_id].voided


def test_the_trail_lists_every_event_filters_and_exports_csv(ws):
    client = client_for(ws, "officer")
    fid = ids(ws)["F_C"]
    client.post(
        "/decide",
        data={"op": "escalate", "ids[]": fid, "reason": '=HYPERLINK("x")', "csrf_token": cf.token(client)},
    )
    html = client.get("/trail").text
    assert "termination_review" in html and "escalate" in html
    assert "escalate" not in client.get("/trail?kind=action").text.split("<table")[1]
    csv_text = client.get("/trail.csv?kind=escalate").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("event_id,recorded,effective,kind,actor")
    assert len(lines) == 2 and "'=HYPERLINK" in lines[1]  # never a formula in a spreadsheet


def test_the_dashboard_draws_its_charts_in_the_page(built):
    html = client_for(built, "officer").get("/dashboard").text
    assert html.count("<svg") == 3 and 'class="c-profanity"' in html
    assert "2026-11-16 profanity" in html  # a bar's title
    findings, messages = len(load_findings(built)), 10  # the fixture day: 8 + 2 messages
    assert f"2026-11-16 rate: {round(1000 * findings / messages, 1)}" in html


def test_labels_exist_in_both_languages_and_none_hides_behind_a_dict_method():
    from auditor.console.labels import labels

    zh, en = labels("zh"), labels("en")
    assert set(zh) == set(en)
    assert [k for k in zh if hasattr(dict, k)] == []  # t.clear would be dict.clear in a template


def test_report_pages_follow_a_decision_taken_in_the_console(ws):
    import json

    from auditor.report.render import report

    report(ws, [cf.DAY])
    summary = ws.reports_dir / cf.DAY / "summary.json"
    before = json.loads(summary.read_text(encoding="utf-8"))["ledger_event_id"]
    client = client_for(ws, "officer")
    form = {"op": "confirm", "ids[]": ids(ws)["F_C"], "reason": "r", "csrf_token": cf.token(client)}
    assert client.post("/decide", data=form).status_code == 303
    after = json.loads(summary.read_text(encoding="utf-8"))["ledger_event_id"]
    assert after == Ledger(ws.ledger_path).last_event_id() > before
    assert "已确认" in "".join(
        p.read_text(encoding="utf-8") for p in (ws.reports_dir / cf.DAY).rglob("*.html")
    )


def test_a_decision_taken_while_the_nightly_run_holds_the_lock_stands_and_says_so(ws):
    from auditor.lock import workspace_lock
    from auditor.report.render import report

    report(ws, [cf.DAY])
    client = client_for(ws, "officer")
    form = {"op": "confirm", "ids[]": ids(ws)["F_C"], "reason": "r", "csrf_token": cf.token(client)}
    with workspace_lock(ws.lock_path):
        assert client.post("/decide", data=form).status_code == 303
    assert len(Ledger(ws.ledger_path).events("review")) == 1
    assert "the next nightly run refreshes them" in client.get("/queue").text


def test_saved_filters_are_each_reviewers_own_and_always_valid(ws):
    client = client_for(ws, "officer")
    query = "severity=high&group=wrC&status=all&bogus=1"
    form = {"op": "save", "name": "<b>客户群</b> 高", "query": query, "csrf_token": cf.token(client)}
    response = client.post("/queue/filters", data=form)
    assert response.headers["location"] == "/queue?group=wrC&severity=high&status=all"
    html = client.get("/queue").text
    assert (
        "&lt;b&gt;客户群&lt;/b&gt; 高" in html
        and 'href="/queue?group=wrC&amp;severity=high&amp;status=all"' in html
    )
    assert "客户群" not in client_for(ws, "viewer").get("/queue").text
    bad = {"op": "save", "name": "x", "query": "severity=worst", "csrf_token": cf.token(client)}
    assert client.post("/queue/filters", data=bad).status_code == 400
    gone = {"op": "delete", "name": "<b>客户群</b> 高", "csrf_token": cf.token(client)}
    client.post("/queue/filters", data=gone)
    assert (
        "客户群</b>" not in client.get("/queue").text and "&lt;b&gt;客户群" not in client.get("/queue").text
    )


def test_dismissing_with_the_allowlist_learns_the_phrase_in_its_context(ws):
    client = client_for(ws, "officer")
    fid = cf.finding_in(ws, "wrA", "profanity", "zhangwei")
    form = {"op": "dismiss", "ids[]": fid, "reason": "team banter", "allowlist": "1", "group_only": "1"}
    assert client.post("/decide", data=form | {"csrf_token": cf.token(client)}).status_code == 303
    notice = client.get("/queue").text
    assert "past findings silenced by" in notice and "<script>window" not in notice
    allowlisted = (ws.dictionaries_dir / "allowlist.txt").read_text(encoding="utf-8")
    assert "room:wrA" in allowlisted
    [review] = Ledger(ws.ledger_path).events("review")
    assert (review["decision"], review["actor"]) == ("dismissed", "wangfang")


def test_the_role_tables_cover_every_route_of_the_app(built):
    """A new route must join GET_TABLE or POST_TABLE (and so be tried as every role)."""
    app = create_app(built)
    tabled = {p for p, _ in GET_TABLE} | {p for p, _, _ in POST_TABLE}
    tabled = {
        re.sub(r"\{\w+\}|/[0-9a-f]{12,}|ACT-\d+|APL-\d+|zhangwei|zhaolei|nobody-at-all", "{}", p)
        for p in tabled
    }
    public = {"/logout"}  # anyone signed in or not may sign out
    for route in app.routes:
        path = re.sub(r"\{[^}]+\}", "{}", route.path)
        assert path in tabled | public, f"{route.path} is not in the route × role tables"


def test_the_queue_pages_through_every_finding_keeping_the_filters(built, monkeypatch):
    monkeypatch.setattr("auditor.console.data.QUEUE_LIMIT", 3)
    client = client_for(built, "officer")
    everything = set(load_findings(built))
    pages, seen, url = 0, [], "/queue?status=all"
    while url:
        html = client.get(url).text
        seen += re.findall(r'name="ids\[\]" value="([0-9a-f]+)"', html)
        assert 'name="next" value="/queue?status=all&amp;page=' in html  # decisions come back here
        pages += 1
        following = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = following.group(1).replace("&amp;", "&") if following else ""
        assert not following or "status=all" in url
    assert len(seen) == len(set(seen)) and set(seen) == everything
    assert pages == -(-len(everything) // 3) and pages > 1
    last = client.get(f"/queue?status=all&page={pages + 5}").text  # past the end: the last page
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert client.get("/queue?page=0").status_code == 400
    assert client.get("/queue?page=two").status_code == 400
