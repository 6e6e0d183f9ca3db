"""Every command through click's CliRunner: help, exit codes, JSON output."""

from __future__ import annotations

import json

import pytest

from auditor.cli import cli
from tests.factories import message, write_jsonl


def all_commands(group=cli, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("command", list(all_commands()), ids=" ".join)
def test_every_command_has_help_with_examples(runner, command):
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output


def test_init_creates_workspace_and_is_rerunnable(runner, tmp_path):
    ws = tmp_path / "w"
    first = runner.invoke(cli, ["-w", str(ws), "init"])
    assert first.exit_code == 0 and "created" in first.output
    assert (ws / "auditor.toml").exists() and (ws / "inbox").is_dir()
    second = runner.invoke(cli, ["-w", str(ws), "init"])
    assert second.exit_code == 0 and "created" not in second.output


def test_workspace_from_environment(runner, tmp_path):
    result = runner.invoke(cli, ["init"], env={"AUDITOR_WORKSPACE": str(tmp_path / "envws")})
    assert result.exit_code == 0
    assert (tmp_path / "envws" / "auditor.toml").exists()


def test_ingest_json_reconciliation(runner, tmp_path):
    path = write_jsonl(tmp_path / "in" / "a.jsonl", [message("m1"), message("m2"), message("m2")])
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "ingest", "--json", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("files", "records", "accepted", "duplicates", "rejected")} == {
        "files": 1,
        "records": 3,
        "accepted": 2,
        "duplicates": 1,
        "rejected": 0,
    }


def test_ingest_missing_path_exits_2_without_traceback(runner, tmp_path):
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "ingest", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output
    assert "Traceback" not in result.output


def test_ingest_rejects_above_threshold_exit_65_after_doing_the_work(runner, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(message("m1")).encode() + b"\nnot json\n")
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "ingest", str(path)])
    assert result.exit_code == 65
    assert "above ingest.max_reject_ratio" in result.output
    assert list((tmp_path / "w" / "lake" / "messages").rglob("*.parquet"))  # the good record landed


@pytest.mark.parametrize(
    ("toml", "message_part"),
    [
        ("timezone = 'Mars/Olympus'", "unknown timezone"),
        ("[ingest]\nmax_reject_ratio = 'high'", "must be a number"),
        ("[ingest]\nmax_rejects = 3", "unknown setting 'ingest.max_rejects'"),
        ("[ingest]\nmax_decompressed_bytes = 0", "ingest.max_decompressed_bytes must be positive"),
        ("[ingest]\nmax_stored_rejects = -1", "ingest.max_stored_rejects must be positive"),
        ("[groups]\nrules = [{ name_pattern = '(', category = 'project' }]", "name_pattern"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_config_exits_2(runner, tmp_path, toml, message_part):
    ws = tmp_path / "w"
    ws.mkdir()
    (ws / "auditor.toml").write_text(toml, encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws), "init"])
    assert result.exit_code == 2
    assert message_part in result.output


def test_unexpected_failure_exits_1_without_traceback(runner, tmp_path, monkeypatch):
    import auditor.ingest

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(auditor.ingest, "ingest", boom)
    result = runner.invoke(cli, ["-w", str(tmp_path / "w"), "ingest", str(tmp_path)])
    assert result.exit_code == 1
    assert "unexpected failure" in result.output and "disk on fire" in result.output
    assert "Traceback" not in result.output
