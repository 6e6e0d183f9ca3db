"""The one WeCom API client, against the local fakes of the group API and of application messages."""

from __future__ import annotations

import json
import logging
import socket

import httpx
import pytest

from auditor.wecom.client import TokenRefused, WeComApiError, WeComClient, redact
from tests.test_group_api import FakeWeCom
from tests.test_notify import wecom as scripted  # noqa: F401  (message/send answers scripted errcodes)


@pytest.fixture
def fake():
    server = FakeWeCom()
    yield server
    server.close()


def archive_client(server, tmp_path=None, **kw) -> WeComClient:
    token_file = tmp_path / "state" / "wecom-tokens.json" if tmp_path else None
    return WeComClient(
        "wwfake", "archive-secret", label="archive", base_url=server.base, token_file=token_file, **kw
    )


def group(client: WeComClient, roomid: str = "wr001") -> dict:
    return client.post("/cgi-bin/msgaudit/groupchat/get", {"roomid": roomid})


def test_one_token_serves_many_calls(fake):
    with archive_client(fake) as client:
        assert group(client)["roomname"] == "华东项目组"
        assert group(client, "wr002")["roomname"] == "行政通知"
    assert fake.issued == 1 and fake.calls.count("/cgi-bin/gettoken") == 1


def test_the_token_file_is_0600_shared_by_label_and_read_by_the_next_run(fake, tmp_path):
    with archive_client(fake, tmp_path) as client:
        group(client)
    contact = WeComClient(
        "wwfake", "contact-secret", label="contact", base_url=fake.base, token_file=client.token_file
    )
    contact.post("/cgi-bin/externalcontact/groupchat/list", {"limit": 1})
    assert fake.issued == 2
    entries = json.loads(client.token_file.read_text(encoding="utf-8"))
    assert set(entries) == {"archive", "contact"} and entries["archive"]["token"] == "tok-1"
    assert client.token_file.stat().st_mode & 0o777 == 0o600
    with archive_client(fake, tmp_path) as next_run:
        group(next_run)
    assert fake.issued == 2  # the archive token came from the file


def test_a_damaged_token_file_costs_one_gettoken(fake, tmp_path):
    path = tmp_path / "state" / "wecom-tokens.json"
    path.parent.mkdir()
    path.write_text('{"archive": {"token": 1', encoding="utf-8")
    with archive_client(fake, tmp_path) as client:
        group(client)
    assert fake.issued == 1 and json.loads(path.read_text())["archive"]["token"] == "tok-1"


def test_the_token_is_renewed_shortly_before_it_expires(fake):
    now = [1_000_000.0]
    client = archive_client(fake, clock=lambda: now[0])
    group(client)
    now[0] += 7200 - 301  # still outside the early-refresh margin
    group(client)
    assert fake.issued == 1
    now[0] += 2  # inside it
    group(client)
    assert fake.issued == 2


@pytest.mark.parametrize("errcode", [42001, 40014, 40001])
def test_a_refused_token_is_replaced_once(scripted, errcode):  # noqa: F811
    state, base = scripted
    client = WeComClient("ww-corp", "s3cret", base_url=base)
    state["script"] = [errcode]
    assert client.post("/cgi-bin/message/send", {"touser": "lina"})["errcode"] == 0
    assert [token for token, _ in state["sent"]] == ["tok-1", "tok-2"]
    state["script"] = [errcode, errcode]  # the fresh token refused too: no third token
    with pytest.raises(WeComApiError) as raised:
        client.post("/cgi-bin/message/send", {"touser": "lina"})
    assert raised.value.errcode == errcode and state["tokens"] == 3


def test_a_revoked_token_in_the_file_is_replaced(fake, tmp_path):
    with archive_client(fake, tmp_path) as client:
        group(client)
    fake.valid.clear()
    with archive_client(fake, tmp_path) as client:
        assert group(client)["roomname"] == "华东项目组"
    assert json.loads(client.token_file.read_text())["archive"]["token"] == "tok-2"


def test_an_errcode_is_a_typed_error(fake):
    client = archive_client(fake)
    with pytest.raises(WeComApiError) as raised:
        client.post("/cgi-bin/externalcontact/groupchat/list", {})  # the archive secret may not
    error = raised.value
    assert (error.errcode, error.errmsg, error.api) == (
        48002,
        "api forbidden",
        "externalcontact/groupchat/list",
    )
    assert not error.unreachable
    assert str(error) == "/cgi-bin/externalcontact/groupchat/list: errcode 48002 api forbidden"


def test_a_refused_secret_is_token_refused_and_nothing_is_cached(fake, tmp_path):
    client = WeComClient(
        "wwfake", "wrong", label="archive", base_url=fake.base, token_file=tmp_path / "t.json"
    )
    for _ in range(2):
        with pytest.raises(TokenRefused, match="gettoken for the archive secret: errcode 40001"):
            group(client)
    assert fake.issued == 0 and fake.calls == ["/cgi-bin/gettoken"] * 2
    assert not (tmp_path / "t.json").exists()


def test_a_server_that_never_answers_times_out(tmp_path):
    with socket.socket() as silent:  # accepts the connection (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = WeComClient("wwfake", "archive-secret", base_url=base, timeout=0.2)
        with pytest.raises(WeComApiError) as raised:
            group(client)
    assert raised.value.unreachable and raised.value.path == "/cgi-bin/gettoken"
    assert "ReadTimeout" in str(raised.value)


def test_nothing_listening_is_unreachable():
    client = WeComClient("wwfake", "archive-secret", base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(WeComApiError, match=r"^/cgi-bin/gettoken: ConnectError") as raised:
        group(client)
    assert raised.value.unreachable


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (200, b"<html>busy</html>", "JSONDecodeError"),
        (200, b"[1, 2]", "unexpected answer"),
        (200, b'{"errcode": "0"}', "unexpected answer"),
        (502, b'{"errcode": 0}', "HTTP 502"),
        (404, b"", "HTTP 404"),
    ],
)
def test_unreadable_answers_are_typed_errors(status, body, detail):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = WeComClient("wwfake", "archive-secret", transport=transport)
    with pytest.raises(WeComApiError, match=detail) as raised:
        client.access_token()
    assert raised.value.unreachable and "archive-secret" not in str(raised.value)


def test_secrets_and_tokens_stay_out_of_logs_errors_and_repr(fake, caplog):
    caplog.set_level(logging.DEBUG)
    client = archive_client(fake)
    group(client)
    with pytest.raises(WeComApiError) as raised:
        client.post("/cgi-bin/externalcontact/groupchat/list", {})
    assert "HTTP Request" in caplog.text and "corpsecret=***" in caplog.text  # httpx did log the calls
    for leak in ("archive-secret", "tok-1"):
        assert leak not in caplog.text and leak not in str(raised.value) and leak not in repr(client)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /cgi-bin/gettoken?corpid=ww&corpsecret=s%2F3 x",
            "GET /cgi-bin/gettoken?corpid=ww&corpsecret=*** x",
        ),
        ("/cgi-bin/message/send?access_token=abc&debug=1", "/cgi-bin/message/send?access_token=***&debug=1"),
        ("url 'http://h/p?access_token=abc'", "url 'http://h/p?access_token=***'"),
        ("corpid=ww&agentid=1", "corpid=ww&agentid=1"),  # nothing secret
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected
