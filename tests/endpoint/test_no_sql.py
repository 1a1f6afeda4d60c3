"""The endpoint's handlers hold no SQL: the endpoint's records are read and written by
the repository methods of :mod:`provider.endpoint.state`, jobs and profiles by the local
backend (issue 21: "no SQL in handlers")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENDPOINT = Path(__file__).resolve().parents[2] / "provider" / "endpoint"
#: The one module of the endpoint that holds its records' SQL.
REPOSITORY = "state.py"
_SQL = re.compile(
    r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+TABLE|DROP\s+TABLE)\b",
)
_DB_CALLS = {"execute", "executemany", "executescript", "transaction"}


def sql_in(source: str) -> list[str]:
    """Each string literal that is an SQL statement, and each call of a database
    connection's ``execute`` (or a keystore's ``transaction``), by line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _SQL.search(node.value):
                found.append((node.lineno, repr(node.value[:40])))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _DB_CALLS
        ):
            found.append((node.lineno, f".{node.func.attr}(...)"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_the_finder_finds_statements_and_database_calls() -> None:
    source = (
        'db.execute("SELECT principal FROM profile_permissions WHERE owner = ?")\n'
        'x = ("INSERT INTO job_requests (job_id) " "VALUES (?)")\n'
        'y = f"DELETE FROM {table}"\n'
        'z = "UPDATE jobs SET status = ?"\n'
        "with state.transaction() as db: pass\n"
        'kinds = ("CREATE", "UPDATE", "UPDATE_COMPLETE", "select a profile from the list")\n'
    )
    assert sql_in(source) == [
        "1: 'SELECT principal FROM profile_permission'",
        "1: .execute(...)",
        "2: 'INSERT INTO job_requests (job_id) VALUES'",
        "3: 'DELETE FROM '",
        "4: 'UPDATE jobs SET status = ?'",
        "5: .transaction(...)",
    ]


def test_no_endpoint_module_but_its_state_holds_sql() -> None:
    found = {
        path.name: sql_in(path.read_text())
        for path in sorted(ENDPOINT.glob("*.py"))
        if path.name != REPOSITORY
    }
    assert {name: lines for name, lines in found.items() if lines} == {}


def test_the_state_module_holds_the_endpoints_records() -> None:
    """(So the test above is not vacuous: the statements live somewhere it can see.)"""
    assert len(sql_in((ENDPOINT / REPOSITORY).read_text())) > 10


def test_the_job_runner_leaves_each_status_to_the_local_signer() -> None:
    """endpoint/jobs.py keeps no second job state machine: it names no status and ends a
    job only through the local signer's run_job and fail_job."""
    tree = ast.parse((ENDPOINT / "jobs.py").read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    called = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "JobStatus" not in names
    assert {"run_job", "fail_job"} <= called
    assert not called & {"open_job", "_finish", "adopt_served_job", "fail_interrupted_jobs"}
