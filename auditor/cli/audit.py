"""``auditor audit`` and ``auditor report``: findings and the HTML report for lake dates."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.cli.base import check_dates, date_options, engine_options, json_option, workspace_of
from auditor.errors import AuditorError


@click.command()
@date_options
@click.option(
    "--workers", type=click.IntRange(min=1), help="Worker processes (default: audit.workers, else all cores)."
)
@engine_options
@json_option
@click.pass_context
def audit(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    workers: int | None,
    engine: str | None,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Run every detector over lake messages and write the findings lake.

    Without --date or --since/--until, every date in the lake is audited. Findings go to
    W/lake/findings/date=D/findings.parquet, replaced atomically; the same input and rules
    give byte-identical findings.

    \b
    Examples:
      auditor audit
      auditor audit --date 2026-11-16
      auditor audit --since 2026-11-01 --until 2026-11-30 --workers 2
      auditor audit --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from auditor.engines import plan_engine, worker_count
    from auditor.process_pool import start_planned_fork_server

    check_dates(date=date, since=since, until=until)
    ws = workspace_of(ctx)
    # A local pool's fork server imports the workers' modules (a second) while this process
    # imports the audit and reads the first date, so the workers are there when it is read.
    plan_engine(engine or ws.config["audit"]["engine"], worker_count(ws.config, workers))
    start_planned_fork_server()
    from auditor.audit import audit as run_audit
    from auditor.lake_view import LakeView

    dates = LakeView.of_workspace(ws).select(date, since, until)
    if not dates:
        raise AuditorError(f"the lake in {ws.root} has no messages yet: run `auditor ingest` first")

    def progress(day: str, messages: int, findings: int) -> None:
        if not as_json:
            click.echo(f"{day}: {messages} messages, {findings} findings")

    with ws.locked():
        summary = run_audit(
            ws, dates, workers, on_date=progress, engine=engine, scheduler=scheduler
        ).summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        rate = summary["messages"] / summary["seconds"] if summary["seconds"] else 0
        click.echo(
            f"total: {summary['messages']} messages, {summary['findings']} findings in "
            f"{summary['seconds']:.1f}s ({rate:,.0f} messages/s), ruleset {summary['ruleset_version']}"
        )


@click.command(name="report")
@date_options
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Page language (default: report.lang, zh).")
@click.option(
    "--unmasked",
    is_flag=True,
    help="Show personal data and secrets in clear; every page is marked RESTRICTED. Needs --out.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of the shared W/reports (required by --unmasked and another --lang).",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    date: str | None,
    since: str | None,
    until: str | None,
    lang: str | None,
    unmasked: bool,
    out_dir: Path | None,
) -> None:
    """Write the HTML compliance report (index, one page per group) and summary.json.

    Reports go to W/reports/D/, masked and in report.lang: the shared pages group owners read.
    Unmasked pages or another language go to a separate folder given with --out (never inside
    W/reports). Without --date or --since/--until, every audited date is reported.

    \b
    Examples:
      auditor report --date 2026-11-16
      auditor report --since 2026-11-01 --until 2026-11-30 --lang en --out /tmp/reports-en
      auditor report --date 2026-11-16 --unmasked --out /srv/restricted/case-42   # authorised only
    """
    from auditor.lake_view import LakeView
    from auditor.report.render import check_private_output, report

    check_dates(date=date, since=since, until=until)
    ws = workspace_of(ctx)
    check_private_output(ws, lang, unmasked, out_dir)
    view = LakeView.of_workspace(ws)
    dates = view.select(date, since, until)
    if not (date or since or until):  # by default every audited date; name a date to hear why one is missing
        dates = [d for d in dates if d in set(view.audited_dates())]
    if not dates:
        raise AuditorError(f"nothing to report in {ws.root}: run `auditor ingest` and `auditor audit` first")
    with ws.locked():
        indexes = report(ws, dates, lang=lang, unmasked=unmasked, out_dir=out_dir)
    for index in indexes:
        click.echo(str(index))
