"""Group facts from WeCom's server API, against a fake API server on 127.0.0.1 (ephemeral port)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditor.ingest import ingest
from auditor.wecom.api import GroupApi, refresh_groups
from auditor.wecom.pull import Clients, PullReport, run_pull
from tests.factories import message
from tests.fake_wecom import FakeArchive
from tests.test_pull import configure

INTERNAL = {
    "wr001": {
        "roomname": "华东项目组",
        "creator": "zhangwei",
        "room_create_time": 1794700000,
        "notice": "",
        "members": [
            {"memberid": "zhangwei", "jointime": 1794700000},
            {"memberid": "lina", "jointime": 1794700100},
        ],
    },
    "wr002": {"roomname": "行政通知", "creator": "lina", "room_create_time": 1794700000, "members": []},
}
CUSTOMER = {
    "wrC1": {
        "chat_id": "wrC1",
        "name": "VIP客户群",
        "owner": "zhangwei",
        "create_time": 1794700000,
        "member_list": [
            {"userid": "zhangwei", "type": 1, "join_time": 1794700000, "join_scene": 1},
            {"userid": "wmABC", "type": 2, "join_time": 1794700500, "join_scene": 3},
        ],
    },
    "wrC2": {
        "chat_id": "wrC2",
        "name": "售后群",
        "owner": "lina",
        "create_time": 1794700000,
        "member_list": [],
    },
}


class FakeWeCom:
    """gettoken (one token per secret, revocable), msgaudit/groupchat/get, externalcontact/groupchat/*."""

    def __init__(self) -> None:
        self.secrets = {"archive-secret": "archive", "contact-secret": "contact"}
        self.valid: dict[str, str] = {}  # token → kind
        self.issued = 0
        self.calls: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, body):
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                outer.calls.append(url.path)
                kind = outer.secrets.get(query.get("corpsecret", ""))
                if url.path != "/cgi-bin/gettoken" or query.get("corpid") != "wwfake" or kind is None:
                    return self._answer({"errcode": 40001, "errmsg": "invalid credential"})
                outer.issued += 1
                token = f"tok-{outer.issued}"
                outer.valid[token] = kind
                self._answer({"errcode": 0, "access_token": token, "expires_in": 7200})

            def do_POST(self):
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append(url.path)
                kind = outer.valid.get(query.get("access_token", ""))
                if kind is None:
                    return self._answer({"errcode": 42001, "errmsg": "access_token expired"})
                if url.path == "/cgi-bin/msgaudit/groupchat/get" and kind == "archive":
                    group = INTERNAL.get(body["roomid"])
                    return self._answer(
                        {"errcode": 0, **group} if group else {"errcode": 301052, "errmsg": "no"}
                    )
                if url.path == "/cgi-bin/externalcontact/groupchat/list" and kind == "contact":
                    ids = sorted(CUSTOMER)
                    start = int(body.get("cursor") or 0)
                    page = ids[start : start + 1]  # one per page: the cursor is followed
                    more = start + 1 < len(ids)
                    return self._answer(
                        {
                            "errcode": 0,
                            "group_chat_list": [{"chat_id": i} for i in page],
                            "next_cursor": str(start + 1) if more else "",
                        }
                    )
                if url.path == "/cgi-bin/externalcontact/groupchat/get" and kind == "contact":
                    return self._answer({"errcode": 0, "group_chat": CUSTOMER[body["chat_id"]]})
                self._answer({"errcode": 48002, "errmsg": "api forbidden"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    server = FakeWeCom()
    yield server
    server.close()


def api_for(ws, server, *, contact="contact-secret", archive="archive-secret", clock=None):
    kw = {"clock": clock} if clock else {}
    return GroupApi(
        "wwfake",
        {"archive": archive, "contact": contact},
        ws.state_dir / "wecom-tokens.json",
        base=server.base,
        **kw,
    )


def test_groups_from_the_api_fill_the_same_lake_tables_as_groups_json(ws, fake_api):
    report = PullReport()
    path = refresh_groups(ws, api_for(ws, fake_api), ["wr001", "wr002"], report)
    assert report.groups == 4 and report.group_errors == []
    assert path.parent == ws.inbox_dir / "wecom" and path.name.startswith("groups-")
    result = ingest(ws, [path])
    assert result.total("accepted") == 4 and result.total("rejected") == 0
    groups = ws.groups()
    assert groups["wr001"]["name"] == "华东项目组" and groups["wr001"]["category"] == "project"
    assert groups["wrC1"]["shape"] == "customer" and groups["wrC1"]["category"] == "customer"
    members = {(m["roomid"], m["userid"]): m for m in ws.members()}
    assert members[("wrC1", "wmABC")]["member_kind"] == "external"
    assert members[("wr001", "lina")]["join_time"] is not None


def test_the_token_is_cached_across_runs_and_refreshed_when_expired(ws, fake_api):
    now = [1_000_000.0]
    refresh_groups(ws, api_for(ws, fake_api, clock=lambda: now[0]), ["wr001"], PullReport())
    assert fake_api.issued == 2  # one per secret
    refresh_groups(ws, api_for(ws, fake_api, clock=lambda: now[0]), ["wr001"], PullReport())
    assert fake_api.issued == 2  # read from W/state/wecom-tokens.json
    assert (ws.state_dir / "wecom-tokens.json").stat().st_mode & 0o077 == 0
    now[0] += 7200 - 60  # inside the early-refresh margin
    refresh_groups(ws, api_for(ws, fake_api, clock=lambda: now[0]), ["wr001"], PullReport())
    assert fake_api.issued == 4


def test_a_token_revoked_early_is_fetched_again_once(ws, fake_api):
    refresh_groups(ws, api_for(ws, fake_api), ["wr001"], PullReport())
    fake_api.valid.clear()  # WeCom dropped every token (secret reset, early expiry)
    report = PullReport()
    refresh_groups(ws, api_for(ws, fake_api), ["wr001"], report)
    assert report.group_errors == [] and report.groups == 3


def test_a_refused_secret_is_reported_not_fatal(ws, fake_api):
    report = PullReport()
    assert (
        refresh_groups(ws, api_for(ws, fake_api, archive="wrong", contact=""), ["wr001", "wr002"], report)
        is None
    )
    assert report.groups == 0
    assert len(report.group_errors) == 1 and "40001" in report.group_errors[0]


def test_one_failing_room_does_not_lose_the_others(ws, fake_api):
    report = PullReport()
    refresh_groups(ws, api_for(ws, fake_api, contact=""), ["wr001", "wrGone"], report)
    assert report.groups == 1
    assert report.group_errors == ["wrGone: /cgi-bin/msgaudit/groupchat/get: errcode 301052 no"]


def test_an_unreachable_api_is_reported(ws):
    api = GroupApi("wwfake", {"archive": "s"}, ws.state_dir / "t.json", base="http://127.0.0.1:9", timeout=1)
    report = PullReport()
    refresh_groups(ws, api, ["wr001"], report)
    assert report.groups == 0 and "gettoken" in report.group_errors[0]


def test_pull_refreshes_the_groups_of_the_rooms_it_saw(ws, keypairs, fake_api, monkeypatch):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    configure(ws, keypairs)
    archive = FakeArchive(keys=keypairs)
    archive.add(message("m1", roomid="wr002"), version=1)
    archive.add(message("m2", roomid=""), version=1)  # one-to-one chat: no group
    outcome = run_pull(ws, Clients(archive.open_sdk, api_for(ws, fake_api, contact="")))
    assert outcome.exit_code == 0 and outcome.report.groups == 1
    result = ingest(ws, [ws.inbox_dir / "wecom"])
    assert result.total("rejected") == 0
    assert ws.groups()["wr002"]["name"] == "行政通知"


def test_the_real_clients_read_both_secrets_from_the_environment(ws, keypairs, monkeypatch):
    monkeypatch.setenv("TEST_ARCHIVE_SECRET", "archive-secret")
    monkeypatch.setenv("TEST_CONTACT_SECRET", "contact-secret")
    configure(ws, keypairs, contact_secret_env='"TEST_CONTACT_SECRET"')
    api = Clients.real(ws).group_api
    assert api.secrets == {"archive": "archive-secret", "contact": "contact-secret"}
    assert api.base == "https://qyapi.weixin.qq.com"
