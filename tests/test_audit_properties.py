"""Property: findings are a pure function of the archive and the rules — not of how the archive
was split into files, in which order they arrived, or how often they were ingested."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import lake
from auditor.audit import audit
from auditor.ingest import ingest
from auditor.workspace import Workspace
from tests.factories import BASE_MS, message, write_jsonl

TEXTS = [
    "收到",
    "好的",
    "傻逼",
    "你是猪吗",
    "客户电话 13812345678",
    "明天开会",
    "在吗",
    "赌博网站了解一下",
    "http://45.77.12.9/a.exe",
    "紧急扩散！听说要裁员",
    "密码是 Abc12345!",
]

records = st.lists(
    st.builds(
        lambda t, s, r, dt_: (t, s, r, dt_),
        st.sampled_from(TEXTS),
        st.sampled_from(["zhangwei", "lina", "wmX"]),
        st.sampled_from(["wrA", "wrB", ""]),
        st.integers(0, 2 * 3600 * 1000),
    ),
    min_size=1,
    max_size=40,
)


def findings(ws: Workspace) -> dict[str, bytes]:
    return {d: lake.findings_path(ws.findings_dir, d).read_bytes() for d in lake.dates(ws.findings_dir)}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, split=st.integers(0, 40), data=st.data())
def test_findings_do_not_depend_on_file_split_order_or_repeats(rows, split, data):
    msgs = [
        message(f"m{i}", sender=s, roomid=r, text={"content": t}, msgtime=BASE_MS + offset, **{"from": s})
        for i, (t, s, r, offset) in enumerate(rows)
    ]
    shuffled = data.draw(st.permutations(msgs))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one = Workspace(root / "one")
        ingest(one, [write_jsonl(root / "all.jsonl", msgs)])
        two = Workspace(root / "two")
        cut = min(split, len(shuffled))
        b = write_jsonl(root / "b.jsonl", shuffled[cut:])
        a = write_jsonl(root / "a.jsonl", shuffled[:cut])
        ingest(two, [b])
        ingest(two, [a, b])  # a repeat of b as well: duplicates change nothing
        dates = lake.dates(one.messages_dir)
        assert dates == lake.dates(two.messages_dir)
        audit(one, dates, workers=1)
        audit(two, dates, workers=1)
        assert findings(one) == findings(two)
