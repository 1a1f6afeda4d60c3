"""The local keystore: a directory with a SQLite index and one key file per profile version.

Layout of ``CODESIGN_HOME``::

    index.sqlite3            profiles, jobs, code signing configs, functions, layers
                             (mode 0600, as its -wal and -shm files)
    keys/NAME/VERSION.pem    PKCS#8 private key, mode 0600 (encrypted with
                             CODESIGN_PASSPHRASE when set) in 0700 directories;
                             never a symbolic link, nor are its directories
    objects/SHA384.zip       code deployed to the local function registry
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from provider.backends.local import keys
from provider.backends.local.keys import refuse_symlink
from provider.backends.local.seals import mac_key
from provider.errors import KeystoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

HOME_ENV = "CODESIGN_HOME"
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
    revoked_by TEXT,
    target_path TEXT
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
    ("jobs", "target_path", "TEXT"),
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
    import platformdirs  # only when no keystore is named

    return Path(platformdirs.user_data_dir("lambda-codesign"))


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _refuse_exposed_dir(path)


def _refuse_exposed_dir(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeystoreError(
            f"keystore directory {str(path)!r} is accessible by other users (mode "
            f"{mode:04o}); fix it with: chmod 700 {path}"
        )


def _private_index(index: Path) -> None:
    """Create the index 0600 when it is new (SQLite gives its ``-wal`` and ``-shm`` files
    the index's own mode); refuse an index, ``-wal`` or ``-shm`` that other users can read
    or write (it holds the publishers' keys: whoever writes it adds a publisher)."""
    with suppress(FileExistsError):
        os.close(os.open(index, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _refuse_exposed_index(index)


def _refuse_exposed_index(index: Path) -> None:
    exposed: list[tuple[Path, int]] = []
    for path in (index, *(index.with_name(index.name + end) for end in ("-wal", "-shm"))):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            exposed.append((path, mode))
    if exposed:
        modes = ", ".join(f"{path.name} mode {mode:04o}" for path, mode in exposed)
        raise KeystoreError(
            f"keystore index {str(index)!r} is accessible by other users ({modes}); fix it "
            f"with: chmod 600 {' '.join(str(path) for path, _ in exposed)}"
        )


#: The most SQLite connections one keystore object opens (each holds two descriptors,
#: the index and its WAL; the shared-memory index is one per process).
POOL_SIZE = 8


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for db in connections:
        db.close()


def refuse_exposed(home: Path) -> None:
    """Raise the :class:`KeystoreError` opening the existing keystore ``home`` would when
    other users can reach it (its directory, key directory, index, ``-wal`` or ``-shm``),
    creating and changing nothing (for commands that only read, such as the audit)."""
    try:
        _refuse_exposed_dir(home)
        keys = home / "keys"
        if keys.is_dir() and not keys.is_symlink():
            _refuse_exposed_dir(keys)
        _refuse_exposed_index(home / "index.sqlite3")
    except OSError as exc:
        raise KeystoreError(f"cannot use keystore {str(home)!r}: {exc.strerror}") from None


class Keystore:
    """The on-disk state of the local backend.

    SQLite connections come from a small pool: each transaction borrows one and gives it
    back at its end, and at most :data:`POOL_SIZE` are ever open, however many threads
    use the keystore (a thread that finds them all borrowed waits for one). They stay
    open between transactions (opening one per operation cost a connection and, whenever
    the last one closed, a WAL checkpoint with its fsyncs). Reads take no write lock;
    writes are ``BEGIN IMMEDIATE``.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.index_path = home / "index.sqlite3"
        self.keys_dir = home / "keys"
        self.objects_dir = home / "objects"
        self._lock = threading.Lock()
        #: Every connection open (at most POOL_SIZE), and those not borrowed right now.
        self._connections: list[sqlite3.Connection] = []
        self._idle: list[sqlite3.Connection] = []
        self._opening = 0
        self._returned = threading.Condition(self._lock)
        #: The connection this thread has borrowed, if any (a nested use shares it).
        self._held = threading.local()
        self._done: set[str] = set()
        self._keys: dict[tuple[str, str], ec.EllipticCurvePrivateKey] = {}
        self._record_key: bytes | None = None
        self._pid = os.getpid()
        weakref.finalize(self, _close_all, self._connections)
        try:
            _make_private_dir(home)
            refuse_symlink(self.keys_dir, "the keystore's key directory")
            _make_private_dir(self.keys_dir)
            self.objects_dir.mkdir(exist_ok=True)
            _private_index(self.index_path)
        except OSError as exc:
            raise KeystoreError(f"cannot use keystore {str(home)!r}: {exc.strerror}") from None
        try:
            with self._borrowed() as db:
                db.executescript(_SCHEMA)  # its own transaction; idempotent
                _add_missing_columns(db)
        except sqlite3.DatabaseError as exc:
            raise KeystoreError(
                f"keystore index {str(self.index_path)!r} is unreadable or corrupt ({exc}); "
                "restore it from a backup or point --home at another keystore"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.index_path, timeout=60, isolation_level=None, check_same_thread=False
            )
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
    def _borrowed(self) -> Iterator[sqlite3.Connection]:
        """A connection of the pool for this thread until the block ends (a forked child
        opens its own; a block inside another on the same thread shares its connection)."""
        held: sqlite3.Connection | None = getattr(self._held, "db", None)
        if held is not None and os.getpid() == self._pid:
            yield held
            return
        db = self._take()
        self._held.db = db
        try:
            yield db
        finally:
            self._held.db = None
            self._give_back(db)

    def _take(self) -> sqlite3.Connection:
        with self._returned:
            if os.getpid() != self._pid:
                # The parent's connections are never used (nor closed) here.
                self._pid, self._held, self._opening = os.getpid(), threading.local(), 0
                self._connections.clear()
                self._idle.clear()
            while not self._idle and len(self._connections) + self._opening >= POOL_SIZE:
                self._returned.wait()
            if self._idle:
                return self._idle.pop()
            self._opening += 1
        opened: sqlite3.Connection | None = None
        try:
            opened = self._connect()
            return opened
        finally:
            with self._returned:
                self._opening -= 1
                if opened is not None:
                    self._connections.append(opened)
                self._returned.notify()

    def _give_back(self, db: sqlite3.Connection) -> None:
        if db.in_transaction:  # never: every transaction ends; but never lend one open
            db.rollback()
        with self._returned:
            if any(db is mine for mine in self._connections):  # not a parent's (fork)
                self._idle.append(db)
                self._returned.notify()

    def first_time(self, what: str) -> bool:
        """True once per keystore object for each ``what`` (e.g. a sweep done once a run)."""
        with self._lock:
            if what in self._done:
                return False
            self._done.add(what)
            return True

    @contextmanager
    def _transaction(self, begin: str, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._borrowed() as db:
            if not durable:
                # No fsync at this commit; the next durable one syncs the log up to it.
                db.execute("PRAGMA synchronous = NORMAL")
            try:
                db.execute(begin)
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
                if not durable:
                    db.execute("PRAGMA synchronous = FULL")

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): serialises writers across processes.

        ``durable=False`` skips the fsync at commit (a power loss may undo it; a process
        crash never does): for records a later durable commit completes anyway.
        """
        return self._transaction("BEGIN IMMEDIATE", durable=durable)

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction: one consistent snapshot, taking no write lock."""
        return self._transaction("BEGIN DEFERRED")

    def key_path(self, profile_name: str, version: str) -> Path:
        """Where a profile version's private key lives."""
        return self.keys_dir / profile_name / f"{version}.pem"

    def record_key(self) -> bytes:
        """The key of the keystore's seals (:mod:`.seals`), read once per keystore object."""
        with self._lock:
            if self._record_key is None:
                self._record_key = mac_key(self.keys_dir)
            return self._record_key

    def private_key(self, profile_name: str, version: str) -> ec.EllipticCurvePrivateKey:
        """A profile version's private key, read (and decrypted) once per keystore object."""
        with self._lock:
            key = self._keys.get((profile_name, version))
        if key is None:
            key = keys.load(self.key_path(profile_name, version), profile=profile_name)
            with self._lock:
                self._keys[(profile_name, version)] = key
        return key
