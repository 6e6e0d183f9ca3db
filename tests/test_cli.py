"""Every command through click's CliRunner: help, exit codes, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from auditor.cli import cli
from tests.factories import message, write_jsonl


def all_commands(group=cli, prefix=()):
    """Every command path, through click's listing (the root group imports its commands lazily)."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        yield (*prefix, name)
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_the_root_group_lists_every_command_and_each_imports_only_when_used():
    """Nor does the root group import pyarrow: ``ingest`` and ``nightly`` start their workers' fork
    server before they import it, so the workers start decoding that much sooner."""
    names = list(all_commands())
    assert len([n for n in names if len(n) == 1]) == 21 and ("backup", "verify") in names
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, auditor.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('auditor.', 'pyarrow'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "auditor.console.commands" not in started.stdout and "auditor.evidence" not in started.stdout
    assert "pyarrow" not in started.stdout


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


def test_ingest_json_reconciliation(runner, ws, tmp_path):
    path = write_jsonl(tmp_path / "in" / "a.jsonl", [message("m1"), message("m2"), message("m2")])
    result = runner.invoke(cli, ["-w", str(ws.root), "ingest", "--json", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("files", "records", "accepted", "duplicates", "rejected")} == {
        "files": 1,
        "records": 3,
        "accepted": 2,
        "duplicates": 1,
        "rejected": 0,
    }


def test_ingest_missing_path_exits_2_without_traceback(runner, ws, tmp_path):
    result = runner.invoke(cli, ["-w", str(ws.root), "ingest", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.output
    assert "Traceback" not in result.output


def test_ingest_rejects_above_threshold_exit_65_after_doing_the_work(runner, ws, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(message("m1")).encode() + b"\nnot json\n")
    result = runner.invoke(cli, ["-w", str(ws.root), "ingest", str(path)])
    assert result.exit_code == 65
    assert "above ingest.max_reject_ratio" in result.output
    assert list(ws.messages_dir.rglob("*.parquet"))  # the good record landed


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
        # wrong types: exit 2 naming the key, never an "unexpected failure"
        ("[ingest]\ninbox_paths = [3]", "'ingest.inbox_paths[0]' must be str, got int"),
        ("[ingest]\ninbox_paths = '/exports'", "'ingest.inbox_paths' must be list, got str"),
        ("[ingest]\ninbox_paths = [['/a']]", "'ingest.inbox_paths[0]' must be str, got list"),
        ("[ingest.inbox_paths]\npath = '/a'", "'ingest.inbox_paths' must be list, got dict"),
        ("[detectors]\ndisabled = [{ category = 'ad' }]", "'detectors.disabled[0]' must be str, got dict"),
        ("[groups]\nrules = ['项目']", "'groups.rules[0]' must be table, got str"),
        ("[groups]\nrules = [{ name_pattern = 3, category = 'project' }]", "groups.rules[0].name_pattern"),
        ("[ladder]\ntermination_categories = [1]", "'ladder.termination_categories[0]' must be str"),
        ("[ladder]\nmajor_leak_categories = ['leaks']", "ladder.major_leak_categories names unknown"),
        ("[detectors.malicious_link]\nblocklist = [true]", "'detectors.malicious_link.blocklist[0]'"),
        ("[report]\nlang = { zh = 1 }", "'report.lang' must be str, got dict"),
        ("[report.lang]\nzh = 1", "'report.lang' must be str, got dict"),
        ("ingest = 3", "'ingest' must be a table"),
        ("[appeals]\nfiling_working_days = 0", "appeals.filing_working_days must be at least 1 day"),
        # thresholds that would make every message a finding
        ("[detectors.flooding]\nburst_messages = 0", "detectors.flooding.burst_messages must be at least 2"),
        ("[detectors.flooding]\nrepeat_seconds = -5", "detectors.flooding.repeat_seconds must be at least 1"),
        (
            "[detectors.quarrel]\nmin_participants = 1",
            "detectors.quarrel.min_participants must be at least 2",
        ),
        ("[detectors.quarrel]\nwindow_seconds = -5", "detectors.quarrel.window_seconds must be at least 1"),
        ("[detectors.rumor]\nmin_chars = 0", "detectors.rumor.min_chars must be at least 1"),
    ],
)
def test_bad_config_exits_2(runner, tmp_path, toml, message_part):
    ws = tmp_path / "w"
    ws.mkdir()
    (ws / "auditor.toml").write_text(toml, encoding="utf-8")
    result = runner.invoke(cli, ["-w", str(ws), "init"])
    assert result.exit_code == 2
    assert message_part in result.output


def test_unexpected_failure_exits_1_without_traceback(runner, ws, tmp_path, monkeypatch):
    import auditor.ingest

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(auditor.ingest, "ingest", boom)
    result = runner.invoke(cli, ["-w", str(ws.root), "ingest", str(tmp_path)])
    assert result.exit_code == 1
    assert "unexpected failure" in result.output and "disk on fire" in result.output
    assert "Traceback" not in result.output


def _leaf_settings(table, prefix=""):
    for key, value in table.items():
        yield f"{prefix}{key}", value
        if isinstance(value, dict):
            yield from _leaf_settings(value, f"{prefix}{key}.")


WRONG_VALUES = [3, 1.5, True, "x", [3], ["x"], [[1]], [{"a": 1}], {"a": 1}]


def test_every_setting_given_a_wrong_type_is_exit_2_naming_it(tmp_path):
    """Every key of the defaults, every kind of TOML value: accepted, or an AuditorError naming the key."""
    from auditor.config import DEFAULTS, load_config
    from auditor.errors import AuditorError

    path = tmp_path / "auditor.toml"
    for key, _ in _leaf_settings(DEFAULTS):
        for value in WRONG_VALUES:
            # TOML dotted keys and inline values; JSON's spelling of these values is TOML's too
            path.write_text(f"{key} = {json.dumps(value).replace(': ', ' = ')}\n", encoding="utf-8")
            try:
                load_config(path)
            except AuditorError as exc:
                assert key.rsplit(".", 1)[-1] in str(exc), (key, value, str(exc))


def test_every_list_setting_declares_its_element_type():
    from auditor.config import DEFAULTS, LIST_ITEMS

    lists = {key for key, value in _leaf_settings(DEFAULTS) if isinstance(value, list)}
    assert lists == set(LIST_ITEMS)


# Every command that works on a workspace, with arguments that would otherwise get it going.
WORKSPACE_COMMANDS = [
    ["nightly"],
    ["pull"],
    ["pull", "--redecrypt"],
    ["ingest", "."],
    ["audit"],
    ["report"],
    ["backup", "create"],
    ["backup", "list"],
    ["backup", "verify", "--all"],
    ["backup", "prune", "--keep-daily", "1", "--keep-monthly", "1"],
    ["review", "list"],
    ["action", "list"],
    ["eval", "--labels", "labels.csv"],
    ["replay", "--since", "2026-11-16", "--until", "2026-11-16", "--out", "replay-out"],
]


@pytest.mark.parametrize("args", WORKSPACE_COMMANDS, ids=" ".join)
def test_a_mistyped_workspace_exits_2_and_creates_nothing(runner, tmp_path, args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nonexistent" / "ws"
    result = runner.invoke(cli, ["-w", str(missing), *args])
    assert result.exit_code == 2, result.output
    assert f"workspace {missing} does not exist" in result.output and "init" in result.output
    assert not (tmp_path / "nonexistent").exists()

    empty = tmp_path / "empty"  # a folder that exists but was never initialised
    empty.mkdir()
    result = runner.invoke(cli, ["-w", str(empty), *args])
    assert result.exit_code == 2 and "is not an auditor workspace" in result.output
    assert list(empty.iterdir()) == []


@pytest.mark.parametrize("args", [["nightly"], ["review", "list"]], ids=" ".join)
def test_no_workspace_option_does_not_create_the_default_folder(runner, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args, env={"AUDITOR_WORKSPACE": None})
    assert result.exit_code == 2 and "auditor-workspace does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`auditor review list | head`: the reader leaves; no "unexpected failure", no traceback."""
    import subprocess
    import sys

    from tests.report_fixture import build

    root = build(tmp_path).root
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "-w", str(root), "review", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line is written
    stderr = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=120) == 1
    assert stderr == ""
