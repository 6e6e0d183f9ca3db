"""``auditor export evidence`` and ``auditor check-evidence``."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.base import configured_workspace, json_option
from auditor.errors import EXIT_DATA, AuditorError
from auditor.evidence import Selection, check, export


@click.group(name="export")
def export_group() -> None:
    """Export what the workspace holds, for people outside it.

    \b
    Example:
      auditor export evidence --case ACT-000012 --out case-12.zip
    """


@export_group.command(name="evidence")
@click.option("--finding", metavar="ID", help="One finding.")
@click.option("--person", metavar="USERID", help="Every finding about a person and every action taken.")
@click.option("--case", metavar="ACTION_ID", help="An action, its findings, appeals and notices.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The zip to write."
)
@click.option(
    "--unmasked",
    is_flag=True,
    help="Personal data and secrets as written: every file marked RESTRICTED (officers only).",
)
@click.pass_context
def export_evidence(
    ctx: click.Context, finding: str | None, person: str | None, case: str | None, out: Path, unmasked: bool
) -> None:
    """Write a zip with the messages and their context, the findings, every ledger
    decision about them and a manifest of SHA-256 hashes (`auditor check-evidence`).

    \b
    Examples:
      auditor export evidence --finding 3f9c0a1b2c4d5e6f7a8b9c0d --out f.zip
      auditor export evidence --person zhangwei --out zhangwei.zip
      auditor export evidence --case ACT-000012 --out case-12.zip --unmasked
    """
    chosen = [
        (kind, value) for kind, value in (("finding", finding), ("person", person), ("case", case)) if value
    ]
    if len(chosen) != 1:
        raise AuditorError("name exactly one of --finding, --person or --case")
    ws = configured_workspace(ctx)
    written = export(ws, Selection(*chosen[0]), out, unmasked=unmasked)
    click.echo(
        f"wrote {written['path']}: {written['findings']} finding(s), {written['members']} files, "
        f"{written['classification']}"
    )
    click.echo(f"zip sha256 {written['sha256']}; manifest sha256 {written['manifest_sha256']}")


@click.command(name="check-evidence")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def check_evidence(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Re-hash every member of an evidence export against its manifest; exit 65 naming
    every missing, altered, extra or unsafe member.

    \b
    Example:
      auditor check-evidence case-12.zip
    """
    import hashlib
    import json
    import zipfile

    problems, manifest = check(path)
    manifest_sha = None
    if manifest is not None:
        with zipfile.ZipFile(path) as archive:
            manifest_sha = hashlib.sha256(archive.read("manifest.json")).hexdigest()
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": problems, "manifest_sha256": manifest_sha}))
    else:
        for problem in problems:
            click.echo(problem)
        if not problems:
            click.echo(
                f"ok: {len(manifest['members'])} files as exported ({manifest['classification']}); "
                f"manifest sha256 {manifest_sha}"
            )
    if problems:
        ctx.exit(EXIT_DATA)
