"""Loopback plumbing for benchmarks: a throwaway database and Django's threaded WSGI server on 127.0.0.1."""

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database of the configured engine, dropped afterwards; yields a description.
    SQLite gets a temporary *file* (WAL, as in production) rather than Django's in-memory test database, so
    that each server thread has its own connection and concurrent writers meet SQLite's real locking."""
    connection = connections["default"]
    old_name = connection.settings_dict["NAME"]
    old_test = dict(connection.settings_dict.get("TEST") or {})
    with tempfile.TemporaryDirectory(prefix="eolabel-bench-db-") as tmp:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"] = {**old_test, "NAME": str(Path(tmp) / "bench.sqlite3")}
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield database_description()
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            connection.settings_dict["TEST"] = old_test


def database_description() -> str:
    connection = connections["default"]
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version} (file {connection.settings_dict['NAME']})"
    return f"{connection.display_name} ({connection.vendor}, database {connection.settings_dict['NAME']})"


class _QuietHandler(WSGIRequestHandler):
    disable_nagle_algorithm = True  # wsgiref's small writes would otherwise meet delayed ACKs (~40 ms)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextmanager
def loopback_server() -> Iterator[int]:
    """Django's threaded WSGI server (one thread per connection, as ``runserver``) on a free 127.0.0.1 port, in a
    thread of this process; yields the port. Each request thread uses its own database connection."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="bench-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
