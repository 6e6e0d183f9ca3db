"""The text analyzer's speed per distinct text on one core, on a realistic archive, against another
revision in the same run.

    python benchmarks/analyzer_speed.py [--messages 60000] [--ref main] [--repeat 3] [--profile]

The distinct (text, is_file) keys of a realistic sample (``auditor sample --realism real``: real
conversational sentences, most texts distinct) are what the audit hands the analyzer. Each revision
analyses all of them in batches of 2,000 (``Analyzer.analyze_many``, every detector and model on),
in its own process pinned to one core, best of ``--repeat`` passes; the memo of per-text
normalization is cleared before every pass, since an audit meets each distinct text once. Prints
distinct texts per CPU second and per wall second, and µs per text; ``--profile`` adds where this
tree's time goes. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH = 2000


def realistic_keys(messages: int, into: Path) -> list[tuple[str, bool]]:
    from auditor.engines.chunk import lake_keys
    from auditor.ingest import ingest
    from auditor.sample import generate
    from auditor.workspace import Workspace

    generate(
        into / "sample", messages=messages, groups=max(3, messages // 3000), days=1, seed=11, realism="real"
    )
    ws = Workspace(into / "ws")
    ws.init()
    ingest(ws, [into / "sample" / "exports"])
    return lake_keys(ws.messages_dir)


def child(keys_path: Path, repeat: int, profile: bool) -> None:
    """Runs in the measured revision's process: time ``analyze_many`` over every key."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from auditor.analyzer import Ruleset, audit_analyzer
    from auditor.config import load_config
    from auditor.text import normalize

    keys = pickle.loads(keys_path.read_bytes())
    analyzer = audit_analyzer(Ruleset(load_config(None), None))  # as the audit builds it (gc.freeze)
    analyzer.analyze_many(keys[:500])  # dictionaries, automata, models and jieba load once per process

    def one_pass() -> None:
        for i in range(0, len(keys), BATCH):
            analyzer.analyze_many(keys[i : i + BATCH])

    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        normalize.normalize.cache_clear()
        wall, cpu = time.perf_counter(), time.process_time()
        one_pass()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    if profile:
        import cProfile
        import pstats

        normalize.normalize.cache_clear()
        profiler = cProfile.Profile()
        profiler.runcall(one_pass)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    print("BENCH " + json.dumps({"keys": len(keys), "cpu_seconds": best[0], "seconds": best[1]}))


def measure(code: Path | None, keys_path: Path, repeat: int, profile: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None
    args = [sys.executable, __file__, "--child", str(keys_path), "--repeat", str(repeat)]
    done = subprocess.run(
        args + (["--profile"] if profile else []), capture_output=True, text=True, cwd=ROOT, env=env
    )
    if done.returncode:
        sys.exit(f"measuring {code or 'this tree'} failed:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr)
    return json.loads(next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))[6:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=60000, help="messages in the realistic sample")
    parser.add_argument("--ref", default="main", help="the revision to compare with ('' for none)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many passes")
    parser.add_argument("--profile", action="store_true", help="print where this tree's time goes")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat, args.profile)
        return
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench import checkout

    with tempfile.TemporaryDirectory() as tmp:
        keys = realistic_keys(args.messages, Path(tmp))
        keys_path = Path(tmp) / "keys.pickle"
        keys_path.write_bytes(pickle.dumps(keys))
        mean = sum(len(t) for t, _ in keys) / len(keys)
        print(
            f"{len(keys):,} distinct texts of a {args.messages:,}-message realistic sample, "
            f"mean {mean:.1f} characters"
        )
        rows = {}
        if args.ref:
            rows[f"at {args.ref}"] = measure(checkout(args.ref, Path(tmp) / "ref"), keys_path, args.repeat)
        rows["this tree"] = measure(None, keys_path, args.repeat, args.profile)
    print(f"{'analyzer':16} {'texts/CPU s':>12} {'texts/s':>10} {'µs/text (CPU)':>14}")
    for name, r in rows.items():
        print(
            f"{name:16} {r['keys'] / r['cpu_seconds']:12,.0f} {r['keys'] / r['seconds']:10,.0f} "
            f"{1e6 * r['cpu_seconds'] / r['keys']:14.1f}"
        )
    if len(rows) == 2:
        before, after = rows.values()
        print(f"speed-up {before['cpu_seconds'] / after['cpu_seconds']:.1f}× (CPU seconds)")


if __name__ == "__main__":
    main()
