"""`make bench`: each stage's throughput and peak memory, and the ratio to a naive baseline,
measured on the same generated archive in the same run (never as timed assertions in tests).

    python benchmarks/bench.py [--messages 1000000] [--groups 300] [--days 3] [--workers N]

Prints a table and writes benchmarks/results.json. The archive is generated once per size
into .bench-data/ and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = [sys.executable, str(Path(__file__).with_name("stage.py"))]


def run(*args: str) -> dict:
    done = subprocess.run([*STAGE, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 65):
        sys.exit(f"stage {args[:2]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("BENCH "))
    return json.loads(line[6:])


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


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def table(results: dict[str, dict], args: argparse.Namespace) -> str:
    base = results["naive baseline"]["rate"]
    lines = [
        f"{args.messages:,} messages, {args.groups} groups, {args.days} days — {machine()}",
        "",
        f"{'stage':28} {'seconds':>8} {'messages/s':>11} {'× baseline':>10} {'peak RSS MB':>11}"
        f" {'worker MB':>9}",
    ]
    for name, r in results.items():
        lines.append(
            f"{name:28} {r['seconds']:8.1f} {r['rate']:11,.0f} {r['rate'] / base:10.1f} "
            f"{r['peak_rss_mb']:11,.0f} {r['peak_worker_rss_mb']:9,.0f}"
        )
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
    args = parser.parse_args()
    data = archive(args.messages, args.groups, args.days)
    manifest = data / "manifest.json"
    workers = ["--workers", str(args.workers)] if args.workers else []
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        ws = Path(tmp) / "ws"
        print("ingest …", flush=True)
        results["ingest"] = run("cli", "-w", str(ws), "ingest", str(data / "exports"))
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
        (fresh / "inbox").mkdir(parents=True)
        for path in (data / "exports").iterdir():
            os.link(path, fresh / "inbox" / path.name)
        results["nightly"] = run("cli", "-w", str(fresh), "nightly", *workers)
    for r in results.values():
        r.setdefault("messages", args.messages)
        r["rate"] = r["messages"] / r["seconds"] if r["seconds"] else 0.0
    text = table(results, args)
    print("\n" + text)
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
