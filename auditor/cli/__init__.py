"""The ``auditor`` command line: parses options and delegates to functions tests can call.

One module per command group (DESIGN: split by command group, sharing one set of option decorators
in ``base``); each defines plain click commands, registered on the root group here. The console's
commands live with the console and are registered the same way.

Exit codes: ``base.EXIT_CODES_HELP`` (shown in every command's help) and the README's table.
"""

from __future__ import annotations

from auditor.cli.action import action
from auditor.cli.appeal import appeal
from auditor.cli.audit import audit, report_command
from auditor.cli.backup import backup
from auditor.cli.base import cli, main
from auditor.cli.check import check_command
from auditor.cli.evidence import check_evidence, export_group
from auditor.cli.inbox import inbox
from auditor.cli.ingest import ingest
from auditor.cli.init import init
from auditor.cli.model import eval_command, model
from auditor.cli.nightly import nightly
from auditor.cli.notify import notify
from auditor.cli.pull import pull
from auditor.cli.replay import replay
from auditor.cli.review import review
from auditor.cli.sample import sample
from auditor.console.commands import serve, user

__all__ = ["cli", "main"]

for command in (
    init,
    ingest,
    audit,
    report_command,
    nightly,
    pull,
    inbox,
    backup,
    check_command,
    replay,
    review,
    action,
    appeal,
    model,
    eval_command,
    sample,
    notify,
    export_group,
    check_evidence,
    serve,
    user,
):
    cli.add_command(command)
