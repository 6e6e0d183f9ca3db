"""Replay: re-audit archived days with other rules into another folder, and diff against the past.

The workspace is only read. Messages come from the workspace lake, or from a backup snapshot
restored into ``OUT/source``; the baseline for the diff is the findings the source holds for
those days. Findings are matched by ``finding_id`` (an id names the message and category, not
the rules), so the diff says exactly which findings the new rules add and which they drop.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from auditor import __version__, atomic, backup, lake
from auditor.analyzer import Ruleset
from auditor.audit import Sources, audit
from auditor.config import load_config
from auditor.errors import AuditorError
from auditor.report.render import render_page, report
from auditor.workspace import Workspace

DIFF_COLUMNS = ["finding_id", "date", "roomid", "msgid", "sender", "category", "rule", "severity", "excerpt"]


def _findings(findings_dir: Path, dates: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for date in dates:
        path = lake.findings_path(findings_dir, date)
        if path.exists():
            for row in lake.read_findings(path, DIFF_COLUMNS).to_pylist():
                out[row["finding_id"]] = row
    return out


def diff_findings(before: dict[str, dict], after: dict[str, dict]) -> dict[str, Any]:
    new = [after[k] for k in sorted(after.keys() - before.keys())]
    gone = [before[k] for k in sorted(before.keys() - after.keys())]
    changed = [
        {**after[k], "severity_before": before[k]["severity"]}
        for k in sorted(after.keys() & before.keys())
        if after[k]["severity"] != before[k]["severity"] or after[k]["rule"] != before[k]["rule"]
    ]
    per_group: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"new": 0, "gone": 0})
    )
    for kind, rows in (("new", new), ("gone", gone)):
        for row in rows:
            per_group[row["roomid"]][row["category"]][kind] += 1
    return {
        "new": new,
        "gone": gone,
        "changed": changed,
        "per_group": {room: dict(sorted(c.items())) for room, c in sorted(per_group.items())},
    }


def replay(
    ws: Workspace,
    *,
    since: str | None,
    until: str | None,
    out: Path,
    dictionaries: Path | None = None,
    config_file: Path | None = None,
    from_backup: str | None = None,
    workers: int | None = None,
    lang: str | None = None,
) -> dict[str, Any]:
    """Re-audit and re-report ``since``..``until`` into ``out``; write out/diff.json and out/diff.html."""
    out = out.resolve()
    if out == ws.root.resolve() or out.is_relative_to(ws.root.resolve()):
        raise AuditorError("--out must be outside the workspace: replay never writes into it")
    if out.exists() and any(p for p in out.iterdir() if p.name != "source"):
        raise AuditorError(f"{out} is not empty: replay into a new folder")
    if config_file is not None and not config_file.is_file():
        raise AuditorError(f"no such config file: {config_file}")
    if dictionaries is not None and not dictionaries.is_dir():
        raise AuditorError(f"no such dictionaries folder: {dictionaries}")

    source_ws = ws
    if from_backup:
        source_ws = Workspace(out / "source", ws.config)
        if not (out / "source").exists():
            backup.restore(backup.store_of(ws), from_backup, out / "source")
    findings_dir = out / "lake" / "findings"
    sources = Sources.of_workspace(source_ws, findings_dir=findings_dir)
    dates = sources.select(since=since, until=until)
    if not dates:
        raise AuditorError("no archived messages to replay")

    config = load_config(config_file) if config_file else ws.config
    ruleset = Ruleset(config, dictionaries if dictionaries is not None else ws.dictionaries_dir)
    audit_report = audit(ws, dates, workers, ruleset=ruleset, sources=sources)
    lang = lang or config["report"]["lang"]
    report(source_ws, dates, lang=lang, out_dir=out / "reports", findings_dir=findings_dir, with_ledger=False)

    before = _findings(source_ws.findings_dir, dates)
    after = _findings(findings_dir, dates)
    diff = {
        "since": dates[0],
        "until": dates[-1],
        "dates": dates,
        "source": f"backup {from_backup}" if from_backup else str(ws.root),
        "baseline_ruleset_versions": sorted({r["ruleset_version"] for r in _versions(source_ws, dates)}),
        "replay_ruleset_version": ruleset.version,
        "dictionaries": str(dictionaries) if dictionaries else None,
        "config": str(config_file) if config_file else None,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "auditor_version": __version__,
        "findings_before": len(before),
        "findings_after": len(after),
        **diff_findings(before, after),
    }
    atomic.write_text(out / "diff.json", json.dumps(diff, ensure_ascii=False, indent=1, default=str) + "\n")
    groups = {g: info.get("name", g) for g, info in sources.groups.items()}
    render_page(
        "diff.html.j2",
        out / "diff.html",
        lang,
        period=f"{dates[0]} … {dates[-1]}",
        ruleset_versions=[ruleset.version],
        generated_at=diff["generated_at"],
        diff=diff,
        groups=groups,
        audit=audit_report.summary(),
    )
    return diff


def _versions(ws: Workspace, dates: list[str]) -> list[dict[str, Any]]:
    rows = []
    for date in dates:
        path = lake.findings_path(ws.findings_dir, date)
        if path.exists():
            rows += pq.read_table(path, columns=["ruleset_version"]).to_pylist()
    return rows
