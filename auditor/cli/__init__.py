"""The ``auditor`` command line: parses options and delegates to functions tests can call.

One module per command group (DESIGN: split by command group, sharing one set of option decorators
in ``base``); each defines plain click commands, registered on the root group here by name and
imported when first used. The console's commands live with the console and are registered the same
way.

Exit codes: ``base.EXIT_CODES_HELP`` (shown in every command's help) and the README's table.
"""

from __future__ import annotations

import os

# The command's own process (ingest's deduplication and lake writes, the stages' bookkeeping) frees
# and allocates Arrow buffers flush after flush. mimalloc, with the purge delay of 0 that the
# workers' memory needs (auditor/__init__.py), hands each freed page back to the kernel and faults
# it in again: on the 1M archive, 1.8 of ingest's 5.5 CPU s were kernel time, against 1.0 with
# glibc's allocator, which keeps freed pages for reuse (peak 620 → 720 MB, flat at 10M). Set before
# pyarrow loads; the pool workers keep mimalloc (process_pool), where glibc's peak grew with the run.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from auditor.cli.base import cli, main  # after the allocator is chosen

__all__ = ["cli", "main"]

cli.lazy.update(
    {
        "init": "auditor.cli.init:init",
        "ingest": "auditor.cli.ingest:ingest",
        "audit": "auditor.cli.audit:audit",
        "report": "auditor.cli.audit:report_command",
        "nightly": "auditor.cli.nightly:nightly",
        "pull": "auditor.cli.pull:pull",
        "inbox": "auditor.cli.inbox:inbox",
        "backup": "auditor.cli.backup:backup",
        "check": "auditor.cli.check:check_command",
        "replay": "auditor.cli.replay:replay",
        "review": "auditor.cli.review:review",
        "action": "auditor.cli.action:action",
        "appeal": "auditor.cli.appeal:appeal",
        "model": "auditor.cli.model:model",
        "eval": "auditor.cli.model:eval_command",
        "sample": "auditor.cli.sample:sample",
        "notify": "auditor.cli.notify:notify",
        "export": "auditor.cli.evidence:export_group",
        "check-evidence": "auditor.cli.evidence:check_evidence",
        "serve": "auditor.console.commands:serve",
        "user": "auditor.console.commands:user",
    }
)
