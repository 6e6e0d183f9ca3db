"""The console's local accounts in ``W/users.sqlite``: name, role and an Argon2 password hash.

Kept apart from the ledger: accounts change (a new password, a role taken away) while the ledger
only grows. A user name is the person's WeCom userid where they have one, so an owner's account
finds their groups (group owner and admins in the lake) and WeCom sign-in finds the account.
The file also keeps the key that signs session cookies, so a restart keeps people signed in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import secrets
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auditor.atomic import fsync_dir
from auditor.errors import AuditorError
from auditor.workspace import USERS_FILE

ROLES = ("officer", "owner", "hr", "viewer")
MIN_PASSWORD = 10
# WeCom userids are letters, digits and _ - . @ (at most 64); an account name follows the same rule,
# so a name is never markup or a path
NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")

SCHEMA = """
CREATE TABLE users (
    name     TEXT PRIMARY KEY,
    role     TEXT NOT NULL CHECK (role IN ('officer', 'owner', 'hr', 'viewer')),
    password TEXT NOT NULL,            -- Argon2id hash, '' for an account that signs in through WeCom only
    created  TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE saved_filters (            -- a reviewer's named queue filters (the query string)
    owner TEXT NOT NULL,                -- the account (removed with it)
    name  TEXT NOT NULL,
    query TEXT NOT NULL,
    PRIMARY KEY (owner, name)
);
"""

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs the same time as a wrong
    password; made on the first sign-in, not at import (every CLI run would pay for it)."""
    return _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    name: str
    role: str


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AuditorError(
            f"user name {name!r} must be 1-64 letters, digits or _ - . @ (the person's WeCom userid)"
        )
    return name


def _create(path: Path) -> None:
    """Built under a temporary name and linked into place: the file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)  # mode 0600
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('session_key', ?)", (secrets.token_urlsafe(48),))
        finally:
            db.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # a concurrent creator won: theirs stands
            os.link(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


class UserStore:
    """Accounts of one workspace; every change is one SQLite transaction."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / USERS_FILE
        if not self.path.exists():
            _create(self.path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("SELECT count(*) FROM users").fetchone()
        except sqlite3.DatabaseError as exc:
            raise AuditorError(f"{self.path} is not the console's account file ({exc})", 65) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> UserStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session_key(self) -> str:
        return self.db.execute("SELECT value FROM meta WHERE key = 'session_key'").fetchone()[0]

    def add(self, name: str, role: str, password: str | None) -> User:
        """A new account; ``password`` None makes one that signs in only through WeCom."""
        check_name(name)
        if role not in ROLES:
            raise AuditorError(f"role must be one of {', '.join(ROLES)}")
        if password is not None and len(password) < MIN_PASSWORD:
            raise AuditorError(f"the password needs at least {MIN_PASSWORD} characters")
        digest = _hasher.hash(password) if password is not None else ""
        try:
            self.db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?)",
                (name, role, digest, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
            )
        except sqlite3.IntegrityError:
            raise AuditorError(f"user {name} already exists") from None
        return User(name, role)

    def remove(self, name: str) -> None:
        """Delete an account; a session of it ends at its next request (``auth.signed_in``)."""
        with self.db:
            self.db.execute("DELETE FROM saved_filters WHERE owner = ?", (name,))
            if self.db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AuditorError(f"no user {name}")

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AuditorError(f"the password needs at least {MIN_PASSWORD} characters")
        if (
            self.db.execute(
                "UPDATE users SET password = ? WHERE name = ?", (_hasher.hash(password), name)
            ).rowcount
            == 0
        ):
            raise AuditorError(f"no user {name}")

    def save_filter(self, owner: str, name: str, query: str) -> None:
        """Keep (or replace) a named queue filter for ``owner``."""
        name = " ".join(name.split())[:60]
        if not name:
            raise AuditorError("a saved filter needs a name")
        self.db.execute("INSERT OR REPLACE INTO saved_filters VALUES (?, ?, ?)", (owner, name, query[:2000]))

    def delete_filter(self, owner: str, name: str) -> None:
        self.db.execute("DELETE FROM saved_filters WHERE owner = ? AND name = ?", (owner, name))

    def filters(self, owner: str) -> list[tuple[str, str]]:
        return self.db.execute(
            "SELECT name, query FROM saved_filters WHERE owner = ? ORDER BY name", (owner,)
        ).fetchall()

    def get(self, name: str) -> User | None:
        row = self.db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def all(self) -> list[User]:
        return [User(*r) for r in self.db.execute("SELECT name, role FROM users ORDER BY name")]

    def authenticate(self, name: str, password: str) -> User | None:
        """The account when the password is right, else None (unknown names included)."""
        row = self.db.execute("SELECT name, role, password FROM users WHERE name = ?", (name,)).fetchone()
        digest = row[2] if row and row[2] else _dummy_hash()
        try:
            _hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row[0], row[1]) if row and row[2] else None
