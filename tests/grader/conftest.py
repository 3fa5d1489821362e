"""Fixtures shared by the grader's tests."""

from __future__ import annotations

import pytest
from pgserver import PostgresServer


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the gradebook tests, started once per test process and
    stopped at the end, also when tests fail (see pgserver.py)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
