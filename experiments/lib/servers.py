"""Throwaway tracking servers on loopback: a PostgreSQL cluster and an ``mlflow server``.

Used by the server tests (``tests/test_tracking_servers.py``) and the sweeps benchmark
(``experiments/benchmarks/sweeps.py``); README "Running on a cluster" gives the same commands
for a real deployment.

    with postgres_cluster() as pg, mlflow_server(pg.uri, artifacts, log) as server:
        ...  # python -m experiments.train tracking=server tracking.uri={server.url}

| helper | does |
| --- | --- |
| :func:`start_postgres` | ``initdb``, ``pg_ctl start`` on 127.0.0.1:<free port>, ``createdb`` |
| :func:`stop_postgres` | ``pg_ctl stop -m fast``, the cluster's folder removed |
| :func:`start_mlflow_server` | ``mlflow server`` on 127.0.0.1:<free port>, waits for ``/health`` |
| :func:`stop_mlflow_server` | SIGTERM to its process group (SIGKILL after a timeout) |

- PostgreSQL refuses to run as root, so under root ``initdb`` and ``pg_ctl`` run as the
  ``postgres`` user (``runuser``) on a folder it owns, made in the system temp folder (a
  pytest ``tmp_path`` is private to root and ``postgres`` could not enter it). Authentication
  is ``trust``: the cluster listens on loopback only and lives as long as a test session.
- The MLflow server proxies artifacts (``--serve-artifacts --artifacts-destination``):
  experiments get ``mlflow-artifacts:/`` locations and jobs upload through HTTP, so a job on
  another machine writes artifacts without mounting the artifact folder.
- Both helpers raise :class:`ServerError` with one line (the missing binary, the log's last
  lines) instead of a half-started server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PG_BIN",
    "MlflowServer",
    "PostgresCluster",
    "ServerError",
    "free_port",
    "mlflow_server",
    "postgres_cluster",
    "start_mlflow_server",
    "start_postgres",
    "stop_mlflow_server",
    "stop_postgres",
]

PG_BIN = Path(os.environ.get("PLANTRL_PG_BIN", "/usr/lib/postgresql/15/bin"))  # Debian's layout
PG_USER = "postgres"  # the OS user that owns the cluster under root, and the database superuser
# a first start migrates a fresh store (≈ 10 s on a busy 2-core machine); a minute is generous
START_TIMEOUT_S = 60.0


class ServerError(RuntimeError):
    """A server could not be started (a binary is missing, it exited, it never answered)."""


@dataclass(frozen=True)
class PostgresCluster:
    """A running throwaway PostgreSQL cluster.

    Attributes:
        root: folder holding the data dir, the unix socket and ``postgres.log``; removed on stop.
        port: TCP port on 127.0.0.1.
        database: the database created for MLflow.
    """

    root: Path
    port: int
    database: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def uri(self) -> str:
        """SQLAlchemy URI of the database (``mlflow server --backend-store-uri``)."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{self.database}"


@dataclass(frozen=True)
class MlflowServer:
    """A running ``mlflow server`` subprocess (its own process group).

    Attributes:
        process: the ``mlflow server`` process.
        url: ``http://127.0.0.1:<port>``, what ``tracking.uri`` takes.
        backend_store_uri: the store behind it (``sqlite:///…`` or ``postgresql://…``).
        artifacts: the folder artifacts are proxied to.
        log: the server's stdout and stderr.
    """

    process: subprocess.Popen[bytes]
    url: str
    backend_store_uri: str
    artifacts: Path
    log: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_tool(name: str) -> str:
    path = PG_BIN / name
    if not path.is_file():
        raise ServerError(
            f"PostgreSQL's {name} is not at {path}: install it (apt-get install postgresql) or "
            "set PLANTRL_PG_BIN to the folder holding initdb, pg_ctl and createdb"
        )
    return str(path)


def _as_cluster_owner(command: Sequence[str]) -> list[str]:
    """``command`` run as the ``postgres`` user if this process is root (postgres refuses root)."""
    if os.geteuid() != 0:
        return list(command)
    if shutil.which("runuser") is None:
        raise ServerError("running as root needs runuser (util-linux) to start PostgreSQL")
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        raise ServerError(
            f"running as root needs the OS user {PG_USER!r} to own the cluster (Debian's "
            "postgresql package creates it)"
        ) from None
    return ["runuser", "-u", PG_USER, "--", *command]


def _run(command: Sequence[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServerError(f"{what} failed ({proc.returncode}): {tail[0]}")


def _server_settings(port: int, socket_dir: Path, durable: bool) -> str:
    settings = [
        "-c listen_addresses=127.0.0.1",
        f"-p {port}",
        f"-c unix_socket_directories={socket_dir}",
        "-c max_connections=200",  # 16+ writers, each MLflow worker keeps a pool of 5 (+10)
    ]
    if not durable:  # a test store: no fsync, a crash loses it and nobody minds
        settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    return " ".join(settings)


def start_postgres(database: str = "mlflow", durable: bool = True) -> PostgresCluster:
    """Initialise and start a PostgreSQL cluster on 127.0.0.1 and create ``database``.

    Args:
        database: name of the database to create.
        durable: keep PostgreSQL's defaults (fsync on). ``False`` trades crash safety for
            speed, for test stores.

    Raises:
        ServerError: a binary is missing, or initdb/pg_ctl/createdb failed (with their line).
    """
    initdb, pg_ctl, createdb = (_pg_tool(n) for n in ("initdb", "pg_ctl", "createdb"))
    _as_cluster_owner([])  # the owner exists, before a folder is made for it
    root = Path(tempfile.mkdtemp(prefix="plantrl-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER, PG_USER)
    cluster = PostgresCluster(root=root, port=free_port(), database=database)
    try:
        init = [initdb, "-D", str(cluster.data_dir), "-A", "trust", "-U", PG_USER]
        _run(_as_cluster_owner([*init, "-E", "UTF8", "--locale=C", "--no-sync"]), "initdb")
        options = _server_settings(cluster.port, root, durable)
        start = [pg_ctl, "-D", str(cluster.data_dir), "-l", str(cluster.log), "-o", options]
        _run(_as_cluster_owner([*start, "-w", "-t", str(int(START_TIMEOUT_S)), "start"]), "pg_ctl")
        _run(
            [createdb, "-h", "127.0.0.1", "-p", str(cluster.port), "-U", PG_USER, database],
            "createdb",
        )
    except BaseException:
        stop_postgres(cluster)
        raise
    return cluster


def stop_postgres(cluster: PostgresCluster) -> None:
    """Stop the cluster (``pg_ctl stop -m fast``: running sessions are ended) and remove it."""
    if (cluster.data_dir / "postmaster.pid").exists():
        stop = [_pg_tool("pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_cluster_owner(stop), capture_output=True, check=False)
    shutil.rmtree(cluster.root, ignore_errors=True)


@contextmanager
def postgres_cluster(database: str = "mlflow", durable: bool = True) -> Iterator[PostgresCluster]:
    """:func:`start_postgres`, stopped and removed when the block ends."""
    cluster = start_postgres(database, durable)
    try:
        yield cluster
    finally:
        stop_postgres(cluster)


def _mlflow_command() -> list[str]:
    return [sys.executable, "-m", "mlflow"]  # the mlflow of this interpreter, not of the PATH


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _log_tail(log: Path, lines: int = 3) -> str:
    text = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return " | ".join(text[-lines:]) or "no output"


def start_mlflow_server(
    backend_store_uri: str, artifacts: Path, log: Path, workers: int = 2
) -> MlflowServer:
    """Start ``mlflow server`` on 127.0.0.1:<free port> and wait until ``/health`` answers.

    Args:
        backend_store_uri: ``sqlite:///<file>`` or ``postgresql://…`` (:attr:`PostgresCluster.uri`).
        artifacts: folder the server stores proxied artifacts in (created).
        log: file for the server's output (its folder is created).
        workers: server worker processes (MLflow's default is 4; 2 on a 2-core machine).

    Raises:
        ServerError: the server exited or did not answer within a minute (with its log's tail).
    """
    artifacts.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        *_mlflow_command(),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--backend-store-uri",
        backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts.resolve().as_uri(),
    ]
    # MLflow 3's server also starts a job runner (7 huey consumers, for GenAI scorers and
    # prompt optimisation) that training runs never use: off, it starts in half the time and
    # leaves the 2 cores to the jobs
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    with open(log, "ab") as out:
        # its own session: stopping it reaches the workers it forks, not this process
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = MlflowServer(process, f"http://127.0.0.1:{port}", backend_store_uri, artifacts, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(server.url):
        exited = process.poll() is not None
        if exited or time.monotonic() > deadline:
            stop_mlflow_server(server)
            state = "exited" if exited else f"did not answer /health in {START_TIMEOUT_S:.0f} s"
            raise ServerError(f"mlflow server on {server.url} {state}: {_log_tail(log)}")
        time.sleep(0.25)
    return server


def stop_mlflow_server(server: MlflowServer, timeout_s: float = 15.0) -> None:
    """SIGTERM to the server's process group; SIGKILL to what is left after ``timeout_s``."""
    group = server.process.pid  # the leader of its own session: its pid is the group id
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    # the workers may outlive the leader by a moment: wait for the whole group
    while _group_alive(group) and time.monotonic() < deadline:
        server.process.poll()  # reap the leader, or it stays a zombie member of the group
        time.sleep(0.1)
    _signal_group(group, signal.SIGKILL)
    server.process.wait(timeout=timeout_s)


def _signal_group(group: int, sig: signal.Signals) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def mlflow_server(
    backend_store_uri: str, artifacts: Path, log: Path, workers: int = 2
) -> Iterator[MlflowServer]:
    """:func:`start_mlflow_server`, stopped when the block ends."""
    server = start_mlflow_server(backend_store_uri, artifacts, log, workers)
    try:
        yield server
    finally:
        stop_mlflow_server(server)
