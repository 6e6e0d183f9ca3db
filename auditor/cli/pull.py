"""``auditor pull``: fetch archive pages from WeCom's Finance SDK."""

from __future__ import annotations

import json

import click

from auditor.cli.base import EXIT_CODES_HELP, configured_workspace, json_option


@click.command(epilog=EXIT_CODES_HELP)
@click.option(
    "--redecrypt", is_flag=True, help="Decrypt the quarantined records again (after adding a private key)."
)
@json_option
@click.pass_context
def pull(ctx: click.Context, redecrypt: bool, as_json: bool) -> None:
    """Pull new archive pages from WeCom's Finance SDK into W/inbox/wecom/ (needs [wecom] in auditor.toml).

    Pages land in the inbox before the checkpoint W/state/pull.json advances, so a crash only
    re-pulls a page. Records that cannot be decrypted wait in W/quarantine/. `nightly` pulls
    first by itself; run this by hand to test the setup or after adding a key.

    \b
    Exit codes specific to pulling:
      2   configuration: library, keys or secret missing; Init failed; 10000, 10009 (IP not
          allowed), 10011 (certificate)
      65  WeCom says the data expired (10010): messages were lost
      75  network or system errors (10001, 10003) persisted after retries

    \b
    Examples:
      WECOM_ARCHIVE_SECRET=… auditor -w /srv/audit pull
      auditor -w /srv/audit pull --redecrypt
    """
    from auditor.logs import setup
    from auditor.wecom.pull import run_pull

    ws = configured_workspace(ctx)
    with ws.locked():
        setup(ws.logs_dir, to_stderr=False)
        outcome = run_pull(ws, redecrypt_only=redecrypt)
    summary = outcome.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"seq {summary['seq_from']} → {summary['seq_to']}: {summary['records']} records, "
            f"{summary['decrypted']} decrypted, {summary['quarantined']} quarantined; "
            f"{summary['groups']} groups refreshed"
        )
        for path in summary["files"]:
            click.echo(path)
    for alarm in outcome.report.alarms:
        click.echo(f"ALARM: {alarm}", err=True)
    if outcome.error:
        click.echo(f"Error: {outcome.error}", err=True)
    ctx.exit(outcome.exit_code)
