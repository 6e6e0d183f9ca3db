"""``auditor sample``: a synthetic WeCom archive."""

from __future__ import annotations

from pathlib import Path

import click

from auditor.cli.base import check_dates
from auditor.sample import REALISMS


@click.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the archive into (created).",
)
@click.option(
    "--messages",
    default=4000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of message records.",
)
@click.option("--groups", default=6, show_default=True, type=click.IntRange(min=3), help="Number of groups.")
@click.option("--days", default=3, show_default=True, type=click.IntRange(min=1), help="Number of days.")
@click.option("--seed", default=7, show_default=True, type=int, help="Random seed: same seed, same bytes.")
@click.option("--start", default="2026-11-16", show_default=True, help="First day (YYYY-MM-DD).")
@click.option(
    "--realism",
    type=click.Choice(REALISMS),
    default="template",
    show_default=True,
    help="template: a few dozen work lines with names swapped in (the demo sample); real: sentences of "
    "real conversational Chinese, mostly distinct (the benchmark archive).",
)
def sample(out_dir: Path, messages: int, groups: int, days: int, seed: int, start: str, realism: str) -> None:
    """Write a realistic synthetic WeCom archive (deterministic for a seed).

    Writes OUT/exports/ (JSONL, gzip JSONL and GetChatData batch files, groups.json,
    roster.csv) and OUT/manifest.json listing the groups and the planted violations.

    \b
    Examples:
      auditor sample --out sample_data
      auditor sample --out /tmp/big --messages 1000000 --groups 300 --days 3 --realism real
    """
    import datetime as dt

    from auditor.sample import generate

    check_dates(start=start)
    first_day = dt.date.fromisoformat(start)
    manifest = generate(
        out_dir, messages=messages, groups=groups, days=days, seed=seed, start=first_day, realism=realism
    )
    click.echo(
        f"wrote {manifest['messages']} messages in {len(manifest['groups'])} groups over {days} days "
        f"to {out_dir}"
    )
