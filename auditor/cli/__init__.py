"""The ``auditor`` command line: parses options and delegates to functions tests can call.

One module per command group (DESIGN: split by command group, sharing one set of option decorators
in ``base``); each defines plain click commands, registered on the root group here by name and
imported when first used. The console's commands live with the console and are registered the same
way.

Exit codes: ``base.EXIT_CODES_HELP`` (shown in every command's help) and the README's table.
"""

from __future__ import annotations

from auditor.cli.base import cli, main

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
