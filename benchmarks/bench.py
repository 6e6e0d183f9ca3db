"""`make bench`: each stage's throughput and peak memory, and the ratio to a naive baseline,
measured on the same generated archive in the same run (never as timed assertions in tests).

    python benchmarks/bench.py [--messages 1000000] [--groups 300] [--days 3] [--workers N]
                               [--ingest-ref REF] [--only-ingest]

``--ingest-ref REF`` also times the ingest of git revision REF (e.g. main) on the same archive in the
same run, the row before a change next to the row after it.

Prints a table and writes benchmarks/results.json. The archive is generated once per size
into .bench-data/ and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = [sys.executable, str(Path(__file__).with_name("stage.py"))]


def run(*args: str, code: Path | None = None) -> dict:
    """One stage in a fresh process; with ``code``, the auditor package is imported from there."""
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None
    done = subprocess.run([*STAGE, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode not in (0, 65):
        sys.exit(f"stage {args[:2]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("BENCH "))
    result = json.loads(line[6:])
    if total := re.search(r"^total: [\d,]+ files, ([\d,]+) records", done.stdout, re.MULTILINE):
        result["records"] = int(total.group(1).replace(",", ""))  # ingest's reconciliation
    return result


def archive(messages: int, groups: int, days: int) -> Path:
    folder = ROOT / ".bench-data" / f"m{messages}-g{groups}-d{days}"
    if not (folder / "manifest.json").exists():
        print(f"generating {messages:,} messages into {folder} …", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        run(
            "cli",
            "sample",
            "--out",
            str(folder),
            "--messages",
            str(messages),
            "--groups",
            str(groups),
            "--days",
            str(days),
            "--seed",
            "1",
        )
    return folder


def checkout(ref: str, into: Path) -> Path:
    """The tree of git revision ``ref``, unpacked into ``into`` (the repository is not touched)."""
    into.mkdir(parents=True)
    tree = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=tree.stdout, check=True)
    return into


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def table(results: dict[str, dict], args: argparse.Namespace) -> str:
    base = results["naive baseline"]["rate"] if "naive baseline" in results else 0.0
    lines = [
        f"{args.messages:,} messages, {args.groups} groups, {args.days} days — {machine()}",
        "",
        f"{'stage':28} {'seconds':>8} {'messages/s':>11} {'× baseline':>10} {'peak RSS MB':>11}"
        f" {'worker MB':>9}",
    ]
    for name, r in results.items():
        ratio = f"{r['rate'] / base:10.1f}" if base else f"{'':10}"
        lines.append(
            f"{name:28} {r['seconds']:8.1f} {r['rate']:11,.0f} {ratio} "
            f"{r['peak_rss_mb']:11,.0f} {r['peak_worker_rss_mb']:9,.0f}"
        )
    if "naive baseline" not in results:
        return "\n".join(lines)
    naive, ours = results["naive baseline"]["recall"], results["audit (all detectors)"]["recall"]
    scoring = results["abuse model, 1 core"]
    lines += [
        "",
        f"recall on planted violations, lexicon categories / all: naive {naive['lexicon_categories']:.3f}"
        f" / {naive['all_categories']:.3f}; audit {ours['lexicon_categories']:.3f}"
        f" / {ours['all_categories']:.3f}",
        f"abuse model: artifact loads in {scoring['load_seconds']:.2f}s; scored texts average "
        f"{scoring['mean_chars']} characters",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=int(os.environ.get("BENCH_MESSAGES", 1_000_000)))
    parser.add_argument("--groups", type=int, default=int(os.environ.get("BENCH_GROUPS", 300)))
    parser.add_argument("--days", type=int, default=int(os.environ.get("BENCH_DAYS", 3)))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--ingest-ref", help="also time the ingest of this git revision (e.g. main)")
    parser.add_argument("--only-ingest", action="store_true", help="measure ingest only")
    args = parser.parse_args()
    data = archive(args.messages, args.groups, args.days)
    manifest = data / "manifest.json"
    workers = ["--workers", str(args.workers)] if args.workers else []
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        ws = Path(tmp) / "ws"
        if args.ingest_ref:
            print(f"ingest at {args.ingest_ref} …", flush=True)
            code = checkout(args.ingest_ref, Path(tmp) / "ref")
            ref_ws = Path(tmp) / "ref-ws"
            run("cli", "-w", str(ref_ws), "init", code=code)
            ingested = run("cli", "-w", str(ref_ws), "ingest", str(data / "exports"), code=code)
            results[f"ingest at {args.ingest_ref}"] = ingested
        print("ingest …", flush=True)
        run("cli", "-w", str(ws), "init")
        results["ingest"] = run("cli", "-w", str(ws), "ingest", str(data / "exports"))
        if args.only_ingest:
            return report(results, args, save=False)
        print("naive baseline …", flush=True)
        results["naive baseline"] = run("baseline", str(ws), str(manifest))
        print("lexicon matching …", flush=True)
        results["lexicon matching, 1 core"] = run("matching", str(ws))
        print("audit …", flush=True)
        results["audit (all detectors)"] = run("cli", "-w", str(ws), "audit", *workers)
        results["audit (all detectors)"]["recall"] = run("recall", str(ws), str(manifest))["recall"]
        print("report …", flush=True)
        results["report"] = run("cli", "-w", str(ws), "report")
        print("abuse model scoring (one core) …", flush=True)
        results["abuse model, 1 core"] = run("score", str(ws), "200000")
        print("nightly end to end …", flush=True)
        fresh = Path(tmp) / "nightly"
        run("cli", "-w", str(fresh), "init")
        (fresh / "inbox").mkdir(parents=True, exist_ok=True)
        for path in (data / "exports").iterdir():
            os.link(path, fresh / "inbox" / path.name)
        results["nightly"] = run("cli", "-w", str(fresh), "nightly", *workers)
    report(results, args)


def ingest_line(results: dict[str, dict]) -> str:
    """Ingest before and after on the same archive: records/s of wall-clock time, and per CPU second
    (steadier where other work shares the machine)."""
    rows = [
        f"{name}: {r['records']:,} records, {r['records'] / r['seconds']:,.0f} records/s, "
        f"{r['records'] / r['cpu_seconds']:,.0f} records per CPU second"
        for name, r in results.items()
        if name.startswith("ingest")
    ]
    return "\n".join(rows)


def report(results: dict[str, dict], args: argparse.Namespace, *, save: bool = True) -> None:
    for r in results.values():
        r.setdefault("messages", args.messages)
        r["rate"] = r["messages"] / r["seconds"] if r["seconds"] else 0.0
    text = table(results, args)
    print("\n" + text + "\n\n" + ingest_line(results))
    if not save:
        return
    out = Path(__file__).with_name("results.json")
    record = {
        "machine": machine(),
        "messages": args.messages,
        "groups": args.groups,
        "days": args.days,
        "results": results,
    }
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
