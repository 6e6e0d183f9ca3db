"""`make bench`: each stage's throughput and peak memory, and the ratio to a naive baseline,
measured on the same generated archive in the same run (never as timed assertions in tests).

    python benchmarks/bench.py [--messages 1000000] [--groups 300] [--days 3] [--workers N]
                               [--rounds 3] [--no-template] [--scaling [--only-scaling] [--repeat N]]
                               [--nightly-10m] [--only-nightly]

Every stage runs on the realistic archive (`auditor sample --realism real`: real conversational
sentences, most texts distinct). The template archive (a few dozen lines with names swapped in,
few distinct texts) follows as second rows for ingest, the naive baseline and the audit, so the
two can be compared; each row shows its archive's distinct-text ratio, and its ratio is to the
baseline on the same archive. Ingest runs ``--rounds`` times, and the baseline and the audit in
turn as many: their rows are the median runs, and ingest's rate and the audit's ratio are also given
round by round. Prints a table and writes benchmarks/results.json. Archives are generated once per
size and realism into .bench-data/ and reused (a link to another checkout's .bench-data/<name> is
used as it is).

``--scaling`` adds how the audit scales: the realistic archive audited on 1 worker, 2 workers and
a Dask LocalCluster of 4 single-threaded workers, each the best of ``--repeat`` runs, with CPU
seconds of the main process and of its workers beside the wall-clock time.

Every run ends with ``nightly`` end to end (ingest → audit → report → backup on a fresh
workspace) with its stages; ``--nightly-10m`` adds it on 10,000,000 realistic messages over 30
days, ``--only-nightly`` runs only those rows (and puts them in results.json beside the last full run's).
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
    """One stage in a fresh process; with ``code``, the auditor package is imported from there. It
    runs in that folder too: a revision older than process_pool's fix starts its fork server with
    the current folder first on its path, and from ROOT its workers would run this tree's code."""
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None
    done = subprocess.run([*STAGE, *args], capture_output=True, text=True, cwd=code or ROOT, env=env)
    if done.returncode not in (0, 65):
        sys.exit(f"stage {args[:2]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("BENCH "))
    result = json.loads(line[6:])
    expected = (code or ROOT).resolve() / "auditor"
    if Path(result["package"]) != expected:  # an A/B of revisions must time each its own code
        sys.exit(f"stage {args[:2]} imported auditor from {result['package']}, not {expected}")
    if total := re.search(r"^total: [\d,]+ files, ([\d,]+) records", done.stdout, re.MULTILINE):
        result["records"] = int(total.group(1).replace(",", ""))  # ingest's reconciliation
    return result


def checkout(ref: str, into: Path) -> Path:
    """The tree of git revision ``ref``, unpacked into ``into`` (the repository is not touched)."""
    into.mkdir(parents=True)
    tree = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=tree.stdout, check=True)
    return into


def ingest_rows(data: Path, tmp: Path, ref: str | None) -> dict[str, dict]:
    """Ingest of ``data`` by revision ``ref`` (when given) and by this tree, in the same run: records
    per second of wall-clock time and per CPU second (steadier where other work shares the machine)."""
    rows = {}
    for name, code in ([(f"ingest at {ref}", checkout(ref, tmp / "ref"))] if ref else []) + [
        ("ingest", None)
    ]:
        ws = tmp / name.replace(" ", "-")
        run("cli", "-w", str(ws), "init", code=code)
        print(f"{name} …", flush=True)
        rows[name] = run("cli", "-w", str(ws), "ingest", str(data / "exports"), code=code)
    return rows


def ingest_line(rows: dict[str, dict]) -> str:
    """Records per second and per CPU second, the decoding workers' CPU included."""
    return "\n".join(
        f"{name}: {r['records']:,} records, {r['records'] / r['seconds']:,.0f} records/s, "
        f"{r['records'] / (r['cpu_seconds'] + r.get('worker_cpu_seconds', 0)):,.0f} records per CPU second "
        f"(main {r['cpu_seconds']:.1f} + workers {r.get('worker_cpu_seconds', 0):.1f} CPU s, "
        f"peak {r['peak_rss_mb']:,.0f} MB)"
        for name, r in rows.items()
        if r.get("records") and r.get("cpu_seconds")
    )


def archive(messages: int, groups: int, days: int, realism: str, start: str | None = None) -> Path:
    """The generated archive, cached by its shape (``start``: its first day, default the sample's)."""
    folder = (
        ROOT / ".bench-data" / (f"{realism}-m{messages}-g{groups}-d{days}" + (f"-s{start}" if start else ""))
    )
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
            "--realism",
            realism,
            *(["--start", start] if start else []),
        )
    return folder


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def table(results: dict[str, dict[str, dict]], texts: dict[str, dict], args: argparse.Namespace) -> str:
    lines = [
        f"{args.messages:,} messages per archive, {args.groups} groups, {args.days} days — {machine()}",
        "",
        f"{'archive':9} {'stage':28} {'seconds':>8} {'messages/s':>11} {'× baseline':>10} {'distinct':>8}"
        f" {'peak RSS MB':>11} {'worker MB':>9}",
    ]
    for realism, stages in results.items():
        base = stages["naive baseline"]["rate"]
        distinct = texts[realism]["distinct_ratio"]
        for name, r in stages.items():
            lines.append(
                f"{realism:9} {name:28} {r['seconds']:8.1f} {r['rate']:11,.0f} {r['rate'] / base:10.1f} "
                f"{distinct:8.0%} {r['peak_rss_mb']:11,.0f} {r['peak_worker_rss_mb']:9,.0f}"
            )
    lines.append("")
    for realism, t in texts.items():
        lines.append(
            f"{realism} archive: {t['texts']:,} text messages, {t['distinct']:,} distinct "
            f"({t['distinct_ratio']:.0%}); length median {t['median_chars']}, p99 {t['p99_chars']}, "
            f"max {t['max_chars']} characters"
        )
    for realism, stages in results.items():
        ingest = stages["ingest"]
        rates = [ingest["messages"] / seconds for seconds in sorted(ingest["runs_seconds"], reverse=True)]
        lines.append(
            f"{realism} archive, ingest round by round (its row is the median run): "
            + ", ".join(f"{rate:,.0f}" for rate in rates)
            + " messages/s"
        )
    for realism, stages in results.items():
        ratios = stages["audit (all detectors)"]["paired_ratios"]
        lines.append(
            f"{realism} archive, audit × baseline round by round ({len(ratios)} rounds, each stage's row "
            f"is its median run): {', '.join(f'{r:.1f}' for r in ratios)}"
        )
    for realism, stages in results.items():
        naive, ours = stages["naive baseline"]["recall"], stages["audit (all detectors)"]["recall"]
        lines.append(
            f"{realism} archive, recall on planted violations, lexicon categories / all: naive "
            f"{naive['lexicon_categories']:.3f} / {naive['all_categories']:.3f}; audit "
            f"{ours['lexicon_categories']:.3f} / {ours['all_categories']:.3f}; findings with no planted "
            f"message (false alarms where the chat is real): naive {naive['unplanted_findings']:,}, "
            f"audit {ours['unplanted_findings']:,}"
        )
    scoring = results["real"].get("abuse model, 1 core")
    if scoring:
        lines.append(
            f"abuse model: artifact loads in {scoring['load_seconds']:.2f}s; scored texts average "
            f"{scoring['mean_chars']} characters"
        )
    return "\n".join(lines)


def median_run(runs: list[dict]) -> dict:
    """The run of median seconds (of an even number, the slower middle one), with every run's seconds."""
    chosen = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])
    chosen["runs_seconds"] = sorted(round(r["seconds"], 3) for r in runs)
    return chosen


def measure(data: Path, workspace: Path, workers: list[str], full: bool, rounds: int) -> dict[str, dict]:
    """Every stage on one archive (``full``), or ingest, the baseline and the audit only."""
    manifest = data / "manifest.json"
    results: dict[str, dict] = {}
    # Ingest ``rounds`` times, each into a fresh workspace (the first one's is audited): its row is the
    # median run, as the baseline's and the audit's are.
    ingests = []
    for number in range(rounds):
        print(f"{data.name}: ingest, round {number + 1} of {rounds} …", flush=True)
        target = workspace if number == 0 else workspace.with_name(f"{workspace.name}-ingest-{number}")
        run("cli", "-w", str(target), "init")  # only `init` creates a workspace
        ingests.append(run("cli", "-w", str(target), "ingest", str(data / "exports")))
        if target != workspace:
            shutil.rmtree(target)
    results["ingest"] = median_run(ingests)
    # The baseline and the audit in turn, ``rounds`` times: each row is its median run, and the audit's
    # ratio is taken round by round, so a slower or faster stretch of a shared machine moves both.
    pairs = []
    for number in range(1, rounds + 1):
        print(f"{data.name}: naive baseline and audit, round {number} of {rounds} …", flush=True)
        baseline = run("baseline", str(workspace), str(manifest))
        pairs.append((baseline, run("cli", "-w", str(workspace), "audit", *workers)))
    results["naive baseline"] = median_run([baseline for baseline, _ in pairs])
    if full:
        print(f"{data.name}: lexicon matching …", flush=True)
        results["lexicon matching, 1 core"] = run("matching", str(workspace))
    results["audit (all detectors)"] = median_run([audit for _, audit in pairs])
    results["audit (all detectors)"]["paired_ratios"] = sorted(
        round(baseline["seconds"] / audit["seconds"], 2) for baseline, audit in pairs
    )
    results["audit (all detectors)"]["recall"] = run("recall", str(workspace), str(manifest))["recall"]
    if not full:
        return results
    print(f"{data.name}: report …", flush=True)
    results["report"] = run("cli", "-w", str(workspace), "report")
    print(f"{data.name}: abuse model scoring (one core) …", flush=True)
    results["abuse model, 1 core"] = run("score", str(workspace), "200000")
    results["nightly"] = nightly(data, workspace.parent / f"{workspace.name}-nightly", workers)
    return results


def nightly(data: Path, fresh: Path, workers: list[str]) -> dict:
    """``nightly`` end to end on a fresh workspace whose inbox holds the archive, with the run
    manifest's per-stage wall-clock seconds, main-process CPU seconds and peak memory."""
    print(f"{data.name}: nightly end to end …", flush=True)
    run("cli", "-w", str(fresh), "init")
    for path in (data / "exports").iterdir():
        os.link(path, fresh / "inbox" / path.name)
    result = run("cli", "-w", str(fresh), "nightly", *workers)
    [record] = (fresh / "runs").glob("nightly-*.json")
    manifest = json.loads(record.read_text(encoding="utf-8"))
    result["messages"] = manifest["counts"]["accepted"]
    result["stages"] = {
        stage: {
            "seconds": seconds,
            "main_cpu_seconds": manifest["main_cpu_seconds"][stage],
            "peak_rss_mb": manifest["peak_rss_mb"][stage],
        }
        for stage, seconds in manifest["durations"].items()
    }
    return result


def nightly_table(rows: dict[str, dict]) -> str:
    """One line per nightly run, then its stages (wall s, main CPU s, main peak RSS when it ended)."""
    lines = [
        f"nightly end to end — {machine()}",
        f"{'archive':34} {'seconds':>8} {'messages/s':>11} {'CPU s main':>10} {'CPU s workers':>13}"
        f" {'peak RSS MB':>11} {'worker MB':>9} {'distinct':>8}",
    ]
    for name, r in rows.items():
        lines.append(
            f"{name:34} {r['seconds']:8.1f} {r['messages'] / r['seconds']:11,.0f} {r['cpu_seconds']:10.1f}"
            f" {r['worker_cpu_seconds']:13.1f} {r['peak_rss_mb']:11,.0f} {r['peak_worker_rss_mb']:9,.0f}"
            f" {r['distinct_ratio']:8.0%}"
        )
        lines.append(
            "    "
            + ", ".join(
                f"{stage} {st['seconds']:.1f}s ({st['main_cpu_seconds']:.1f} CPU s, "
                f"{st['peak_rss_mb']:,.0f} MB)"
                for stage, st in r["stages"].items()
                if st["seconds"] >= 0.05
            )
        )
    return "\n".join(lines)


# The 10M archive's 30 days end before the 1M archive's first day (2026-11-16): ingest rejects messages
# dated more than a day after the run, so an archive reaching past today would be half rejects.
TEN_MILLION_START = "2026-10-16"


TEN_MILLION = (10_000_000, 600, 30, TEN_MILLION_START)  # a day the size of the 1M archive's


def nightly_rows(sizes: list[tuple[int, int, int, str | None]], workers: list[str]) -> dict[str, dict]:
    """The nightly job on a fresh workspace for each realistic archive of ``sizes`` (messages,
    groups, days, first day or None for the sample's)."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        for messages, groups, days, start in sizes:
            data = archive(messages, groups, days, "real", start)
            fresh = Path(tmp) / data.name
            row = nightly(data, fresh, workers)
            row["distinct_ratio"] = run("texts", str(fresh))["distinct_ratio"]
            rows[f"realistic {messages:,} msgs, {groups} groups, {days} d"] = row
            shutil.rmtree(fresh)
    return rows


# row → the stage.py call after the workspace argument
SCALING = {
    "audit, 1 worker": ("cli", "audit", "--workers", "1"),
    "audit, 2 workers": ("cli", "audit", "--workers", "2"),
    "audit, Dask LocalCluster of 4": ("dask-audit", "4"),
}


def scaling_rows(data: Path, workspace: Path, repeat: int) -> dict[str, dict]:
    """The audit of one ingested archive per engine and worker count; the best of ``repeat`` runs
    (the machine is shared: the fastest run is the one least disturbed)."""
    if not workspace.exists():
        run("cli", "-w", str(workspace), "init")
        print(f"{data.name}: ingest for the scaling rows …", flush=True)
        run("cli", "-w", str(workspace), "ingest", str(data / "exports"))
    rows = {}
    for name, (stage, *args) in SCALING.items():
        print(f"{data.name}: {name} …", flush=True)
        where = ["-w", str(workspace), *args] if stage == "cli" else [str(workspace), *args]
        rows[name] = min((run(stage, *where) for _ in range(repeat)), key=lambda r: r["seconds"])
    return rows


def scaling_table(rows: dict[str, dict], messages: int, distinct_ratio: float) -> str:
    one = rows["audit, 1 worker"]["seconds"]
    lines = [
        f"the audit on {messages:,} realistic messages ({distinct_ratio:.0%} distinct) — {machine()}",
        f"{'engine':32} {'seconds':>8} {'messages/s':>11} {'× 1 worker':>10} {'CPU s main':>10}"
        f" {'CPU s workers':>13} {'peak RSS MB':>11}",
    ]
    for name, r in rows.items():
        extra = f" (cluster start {r['startup_seconds']:.1f}s)" if "startup_seconds" in r else ""
        lines.append(
            f"{name:32} {r['seconds']:8.1f} {messages / r['seconds']:11,.0f} {one / r['seconds']:10.2f}"
            f" {r['cpu_seconds']:10.1f} {r['worker_cpu_seconds']:13.1f} {r['peak_rss_mb']:11,.0f}{extra}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=int(os.environ.get("BENCH_MESSAGES", 1_000_000)))
    parser.add_argument("--groups", type=int, default=int(os.environ.get("BENCH_GROUPS", 300)))
    parser.add_argument("--days", type=int, default=int(os.environ.get("BENCH_DAYS", 3)))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--no-template", action="store_true", help="skip the template archive's comparison rows"
    )
    parser.add_argument("--ingest-ref", help="also time the ingest of this git revision (e.g. main)")
    parser.add_argument("--only-ingest", action="store_true", help="ingest rows only (no results.json)")
    parser.add_argument("--scaling", action="store_true", help="add the audit on 1, 2 and Dask 4 workers")
    parser.add_argument("--only-scaling", action="store_true", help="the scaling rows only")
    parser.add_argument("--repeat", type=int, default=2, help="runs per scaling row (the best counts)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of ingest, and of the baseline and the audit (medians)"
    )
    parser.add_argument(
        "--nightly-10m",
        action="store_true",
        help="add nightly on 10,000,000 realistic messages (600 groups, 30 days; generated once, 2.4 GB)",
    )
    parser.add_argument("--only-nightly", action="store_true", help="the nightly rows only")
    args = parser.parse_args()
    workers = ["--workers", str(args.workers)] if args.workers else []
    if args.only_nightly:
        sizes = [(args.messages, args.groups, args.days, None)] + ([TEN_MILLION] if args.nightly_10m else [])
        rows = nightly_rows(sizes, workers)
        print("\n" + nightly_table(rows))
        out = Path(__file__).with_name("results.json")
        if out.exists():  # the other rows stay those of the last full run
            record = json.loads(out.read_text(encoding="utf-8"))
            record["nightly"] = {"realistic, this run": rows.pop(next(iter(rows)))} | rows
            out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"\nupdated the nightly rows of {out}")
        return
    if args.only_scaling:
        data = archive(args.messages, args.groups, args.days, "real")
        with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
            rows = scaling_rows(data, Path(tmp) / "real", args.repeat)
            shape = run("texts", str(Path(tmp) / "real"))
        print("\n" + scaling_table(rows, args.messages, shape["distinct_ratio"]))
        return
    if args.only_ingest or args.ingest_ref:
        with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
            rows = ingest_rows(
                archive(args.messages, args.groups, args.days, "real"), Path(tmp), args.ingest_ref
            )
        print("\n" + ingest_line(rows))
        if args.only_ingest:
            return
    realisms = ["real"] if args.no_template else ["real", "template"]
    results: dict[str, dict[str, dict]] = {}
    texts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        for realism in realisms:
            data = archive(args.messages, args.groups, args.days, realism)
            ws = Path(tmp) / realism
            results[realism] = measure(data, ws, workers, realism == "real", args.rounds)
            texts[realism] = run("texts", str(ws))
            if args.scaling and realism == "real":
                scaling = scaling_rows(data, ws, args.repeat)
    for stages in results.values():
        for r in stages.values():
            r.setdefault("messages", args.messages)
            r["rate"] = r["messages"] / r["seconds"] if r["seconds"] else 0.0
    text = table(results, texts, args)
    if args.scaling:
        text += "\n\n" + scaling_table(scaling, args.messages, texts["real"]["distinct_ratio"])
    results["real"]["nightly"]["distinct_ratio"] = texts["real"]["distinct_ratio"]
    nightlies = {"realistic, this run": results["real"]["nightly"]}
    if args.nightly_10m:
        nightlies |= nightly_rows([TEN_MILLION], workers)
    text += "\n\n" + nightly_table(nightlies)
    print("\n" + text)
    out = Path(__file__).with_name("results.json")
    record = {
        "machine": machine(),
        "messages": args.messages,
        "groups": args.groups,
        "days": args.days,
        "texts": texts,
        "results": results,
    }
    if args.scaling:
        record["scaling"] = scaling
    record["nightly"] = nightlies
    out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
