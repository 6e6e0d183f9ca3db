"""WeCom web sign-in against a local fake of the WeCom API (gettoken, auth/getuserinfo)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from starlette.testclient import TestClient

from auditor.config import load_config
from auditor.console.app import create_app
from auditor.console.users import UserStore
from auditor.errors import AuditorError
from auditor.ledger import Ledger
from tests import console_fixture as cf

CODES = {
    "code-lina": {"userid": "lina"},
    "code-stranger": {"userid": "stranger"},
    "code-guest": {"openid": "o1"},
}


class FakeWeCom(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict]]] = []

    def do_GET(self):
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        FakeWeCom.calls.append((url.path, query))
        if url.path == "/cgi-bin/gettoken":
            ok = query == {"corpid": "ww-corp", "corpsecret": "s3cret"}
            body = {"errcode": 0, "access_token": "TOKEN", "expires_in": 7200} if ok else {"errcode": 40001}
        elif url.path == "/cgi-bin/auth/getuserinfo" and query.get("access_token") == "TOKEN":
            body = (
                {"errcode": 0, **CODES[query["code"]]} if query.get("code") in CODES else {"errcode": 40029}
            )
            body.setdefault("errmsg", "invalid code" if body["errcode"] else "ok")
        else:
            body = {"errcode": 42001, "errmsg": "access_token expired"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_wecom():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWeCom)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return cf.build(tmp_path_factory.mktemp("oauth"))


def configure(ws, api_base: str, **extra) -> None:
    settings = {
        "corpid": "ww-corp",
        "agentid": "1000002",
        "redirect_uri": "http://testserver/auth/wecom/callback",
        "authorize_url": "https://login.work.weixin.qq.com/wwlogin/sso/login",
        "api_base": api_base,
    } | extra
    lines = "".join(f'{k} = "{v}"\n' for k, v in settings.items())
    ws.config_path.write_text(f"[console.wecom_oauth]\n{lines}", encoding="utf-8")
    ws._config = None


@pytest.fixture
def ws(built, tmp_path, fake_wecom, monkeypatch):
    workspace = cf.copy(built, tmp_path / "ws")
    configure(workspace, fake_wecom)
    monkeypatch.setenv("AUDITOR_WECOM_SECRET", "s3cret")
    return workspace


def start(client) -> str:
    response = client.get("/auth/wecom")
    assert response.status_code == 303
    location = urlparse(response.headers["location"])
    query = parse_qs(location.query)
    assert location.netloc == "login.work.weixin.qq.com"
    assert query["appid"] == ["ww-corp"] and query["agentid"] == ["1000002"]
    assert query["redirect_uri"] == ["http://testserver/auth/wecom/callback"]
    assert "samesite=lax" in response.headers["set-cookie"].lower()
    return query["state"][0]


def test_a_member_with_an_account_signs_in_and_decides_under_their_userid(ws):
    client = TestClient(create_app(ws, today=lambda: cf.TODAY), follow_redirects=False)
    assert "/auth/wecom" in client.get("/login").text
    state = start(client)
    response = client.get(f"/auth/wecom/callback?code=code-lina&state={state}")
    assert response.status_code == 200 and 'http-equiv="refresh" content="0;url=/queue"' in response.text
    assert client.get("/queue").status_code == 200
    fid = cf.finding_in(ws, "wrC", "profanity", "zhaolei")
    client.post("/decide", data={"op": "acknowledge", "ids[]": fid, "csrf_token": cf.token(client)})
    [event] = Ledger(ws.ledger_path).events("acknowledge")
    assert event["actor"] == "lina"


@pytest.mark.parametrize(
    ("code", "state_ok", "status", "message"),
    [
        ("code-lina", False, 403, "state does not match"),
        ("code-stranger", True, 403, "stranger has no console account"),
        ("code-guest", True, 502, "not a member"),
        ("code-forged", True, 502, "errcode 40029"),
        ("", True, 403, "state does not match"),
    ],
)
def test_wecom_sign_in_refusals(ws, code, state_ok, status, message):
    client = TestClient(create_app(ws, today=lambda: cf.TODAY), follow_redirects=False)
    state = start(client)
    response = client.get(f"/auth/wecom/callback?code={code}&state={state if state_ok else 'forged'}")
    assert response.status_code == status and message in response.text
    assert client.get("/queue").status_code == 303  # not signed in


def test_a_wrong_secret_and_an_unreachable_api_are_clear_errors(ws, monkeypatch):
    monkeypatch.setenv("AUDITOR_WECOM_SECRET", "wrong")
    client = TestClient(create_app(ws), follow_redirects=False)
    response = client.get(f"/auth/wecom/callback?code=code-lina&state={start(client)}")
    assert response.status_code == 502 and "errcode 40001" in response.text
    configure(ws, "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("AUDITOR_WECOM_SECRET", "s3cret")
    client = TestClient(create_app(ws), follow_redirects=False)
    response = client.get(f"/auth/wecom/callback?code=code-lina&state={start(client)}")
    assert response.status_code == 502 and "unreachable" in response.text


def test_the_access_token_is_reused(ws):
    FakeWeCom.calls.clear()
    app = create_app(ws)
    for _ in range(2):
        client = TestClient(app, follow_redirects=False)
        client.get(f"/auth/wecom/callback?code=code-lina&state={start(client)}")
    assert [path for path, _ in FakeWeCom.calls].count("/cgi-bin/gettoken") == 1


def test_a_wecom_only_account_has_no_password_to_guess(ws):
    with UserStore(ws.root) as users:
        users.add("zhaolei", "viewer", None)
    client = TestClient(create_app(ws), follow_redirects=False)
    assert cf.sign_in(client, "zhaolei", "").status_code == 401


def test_without_a_corpid_wecom_sign_in_is_off(built):
    client = TestClient(create_app(built), follow_redirects=False)
    assert client.get("/auth/wecom").status_code == 404
    assert "/auth/wecom" not in client.get("/login").text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('corpid = "ww"\n', "needs agentid, redirect_uri"),
        ('corpid = "ww"\nagentid = "1"\nredirect_uri = "javascript:x"\n', "redirect_uri must be an http"),
        (
            'corpid = "ww"\nagentid = "1"\nredirect_uri = "https://a/cb"\napi_base = "file:///etc"\n',
            "api_base",
        ),
        ("secret = 'inline'\n", "unknown setting 'console.wecom_oauth.secret'"),
    ],
)
def test_wecom_sign_in_settings_are_checked(tmp_path, settings, message):
    path = tmp_path / "auditor.toml"
    path.write_text(f"[console.wecom_oauth]\n{settings}", encoding="utf-8")
    with pytest.raises(AuditorError, match=message):
        load_config(path)


def test_a_configured_sign_in_without_its_secret_stops_serve(ws, monkeypatch):
    monkeypatch.delenv("AUDITOR_WECOM_SECRET")
    with pytest.raises(AuditorError, match=r"\$AUDITOR_WECOM_SECRET"):
        create_app(ws)
