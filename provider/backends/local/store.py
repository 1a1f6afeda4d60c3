"""The local keystore: a directory with a SQLite index and one key file per profile version.

Layout of ``CODESIGN_HOME``::

    index.sqlite3            profiles, jobs, code signing configs, functions, layers
    keys/NAME/VERSION.pem    PKCS#8 private key, mode 0600 (encrypted with
                             CODESIGN_PASSPHRASE when set) in 0700 directories
    objects/SHA384.zip       code deployed to the local function registry
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

from provider.errors import KeystoreError

HOME_ENV = "CODESIGN_HOME"
PASSPHRASE_ENV = "CODESIGN_PASSPHRASE"
REGION_ENV = "CODESIGN_REGION"
#: The local backend's account id: fixed, so ARNs have AWS's shape.
LOCAL_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    validity_value INTEGER NOT NULL,
    validity_type TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    created_at TEXT NOT NULL,
    public_key TEXT NOT NULL,
    revocation_effective_from TEXT,
    revoked_at TEXT,
    revoked_by TEXT,
    tags TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    client_token TEXT UNIQUE,
    profile_name TEXT NOT NULL,
    profile_version TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    signature_expires_at TEXT,
    source_path TEXT NOT NULL,
    signed_path TEXT,
    pid INTEGER NOT NULL,
    revocation_reason TEXT,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE TABLE IF NOT EXISTS code_signing_configs (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    allowed TEXT NOT NULL,
    policy TEXT NOT NULL,
    last_modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layers (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    location TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    csc_arn TEXT,
    code_location TEXT NOT NULL,
    code_digest TEXT NOT NULL,
    layers TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    last_verdict TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    configuration TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '{}',
    published_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deployments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    function_name TEXT NOT NULL,
    operation TEXT NOT NULL,
    at TEXT NOT NULL,
    decision TEXT NOT NULL,
    verdict TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    function_name TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
#: Columns added since the first keystores: ``(table, column, definition)``, added to an
#: older index when it is opened (SQLite's CREATE TABLE IF NOT EXISTS leaves it as it was).
_ADDED_COLUMNS = (
    ("layers", "settings", "TEXT NOT NULL DEFAULT '{}'"),
    ("layers", "deleted", "INTEGER NOT NULL DEFAULT 0"),
    ("functions", "configuration", "TEXT NOT NULL DEFAULT '{}'"),
    ("functions", "tags", "TEXT NOT NULL DEFAULT '{}'"),
    ("functions", "published_version", "INTEGER NOT NULL DEFAULT 0"),
)


def _missing_columns(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    present: dict[str, set[str]] = {}
    for table, _, _ in _ADDED_COLUMNS:
        if table not in present:
            present[table] = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
    return [entry for entry in _ADDED_COLUMNS if entry[1] not in present[entry[0]]]


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring an older index up to date (once: later opens find nothing missing)."""
    if not _missing_columns(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for table, column, definition in _missing_columns(db):  # again: another process
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The keystore directory: ``explicit``, else ``$CODESIGN_HOME``, else the user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(HOME_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir("lambda-codesign"))


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeystoreError(
            f"keystore directory {str(path)!r} is accessible by other users (mode "
            f"{mode:04o}); fix it with: chmod 700 {path}"
        )


class Keystore:
    """The on-disk state of the local backend. Cheap to open; opens SQLite per operation."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.index_path = home / "index.sqlite3"
        self.keys_dir = home / "keys"
        self.objects_dir = home / "objects"
        try:
            _make_private_dir(home)
            _make_private_dir(self.keys_dir)
            self.objects_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise KeystoreError(f"cannot use keystore {str(home)!r}: {exc.strerror}") from None
        db = self._connect()
        try:
            db.executescript(_SCHEMA)  # runs in its own transaction; idempotent
            _add_missing_columns(db)
        except sqlite3.DatabaseError as exc:
            raise KeystoreError(
                f"keystore index {str(self.index_path)!r} is unreadable or corrupt ({exc}); "
                "restore it from a backup or point --home at another keystore"
            ) from None
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.index_path, timeout=60, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA journal_mode = WAL")
            return db
        except sqlite3.DatabaseError as exc:
            raise KeystoreError(
                f"keystore index {str(self.index_path)!r} is unreadable or corrupt ({exc}); "
                "restore it from a backup or point --home at another keystore"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): serialises writers across processes."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise KeystoreError(
                f"keystore index {str(self.index_path)!r} failed: {exc}; if it is corrupt, "
                "restore it from a backup or point --home at another keystore"
            ) from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def key_path(self, profile_name: str, version: str) -> Path:
        """Where a profile version's private key lives."""
        return self.keys_dir / profile_name / f"{version}.pem"
