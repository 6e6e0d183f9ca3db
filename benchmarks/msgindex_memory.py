"""The msgid index alone: its peak memory and CPU over a workspace's lake, as ingest uses it.

    python benchmarks/msgindex_memory.py WORKSPACE [--lookups 1000000]

Copies ``WORKSPACE/state/msgids`` to a temporary folder (the workspace is not changed) and opens it
once in a child process (an index in an older layout is rebuilt there, untimed). Then, in a fresh
child: opens the index over the lake, looks ``--lookups`` new msgids up 2,000 at a time (ingest's
LOOKUP_ROWS) and adds them as four lake files, as ingest does after each write. Prints the open
time, wall and CPU seconds, and the peak resident memory above the interpreter's (MB = 2**20 bytes).
Run it on workspaces of 1M and 10M records to see whether the index grows with the lake; nothing is
asserted. Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.msgindex import MsgidIndex, msgid_hashes

PARTS = 4
BATCH = 2_000


def _status_mb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(line for line in status if line.startswith(key)).split()[1]) // 1024


def measure(folder: Path, messages: Path, lookups: int) -> str:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # the peak so far is the imports': count from here
    base = _status_mb("VmRSS")
    rng = random.Random(5)
    cpu, wall = time.process_time(), time.time()
    index = MsgidIndex(folder, messages)
    opened = time.time() - wall
    for part in range(PARTS):
        msgids = [f"{rng.getrandbits(96):024x}_{part}_{i}" for i in range(lookups // PARTS)]
        for start in range(0, len(msgids), BATCH):
            index.get_many(msgids[start : start + BATCH])
        index.add(messages / "date=2999-01-01" / f"part-bench{part}.parquet", msgid_hashes(msgids))
    index.close()
    return (
        f"open {opened:.2f} s; {time.time() - wall:.2f} s wall, {time.process_time() - cpu:.2f} CPU s; "
        f"peak {_status_mb('VmHWM') - base} MB above the interpreter's {base} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["open", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    messages = args.workspace / "lake" / "messages"
    if args.child == "open":
        MsgidIndex(args.folder, messages).close()
        return
    if args.child == "measure":
        print(measure(args.folder, messages, args.lookups))
        return
    with tempfile.TemporaryDirectory(prefix="msgindex-bench-") as tmp:
        folder = Path(tmp) / "msgids"
        source = args.workspace / "state" / "msgids"
        if source.is_dir():
            shutil.copytree(source, folder)
        for child in ("open", "measure"):
            command = [sys.executable, __file__, str(args.workspace), "--lookups", str(args.lookups)]
            subprocess.run([*command, "--child", child, "--folder", str(folder)], check=True)


if __name__ == "__main__":
    main()
