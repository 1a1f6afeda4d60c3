"""The local keystore on disk: where it is, file modes, and encrypted private keys."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from provider.backends.jobs import JobFilter, Pagination
from provider.backends.local import LocalBackend
from provider.errors import KeystoreError, ValidationError
from provider.verdict import CscPolicy, Decision

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _key_file(home: Path, name: str, version: str) -> Path:
    return home / "keys" / name / f"{version}.pem"


def test_codesign_home_locates_the_keystore(home):
    LocalBackend().put_signing_profile("team_a", now=T0)

    assert (home / "index.sqlite3").is_file()
    assert LocalBackend(home).get_signing_profile("team_a")["status"] == "Active"


def test_an_explicit_home_wins_over_codesign_home(home, tmp_path):
    explicit = tmp_path / "explicit"

    LocalBackend(explicit).put_signing_profile("team_a", now=T0)

    assert (explicit / "index.sqlite3").is_file()
    assert not (home / "index.sqlite3").exists()


def test_private_keys_are_0600_in_0700_directories(backend, home):
    version = backend.put_signing_profile("team_a", now=T0)["profileVersion"]
    key = _key_file(home, "team_a", version)

    assert _mode(key) == 0o600
    assert _mode(home) == 0o700
    assert _mode(home / "keys") == 0o700
    assert _mode(key.parent) & 0o077 == 0
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_a_keystore_directory_readable_by_others_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)

    with pytest.raises(KeystoreError, match="chmod 700"):
        LocalBackend(shared)


def test_a_key_readable_by_others_is_refused(ks, home, make_zip):
    key = _key_file(home, "publisher", ks.profile["profileVersion"])
    os.chmod(key, 0o644)

    with pytest.raises(KeystoreError, match="chmod 600") as refused:
        ks.sign(make_zip())

    assert "publisher" in refused.value.message
    assert str(key) in refused.value.message


def test_a_missing_key_is_a_keystore_error(ks, home, make_zip):
    _key_file(home, "publisher", ks.profile["profileVersion"]).unlink()

    with pytest.raises(KeystoreError, match="missing"):
        ks.sign(make_zip())


def test_with_a_passphrase_the_key_is_encrypted_and_signing_works(
    home, make_zip, tmp_path, monkeypatch
):
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    backend = LocalBackend(home)
    profile = backend.put_signing_profile("secret", now=T0)
    pem = _key_file(home, "secret", profile["profileVersion"]).read_bytes()

    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    job = backend.sign_package(make_zip(), str(tmp_path / "out"), "secret", now=T0)
    assert job["status"] == "Succeeded"


def test_a_wrong_passphrase_is_a_keystore_error_naming_the_profile(
    home, make_zip, tmp_path, monkeypatch
):
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    LocalBackend(home).put_signing_profile("secret", now=T0)
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "battery staple")

    with pytest.raises(KeystoreError, match="'secret'") as refused:
        LocalBackend(home).sign_package(make_zip(), str(tmp_path / "out"), "secret", now=T0)

    assert "CODESIGN_PASSPHRASE" in refused.value.message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_job_that_cannot_read_its_key_ends_failed_with_the_reason(
    home, make_zip, tmp_path, monkeypatch
):
    # The job must not stay InProgress: a retry with the same client request token
    # returns that job (idempotency), and it must say why it failed.
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    backend = LocalBackend(home)
    backend.put_signing_profile("secret", now=T0)
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "battery staple")
    source, out = make_zip(), str(tmp_path / "out")
    with pytest.raises(KeystoreError):
        backend.sign_package(source, out, "secret", client_request_token="build-1", now=T0)
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")

    job = backend.sign_package(source, out, "secret", client_request_token="build-1", now=T0)

    assert job["status"] == "Failed"
    assert "cannot decrypt the private key of profile 'secret'" in job["statusReason"]
    assert backend.describe_signing_job(job["jobId"]) == job


def test_an_encrypted_key_without_passphrase_asks_for_it(home, make_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    LocalBackend(home).put_signing_profile("secret", now=T0)
    monkeypatch.delenv("CODESIGN_PASSPHRASE")

    with pytest.raises(KeystoreError, match="encrypted: set CODESIGN_PASSPHRASE"):
        LocalBackend(home).sign_package(make_zip(), str(tmp_path / "out"), "secret", now=T0)


def test_verification_needs_no_passphrase(home, make_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_PASSPHRASE", "correct horse")
    backend = LocalBackend(home)
    arn = backend.put_signing_profile("secret", now=T0)["profileVersionArn"]
    job = backend.sign_package(make_zip(), str(tmp_path / "out"), "secret", now=T0)
    monkeypatch.delenv("CODESIGN_PASSPHRASE")

    verdict = LocalBackend(home).evaluate_package(
        Path(job["signedObject"]["path"]), CscPolicy((arn,), "Enforce"), at=T0
    )
    assert verdict.decision is Decision.ALLOW


def test_a_corrupt_index_is_a_keystore_error(home):
    home.mkdir(mode=0o700)
    (home / "index.sqlite3").write_bytes(b"this is not a sqlite database" * 100)
    os.chmod(home / "index.sqlite3", 0o600)

    with pytest.raises(KeystoreError, match="corrupt"):
        LocalBackend(home)


def test_a_bad_region_names_the_field(home):
    with pytest.raises(ValidationError, match="region"):
        LocalBackend(home, region="mars-1")


# --- key files are the keystore's own, and the index is private ---------------------------


def _failed_job(ks, source: Path, token: str) -> dict:
    """The job a refused signing left behind (its client token returns it)."""
    return ks.sign(source, token=token)


def test_a_key_file_that_is_a_symbolic_link_is_refused(ks, home, make_zip):
    other = ks.add_profile("other")
    key = _key_file(home, "publisher", ks.profile["profileVersion"])
    key.unlink()
    key.symlink_to(_key_file(home, "other", other["profileVersion"]))
    source = make_zip()

    with pytest.raises(KeystoreError, match="symbolic link") as refused:
        ks.sign(source, token="t1")

    assert str(key) in refused.value.message and "'publisher'" in refused.value.message
    job = _failed_job(ks, source, "t1")
    assert job["status"] == "Failed" and "symbolic link" in job["statusReason"]
    assert "signedObject" not in job
    assert not (ks.workdir / "signed").exists() or not list((ks.workdir / "signed").iterdir())


def test_a_key_directory_that_is_a_symbolic_link_is_refused(ks, home, make_zip, tmp_path):
    directory = home / "keys" / "publisher"
    moved = tmp_path / "elsewhere"
    directory.rename(moved)
    directory.symlink_to(moved, target_is_directory=True)

    with pytest.raises(KeystoreError, match="key directory of profile 'publisher' is a symbolic"):
        LocalBackend(home).sign_package(make_zip(), str(tmp_path / "out"), "publisher", now=T0)


def test_a_new_profile_s_key_is_not_written_through_a_linked_directory(backend, home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (home / "keys" / "team_b").symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(KeystoreError, match="key directory is a symbolic link"):
        backend.put_signing_profile("team_b", now=T0)

    assert list(elsewhere.iterdir()) == []
    assert backend.list_signing_profiles()["profiles"] == []


def test_a_keys_directory_that_is_a_symbolic_link_is_refused(ks, home, tmp_path):
    moved = tmp_path / "keys-elsewhere"
    (home / "keys").rename(moved)
    (home / "keys").symlink_to(moved, target_is_directory=True)

    with pytest.raises(KeystoreError, match="key directory is a symbolic link") as refused:
        LocalBackend(home)

    assert str(home / "keys") in refused.value.message


def test_a_record_key_that_is_a_symbolic_link_is_refused(backend, home, tmp_path):
    elsewhere = tmp_path / "record.key"
    elsewhere.write_bytes(os.urandom(32))
    (home / "keys" / "record-mac.key").symlink_to(elsewhere)

    with pytest.raises(KeystoreError, match="record key is a symbolic link"):
        backend.store.record_key()


def test_a_key_swapped_for_another_profiles_key_fails_the_job_with_no_object(ks, home, make_zip):
    """A copy of another profile's key (not a link) loads and signs; the job must still
    fail, since its signature would not be the profile version's."""
    other = ks.add_profile("other")
    key = _key_file(home, "publisher", ks.profile["profileVersion"])
    key.write_bytes(_key_file(home, "other", other["profileVersion"]).read_bytes())
    source = make_zip()

    with pytest.raises(KeystoreError, match="is not the key of profile version") as refused:
        ks.sign(source, token="swap")

    assert str(key) in refused.value.message
    job = _failed_job(ks, source, "swap")
    assert job["status"] == "Failed"
    assert "is not the key of profile version" in job["statusReason"]
    assert "signedObject" not in job
    assert not (ks.workdir / "signed").exists() or not list((ks.workdir / "signed").iterdir())
    listed = ks.backend.list_signing_jobs(JobFilter(), Pagination())["jobs"]
    assert [j["status"] for j in listed] == ["Failed"]


def test_a_new_index_and_its_log_are_private(backend, home):
    backend.put_signing_profile("team_a", now=T0)

    files = [p for p in home.iterdir() if p.name.startswith("index.sqlite3")]
    assert home / "index.sqlite3" in files
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("index.sqlite3", 0o644),
        ("index.sqlite3", 0o660),
        ("index.sqlite3", 0o602),
        ("index.sqlite3-wal", 0o644),
        ("index.sqlite3-shm", 0o640),
    ],
)
def test_an_index_other_users_can_read_or_write_is_refused(backend, home, name, mode):
    backend.put_signing_profile("team_a", now=T0)
    path = home / name
    path.touch()
    os.chmod(path, mode)

    with pytest.raises(KeystoreError, match="accessible by other users") as refused:
        LocalBackend(home)

    assert f"{name} mode {mode:04o}" in refused.value.message
    assert refused.value.message.endswith(f"fix it with: chmod 600 {path}")


def _index_fds(home: Path) -> int:
    """This process's open descriptors on the keystore index and its WAL."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(home / "index.sqlite3"))
    return count


def test_connections_stay_bounded_however_many_threads_use_the_keystore(backend, home):
    """A thread per request (as ``sam-ext serve`` has) once left a connection per thread
    open for the keystore's lifetime; the pool keeps at most POOL_SIZE, all released."""
    import threading

    from provider.backends.local.store import POOL_SIZE

    backend.put_signing_profile("team_a", now=T0)
    start = threading.Barrier(20)

    def reads() -> None:
        start.wait()
        for _ in range(5):
            backend.get_signing_profile("team_a")

    for _ in range(10):  # 200 threads, 20 at a time, each gone after its reads
        threads = [threading.Thread(target=reads) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # Each connection holds the index and its WAL; the shared-memory file is one.
    assert _index_fds(home) <= 2 * POOL_SIZE + 1
    assert len(backend.store._connections) <= POOL_SIZE


def test_a_connection_is_given_back_after_an_error_inside_a_transaction(backend, home):
    from provider.backends.local.store import POOL_SIZE

    for _ in range(3 * POOL_SIZE):
        with pytest.raises(KeystoreError), backend.store.transaction() as db:
            db.execute("SELECT * FROM no_such_table")
        with pytest.raises(ZeroDivisionError), backend.store.read():
            _ = 1 / 0
    assert backend.list_signing_profiles()["profiles"] == []  # a connection is free
    assert len(backend.store._idle) == len(backend.store._connections) <= POOL_SIZE
