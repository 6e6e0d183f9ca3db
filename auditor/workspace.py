"""The workspace folder W and where each stage keeps its files (see DESIGN.md)."""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from auditor import atomic  # not lake (pyarrow): the methods reading it import it, see groups()
from auditor.config import DEFAULT_TOML, load_config
from auditor.errors import AuditorError
from auditor.lock import workspace_lock

DEFAULT_WORKSPACE = "./auditor-workspace"
USERS_FILE = "users.sqlite"  # the review console's accounts (auditor/console/users.py)


@dataclass
class Workspace:
    root: Path
    _config: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Absolute once, here: every path below derives from it, so a relative -w never gets
        # joined to itself (W/W/backups) and no later chdir changes where a stage writes.
        self.root = Path(self.root).expanduser().resolve()

    @property
    def config_path(self) -> Path:
        return self.root / "auditor.toml"

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.config["timezone"])

    lake = property(lambda self: self.root / "lake")
    messages_dir = property(lambda self: self.lake / "messages")
    findings_dir = property(lambda self: self.lake / "findings")
    groups_dir = property(lambda self: self.lake / "groups")
    members_dir = property(lambda self: self.lake / "members")
    roster_dir = property(lambda self: self.lake / "roster")
    files_dir = property(lambda self: self.lake / "files")  # one JSON per ingested file content
    rejects_dir = property(lambda self: self.root / "rejects")
    # input files too big to read (<sha256>.json) and pulled records not yet decryptable (*.jsonl)
    quarantine_dir = property(lambda self: self.root / "quarantine")
    reports_dir = property(lambda self: self.root / "reports")
    backups_dir = property(lambda self: self.root / "backups")
    inbox_dir = property(lambda self: self.root / "inbox")
    runs_dir = property(lambda self: self.root / "runs")
    logs_dir = property(lambda self: self.root / "logs")
    dictionaries_dir = property(lambda self: self.root / "dictionaries")
    ledger_path = property(lambda self: self.root / "ledger.sqlite")
    users_path = property(lambda self: self.root / USERS_FILE)  # the review console's accounts
    state_dir = property(lambda self: self.root / "state")
    attention_dir = property(lambda self: self.state_dir / "attention")  # input problems not acknowledged
    msgid_index_path = property(lambda self: self.state_dir / "msgids")  # a folder of hash files
    # the inbox files' SHA-256 by their stat, so each is hashed once (auditor/inbox_digests.py)
    inbox_digests_path = property(lambda self: self.state_dir / "inbox-digests.json")
    media_dir = property(lambda self: self.root / "media")  # pulled media files by SHA-256
    lock_path = property(lambda self: self.root / ".lock")

    # Folders that only runs holding the workspace lock write to (the backup store may be shared).
    locked_folders = property(
        lambda self: (
            self.lake,
            self.reports_dir,
            self.runs_dir,
            self.state_dir,
            self.rejects_dir,
            self.quarantine_dir,
            self.media_dir,
        )
    )

    def require(self) -> None:
        """Fail (exit 2) unless ``auditor init`` made this workspace: a mistyped -w must not
        quietly start an empty workspace and report "nothing new" every night."""
        if not self.config_path.is_file():
            what = "is not an auditor workspace (no auditor.toml)" if self.root.exists() else "does not exist"
            where = self.root.absolute()  # cron's working folder is rarely the one the operator thinks
            raise AuditorError(
                f"workspace {where} {what}: check -w/--workspace or AUDITOR_WORKSPACE, "
                f"or create it with `auditor -w {where} init`"
            )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the workspace lock (exit 75 if another run has it), first clearing the temporaries
        a killed run left behind; under the lock no live writer can still be using them."""
        with workspace_lock(self.lock_path):
            for folder in self.locked_folders:
                atomic.remove_stale_temps(folder)
            yield

    def groups(self) -> dict[str, dict[str, Any]]:
        """Group facts by room id, from the lake."""
        # Imported here: the command line imports this module before it knows its command, and
        # ingest starts its decoding workers' fork server before it imports pyarrow (0.14 s sooner).
        from auditor import lake

        table = lake.read_single(self.groups_dir / "groups.parquet", lake.GROUP_SCHEMA)
        return {g["roomid"]: g for g in table.to_pylist()}

    def members(self) -> list[dict[str, Any]]:
        from auditor import lake

        return lake.read_single(self.members_dir / "members.parquet", lake.MEMBER_SCHEMA).to_pylist()

    def roster(self) -> dict[str, dict[str, Any]]:
        """The HR roster by user id, from the lake."""
        from auditor import lake

        table = lake.read_single(self.roster_dir / "roster.parquet", lake.ROSTER_SCHEMA)
        return {p["userid"]: p for p in table.to_pylist()}

    def init(self) -> list[Path]:
        """Create the folders and a commented auditor.toml; returns what was created."""
        created = []
        for folder in (self.messages_dir, self.rejects_dir, self.inbox_dir, self.dictionaries_dir):
            if not folder.exists():
                folder.mkdir(parents=True)
                created.append(folder)
        if not self.config_path.exists():
            atomic.write_text(self.config_path, DEFAULT_TOML)
            created.append(self.config_path)
        return created
