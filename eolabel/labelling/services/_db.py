"""Database helpers shared by the labelling services."""

from django.db import connection


def write_lock() -> None:
    """Take SQLite's write lock at the start of a transaction, before it reads anything; no-op elsewhere.

    In WAL mode SQLite refuses at once (no busy wait) to turn a transaction that has already read into a writer
    when another connection committed in between ("database is locked"). Writing first makes concurrent writers
    queue on the busy timeout instead, which serialises them. PostgreSQL needs nothing here: the services lock
    rows with SELECT ... FOR UPDATE and claim them with conditional UPDATEs."""
    if connection.vendor != "sqlite":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("write_lock() belongs inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE labelling_project SET id = id WHERE 0")
