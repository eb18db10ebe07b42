"""The local MLflow SQLite store as a file: its lock, its schema check, moving it.

- :func:`store_lock` is an inter-process lock per store. MLflow creates and migrates a fresh
  SQLite file in whichever process opens it first, and two processes doing so at once break the
  file (``table _alembic_tmp_tags already exists``); under the lock one does it, the others wait
  and find it done. The registry moves the ``candidate`` alias under the same lock.
- :func:`check_schema` refuses, before MLflow touches it, a store that a migration left half
  done, with one line naming the file to move aside.
- MLflow writes artifact locations as absolute ``file://`` URIs (it resolves them when an
  experiment, run or model is created; a relative location is not kept), so a copied
  ``results/`` still points at the folder it was copied from. :func:`warn_if_artifacts_elsewhere`
  says so at setup; :func:`rebase_artifacts` (``python -m experiments.move_store DB OLD NEW``)
  points the copied store's records at its own artifact folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
import tempfile
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import mlflow
from mlflow.store.db.utils import _get_latest_schema_revision

__all__ = [
    "ARTIFACT_URI_COLUMNS",
    "ArtifactLocationWarning",
    "StoreError",
    "check_schema",
    "rebase_artifacts",
    "sqlite_path",
    "store_lock",
    "warn_if_artifacts_elsewhere",
]

# where MLflow 3.17 keeps absolute artifact URIs (table, column); tests/test_store_concurrency.py
# checks that no text cell of a rebased store still names the old root, so a column a later
# MLflow adds shows up there
ARTIFACT_URI_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)


class StoreError(RuntimeError):
    """The SQLite store file cannot be used as it is (half-migrated, not a database)."""


class ArtifactLocationWarning(UserWarning):
    """The store's experiment keeps its artifacts outside the configured artifact folder."""


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (``None`` for other stores)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive inter-process lock on the tracking store ``uri``.

    A SQLite store is locked through ``<db>.lock`` next to the file, so every process that
    writes the file shares the lock. Any other store (a server), or a SQLite store in a folder
    this process cannot write (a store opened to read), is locked through a file in the temp
    folder named after it: that serialises the processes of one machine (a sweep), not those of
    several machines.
    """
    db = sqlite_path(uri)
    if db is None:
        handle = open(_machine_lock_path(uri), "a")
    else:
        db.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(db.with_name(db.name + ".lock"), "a")
        except OSError:  # a folder this process cannot write: it only reads the store
            handle = open(_machine_lock_path(str(db.resolve())), "a")
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the kernel drops it if the process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _machine_lock_path(key: str) -> Path:
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"plantrl-mlflow-{digest}.lock"


def _tables_and_revisions(db: Path) -> tuple[set[str], list[str]]:
    """Table names and alembic revisions of a SQLite file, read without writing to it."""
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as con:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
            revisions = []
            if "alembic_version" in tables:
                revisions = [
                    row[0] for row in con.execute("SELECT version_num FROM alembic_version")
                ]
    except sqlite3.DatabaseError as err:
        raise StoreError(
            f"tracking store {db} is not a readable SQLite database ({err}); move it aside "
            f"(mv {db} {db}.broken) and a new store is created at the next run"
        ) from err
    return tables, revisions


def check_schema(db: Path) -> None:
    """Refuse a SQLite store that a migration left half done; call it before MLflow opens it.

    An absent or empty file is fine (MLflow creates it). A store with tables must carry MLflow's
    head schema revision and no ``_alembic_tmp_*`` table, which alembic leaves when a migration
    dies between copying a table and renaming the copy.

    Raises:
        StoreError: with the ``mv`` command that moves the file aside.
    """
    if not db.exists() or db.stat().st_size == 0:
        return
    tables, revisions = _tables_and_revisions(db)
    if not tables:
        return
    leftovers = sorted(t for t in tables if t.startswith("_alembic_tmp_"))
    head = _get_latest_schema_revision()
    if leftovers or revisions != [head]:
        found = f"tables {', '.join(leftovers)}" if leftovers else f"schema revision {revisions}"
        raise StoreError(
            f"tracking store {db} is half-migrated ({found}; MLflow {mlflow.__version__} "
            f"expects revision {head}): move it aside (mv {db} {db}.broken) and a new store is "
            "created at the next run; if it holds runs of an older MLflow, run "
            f"`mlflow db upgrade sqlite:///{db}` on a backup instead"
        )


def _local_path(uri: str) -> Path | None:
    """Local path of a ``file:`` URI or a plain path (``None`` for remote artifact stores)."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    return Path(uri) if parsed.scheme == "" else None


def warn_if_artifacts_elsewhere(experiment: str, stored: str, configured: Path, db: Path) -> None:
    """Warn when a copied or moved store still writes artifacts to another absolute folder.

    Args:
        experiment: experiment name, for the message.
        stored: the experiment's artifact location as the store holds it.
        configured: ``tracking.artifact_location`` of this checkout.
        db: the store file, for the message.
    """
    stored_path = _local_path(stored)
    if stored_path is None or stored_path.resolve() == configured.resolve():
        return
    warnings.warn(
        f"MLflow experiment {experiment!r} in {db} keeps its artifacts in {stored_path}, not in "
        f"the configured {configured}: the store was copied or moved, and new artifacts go to "
        f"the old folder. If {configured} holds the copied artifacts, point the store at it: "
        f"python -m experiments.move_store {db} {stored_path} {configured}",
        ArtifactLocationWarning,
        stacklevel=3,
    )


def rebase_artifacts(db: Path, old_root: Path, new_root: Path) -> int:
    """Point every artifact URI under ``old_root`` in the store ``db`` at ``new_root``.

    The files are not moved: copy or move ``results/`` as a whole first. Runs in one transaction
    under the store lock.

    Returns:
        The number of records rewritten.

    Raises:
        StoreError: no store at ``db``, a relative ``old_root``, or a half-migrated store.
    """
    if not db.is_file():
        raise StoreError(f"no tracking store at {db}: give the copied mlflow.db")
    if not old_root.is_absolute():
        raise StoreError(f"old artifact root {old_root} must be the absolute path the store names")
    old, new = old_root.as_uri(), new_root.resolve().as_uri()
    rewritten = 0
    with store_lock(f"sqlite:///{db}"):
        check_schema(db)
        with closing(sqlite3.connect(db)) as con, con:  # one transaction
            for table, column in ARTIFACT_URI_COLUMNS:
                # the root itself or a path below it; not a sibling folder sharing the prefix
                cursor = con.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                    f"WHERE {column} = ? OR substr({column}, 1, ?) = ?",
                    (new, len(old) + 1, old, len(old) + 1, old + "/"),
                )
                rewritten += cursor.rowcount
    return rewritten
