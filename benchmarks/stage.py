"""Run one measured stage in a fresh process and print its time and peak memory as JSON.

A separate process per stage makes peak resident memory a per-stage number (ru_maxrss of this
process). Worker CPU seconds and peak memory (VmHWM) are sampled from /proc for every descendant
(pool workers are the forkserver's children, not ours, so ru_maxrss of children misses them).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class DescendantCPU(threading.Thread):
    """CPU seconds of every process below this one, sampled from /proc every 0.1 s (a worker
    that ends between samples loses at most its last 0.1 s). Zero where /proc is missing."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seconds: dict[int, float] = {}
        self.peak_kb = 0  # the largest VmHWM (peak resident memory) of any descendant
        self.done = threading.Event()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry.name}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                    parents[int(entry.name)] = int(fields[1])
                    cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
        mine = {os.getpid()}
        for _ in range(8):  # forkserver → worker; nanny → worker: a few levels deep
            mine |= {pid for pid, parent in parents.items() if parent in mine}
        for pid in mine - {os.getpid()}:
            self.seconds[pid] = max(self.seconds.get(pid, 0.0), cpu[pid])
            with contextlib.suppress(OSError, ValueError, StopIteration):
                with open(f"/proc/{pid}/status") as status:
                    line = next(x for x in status if x.startswith("VmHWM:"))
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def run(self) -> None:
        if not os.path.isdir("/proc"):
            return
        while not self.done.wait(0.1):
            self.sample()

    def total(self) -> float:
        self.done.set()
        return round(sum(self.seconds.values()), 2)


def naive_baseline(workspace: Path, manifest: Path) -> dict:
    """The obvious pipeline: segment every message with jieba, look every token up in a set."""
    import logging

    import jieba

    from auditor import lake
    from auditor.lexicon import MATCHED_LEXICONS, Lexicon
    from auditor.workspace import Workspace

    jieba.setLogLevel(logging.WARNING)
    ws = Workspace(workspace)
    lexicon = Lexicon.load(ws.dictionaries_dir)
    terms: dict[str, str] = {}
    for entry in lexicon.entries:
        if entry.category in MATCHED_LEXICONS and entry.category not in ("allowlist",):
            terms.setdefault(entry.term, entry.category)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for term in terms:
        tokenizer.add_word(term)
    started = time.perf_counter()
    found: dict[str, set[str]] = {}
    messages = 0
    for date in lake.dates(ws.messages_dir):
        for batch in lake.iter_batches(ws.messages_dir, date, ["msgid", "text"]):
            for msgid, text in zip(
                batch.column("msgid").to_pylist(), batch.column("text").to_pylist(), strict=True
            ):
                messages += 1
                hits = {terms[t] for t in tokenizer.lcut(text) if t in terms} if text else set()
                if hits:
                    found[msgid] = hits
    seconds = time.perf_counter() - started
    planted = json.loads(manifest.read_text(encoding="utf-8"))["planted"]
    unplanted = sum(msgid not in planted for msgid in found)  # a message with hits is its finding
    return {"messages": messages, "seconds": seconds, "recall": _recall(planted, found, unplanted)}


def lexicon_matching(workspace: Path) -> dict:
    """Our matching path alone, like for like with the baseline, as the audit runs it: a date's distinct
    texts in chunks of the engine's size, each normalised and screened as one batch, jieba only for
    the boundary decisions of the texts with a candidate, allowlist — once per distinct text."""
    from auditor import lake
    from auditor.detectors.base import TextBatch
    from auditor.engines.chunk import CHUNK
    from auditor.lexicon import Lexicon
    from auditor.text.segment import Segmenter
    from auditor.workspace import Workspace

    ws = Workspace(workspace)
    lexicon = Lexicon.load(ws.dictionaries_dir)
    segmenter = Segmenter(lexicon.words)
    segmenter.tokenizer  # noqa: B018 - load jieba before the clock starts, as the baseline does
    categories = sorted({entry.category for entry in lexicon.entries} - {"allowlist"})
    started = time.perf_counter()
    seen: dict[str, int] = {}
    messages = 0
    for date in lake.dates(ws.messages_dir):
        fresh: dict[str, None] = {}
        for batch in lake.iter_batches(ws.messages_dir, date, ["text"]):
            for text in batch.column("text").to_pylist():
                messages += 1
                if text and text not in seen:
                    fresh[text] = None
        keys = list(fresh)
        for i in range(0, len(keys), CHUNK):
            texts = keys[i : i + CHUNK]
            batch = TextBatch.of_keys([(text, False) for text in texts], lexicon, segmenter)
            seen.update(dict.fromkeys(texts, 0))
            for row in batch.rows_with(*categories):
                seen[texts[row]] = len(batch.view(row).matches)
    return {"messages": messages, "seconds": time.perf_counter() - started, "distinct": len(seen)}


LEXICON_CATEGORIES = ("profanity", "abuse", "illegal", "rumor", "confidential", "ad")


def _recall(planted: dict[str, list[str]], found: dict[str, set[str]], unplanted: int) -> dict[str, float]:
    """Recall on the planted message-level violations of the lexicon categories, and on all of them;
    ``unplanted``: how many findings involve no planted message (on the realistic archive, false
    alarms on real chat lines), passed through."""

    def share(categories) -> float:
        wanted = [(m, c) for m, cats in planted.items() for c in cats if c in categories]
        return round(sum(c in found.get(m, ()) for m, c in wanted) / max(1, len(wanted)), 4)

    every = {c for cats in planted.values() for c in cats}
    return {
        "lexicon_categories": share(LEXICON_CATEGORIES),
        "all_categories": share(every),
        "unplanted_findings": unplanted,
    }


def audit_recall(workspace: Path, manifest: Path) -> dict[str, float]:
    import pyarrow.parquet as pq

    from auditor import lake
    from auditor.workspace import Workspace

    ws = Workspace(workspace)
    planted = json.loads(manifest.read_text(encoding="utf-8"))["planted"]
    found: dict[str, set[str]] = {}
    unplanted = 0
    for date in lake.dates(ws.findings_dir):
        for row in pq.read_table(lake.findings_path(ws.findings_dir, date)).to_pylist():
            ids = [row["msgid"]] if row["msgid"] else json.loads(row["evidence"]).get("msgids", [])
            unplanted += not any(msgid in planted for msgid in ids)
            for msgid in ids:
                found.setdefault(msgid, set()).add(row["category"])
    return _recall(planted, found, unplanted)


def text_shape(workspace: Path) -> dict:
    """How repetitive the archive's chat is: text messages, distinct texts, their length spread.
    Every per-text cost of the audit is divided by the share of repeats, so each figure needs it."""
    import pyarrow.compute as pc

    from auditor import lake
    from auditor.workspace import Workspace

    ws = Workspace(workspace)
    seen: set[str] = set()
    lengths: list[int] = []
    for date in lake.dates(ws.messages_dir):
        for batch in lake.iter_batches(ws.messages_dir, date, ["msgtype", "text"]):
            chat = batch.filter(pc.equal(batch.column("msgtype"), "text")).column("text")
            lengths += pc.utf8_length(chat).to_pylist()
            seen.update(chat.to_pylist())
    lengths.sort()
    count = len(lengths)
    return {
        "texts": count,
        "distinct": len(seen),
        "distinct_ratio": round(len(seen) / max(1, count), 4),
        "median_chars": lengths[count // 2] if count else 0,
        "p99_chars": lengths[count * 99 // 100] if count else 0,
        "max_chars": lengths[-1] if count else 0,
    }


def scoring(workspace: Path, limit: int) -> dict:
    """Abuse-model scoring throughput on one core, over the archive's own chat texts."""
    from auditor import lake
    from auditor.classifier import load_model
    from auditor.resources import packaged_model
    from auditor.workspace import Workspace

    ws = Workspace(workspace)
    texts: list[str] = []
    for date in lake.dates(ws.messages_dir):
        for batch in lake.iter_batches(ws.messages_dir, date, ["text"]):
            texts += [t for t in batch.column("text").to_pylist() if len(t) >= 4]
            if len(texts) >= limit:
                break
        if len(texts) >= limit:
            break
    texts = texts[:limit]
    load_started = time.perf_counter()
    model = load_model(packaged_model())
    load_seconds = time.perf_counter() - load_started
    model.scores(texts[:100])  # the cue index and opencc load once per process; not part of the rate
    started = time.perf_counter()
    for i in range(0, len(texts), 2000):
        model.scores(texts[i : i + 2000])
    return {
        "messages": len(texts),
        "seconds": time.perf_counter() - started,
        "load_seconds": load_seconds,
        "mean_chars": round(sum(map(len, texts)) / max(1, len(texts)), 1),
    }


def dask_audit(workspace: Path, workers: int) -> dict:
    """The audit on a Dask LocalCluster of ``workers`` single-threaded worker processes started here;
    the cluster's start (workers import the analyzer's libraries) is timed apart from the audit."""
    from distributed import LocalCluster

    from auditor.cli import cli

    started = time.perf_counter()
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        startup = time.perf_counter() - started
        started = time.perf_counter()
        args = ["-w", str(workspace), "audit", "--engine", "dask", "--scheduler", cluster.scheduler_address]
        cli.main(args, prog_name="auditor", standalone_mode=False)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "startup_seconds": round(startup, 2)}


def main() -> None:
    stage, *args = sys.argv[1:]
    workers_cpu = DescendantCPU()
    workers_cpu.start()
    started = time.perf_counter()
    if stage == "cli":
        from auditor.cli import cli

        try:
            cli.main(args, prog_name="auditor", standalone_mode=False)
        except SystemExit as exit_:  # ctx.exit(0) raises it under standalone_mode=False too
            if exit_.code:
                raise
        result: dict = {}
    elif stage == "baseline":
        result = naive_baseline(Path(args[0]), Path(args[1]))
    elif stage == "matching":
        result = lexicon_matching(Path(args[0]))
    elif stage == "recall":
        result = {"recall": audit_recall(Path(args[0]), Path(args[1]))}
    elif stage == "texts":
        result = text_shape(Path(args[0]))
    elif stage == "score":
        result = scoring(Path(args[0]), int(args[1]))
    elif stage == "dask-audit":
        result = dask_audit(Path(args[0]), int(args[1]))
    else:
        raise SystemExit(f"unknown stage {stage}")
    result.setdefault("seconds", time.perf_counter() - started)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    result["worker_cpu_seconds"] = workers_cpu.total()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_worker_rss_mb"] = round(max(children, workers_cpu.peak_kb) / 1024, 1)
    import auditor  # where the code timed came from: another revision's tree, or this one

    result["package"] = str(Path(auditor.__file__).resolve().parent)
    print("BENCH " + json.dumps(result))


if __name__ == "__main__":
    main()
