"""The embedded PostGIS: a private PostgreSQL cluster in the project's data folder.

The cluster is made with the system's ``initdb`` and run with ``pg_ctl``. It listens only on a
Unix socket inside the data folder (``listen_addresses = ''``), so it never takes a TCP port
another PostgreSQL may hold, and only users who can enter the folder can connect. Local
connections are trusted for that reason.

PostgreSQL refuses to run as root. When gridsvc runs as root, the server runs as the ``postgres``
system user (made by Debian's ``postgresql`` package), or as a ``gridsvc`` system user created
on first use, and the cluster folders are handed to that user.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from gridsvc.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "PostgreSQL with PostGIS is needed for the embedded database: install the Debian/Ubuntu "
    "packages 'postgresql' and 'postgresql-postgis' (sudo apt-get install postgresql "
    "postgresql-postgis), or set GRIDSVC_DATABASE_URL to an existing PostGIS server."
)
DB_NAME = "gridsvc"
DB_USER = "gridsvc"
PORT = 5432
# Linux caps a Unix socket path at 107 bytes (sun_path is 108 with the terminating NUL).
_SOCKET_PATH_MAX = 107


@dataclass(frozen=True)
class PgBinaries:
    """Where the server programs are, and which major version they are."""

    bindir: Path
    major: int
    sharedir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def find_binaries() -> PgBinaries:
    """Find ``initdb``/``pg_ctl``/``postgres`` and check that PostGIS is installed for them.

    Debian keeps the server programs in ``/usr/lib/postgresql/<major>/bin``, off the PATH;
    the newest major version that has PostGIS wins. A ``pg_ctl`` on the PATH is used first.

    Raises
    ------
    DatabaseUnavailable
        When no server or no PostGIS is found; the message names the packages to install.
    """
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: int(re.sub(r"\D", "", Path(p).parent.name) or 0), reverse=True)
    candidates += [Path(p) for p in versioned]
    seen_server = False
    for bindir in candidates:
        if not all((bindir / t).exists() for t in ("initdb", "pg_ctl", "postgres")):
            continue
        seen_server = True
        major = _major_version(bindir)
        for share in (Path(f"/usr/share/postgresql/{major}"), bindir.parent / "share"):
            if (share / "extension" / "postgis.control").exists():
                return PgBinaries(bindir, major, share)
    what = "PostGIS is not installed" if seen_server else "PostgreSQL server programs not found"
    raise DatabaseUnavailable(f"{what}. {INSTALL_HINT}")


def _major_version(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if not match:
        raise DatabaseUnavailable(f"cannot read the PostgreSQL version from {out!r}")
    return int(match.group(1))


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "gridsvc"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--shell", "/usr/sbin/nologin", "gridsvc"],
        check=True, capture_output=True,
    )
    return pwd.getpwnam("gridsvc")


class EmbeddedPostgres:
    """A private PostGIS cluster in ``data_dir``.

    Parameters
    ----------
    data_dir
        The folder that holds the cluster (``pg/``), its socket (``run/``) and log (``log/``).
        It is made on first :meth:`start`.

    Notes
    -----
    When the socket path inside ``data_dir`` would be longer than Linux allows, the socket goes
    to a folder in the system temp dir named after a hash of ``data_dir`` instead, so each data
    folder still has its own socket.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pg"
        self.logfile = self.data_dir / "log" / "postgres.log"
        socket_dir = self.data_dir / "run"
        if len(str(socket_dir / f".s.PGSQL.{PORT}")) > _SOCKET_PATH_MAX:
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
            socket_dir = Path(tempfile.gettempdir()) / f"gridsvc-{digest}"
        self.socket_dir = socket_dir

    # -- state -------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        """True when the cluster's server answers on its socket."""
        if not self.initialised:
            return False
        return (self.socket_dir / f".s.PGSQL.{PORT}").exists() and self._ping()

    def url(self, database: str = DB_NAME) -> str:
        """SQLAlchemy URL of a database of this cluster (psycopg 3 over the Unix socket)."""
        return f"postgresql+psycopg://{DB_USER}@/{database}?host={self.socket_dir}&port={PORT}"

    def conninfo(self, database: str = DB_NAME) -> str:
        return f"host={self.socket_dir} port={PORT} user={DB_USER} dbname={database}"

    # -- actions ------------------------------------------------------------------------------
    def start(self) -> None:
        """Make the cluster if needed, start it, and make the ``gridsvc`` database with PostGIS.

        Does nothing to a cluster that is already running. Safe to call again.
        """
        bins = find_binaries()
        user = _server_user()
        if not self.initialised:
            self._initdb(bins, user)
        if not self.is_running():
            self._prepare_dirs(user)
            log.info("starting the embedded PostGIS in %s", self.pgdata)
            self._run(
                [bins.tool("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.logfile),
                 "-w", "-t", "120", "-o", f"-k {self.socket_dir} -p {PORT}", "start"],
                user,
            )
        self.create_database(DB_NAME)

    def stop(self) -> bool:
        """Stop the server (fast shutdown: running transactions are rolled back).

        Returns
        -------
        bool
            True when a running server was stopped, False when it was not running.
        """
        if not self.is_running():
            return False
        bins = find_binaries()
        self._run(
            [bins.tool("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
            _server_user(),
        )
        return True

    def create_database(self, name: str) -> None:
        """Make database ``name`` with the PostGIS extension, if it does not exist yet."""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(self.conninfo(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its users."""
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    # -- helpers ------------------------------------------------------------------------------
    def _ping(self) -> bool:
        try:
            with psycopg.connect(self.conninfo("postgres"), connect_timeout=5):
                return True
        except psycopg.OperationalError:
            return False

    def _prepare_dirs(self, user: pwd.struct_passwd | None) -> None:
        for d in (self.data_dir, self.pgdata, self.socket_dir, self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        if user is None:
            return
        for d in (self.pgdata, self.socket_dir, self.logfile.parent):
            os.chown(d, user.pw_uid, user.pw_gid)
        # The server user must be able to reach the data folder through every parent folder.
        probe = subprocess.run(
            ["runuser", "-u", user.pw_name, "--", "test", "-w", str(self.pgdata)],
            capture_output=True,
        )
        if probe.returncode != 0:
            raise DatabaseUnavailable(
                f"the database server runs as the system user '{user.pw_name}' (PostgreSQL "
                f"refuses root), and that user cannot reach {self.pgdata}: a parent folder is "
                "closed to other users. Set GRIDSVC_DATA_DIR to a folder it can reach "
                "(e.g. under /var/lib or /srv)."
            )

    def _initdb(self, bins: PgBinaries, user: pwd.struct_passwd | None) -> None:
        self._prepare_dirs(user)
        log.info("creating the embedded PostGIS cluster in %s", self.pgdata)
        self._run(
            [bins.tool("initdb"), "-D", str(self.pgdata), "-U", DB_USER, "--auth=trust",
             "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
            user,
        )
        # Socket only: no TCP port, so nothing clashes with another PostgreSQL on the machine.
        conf = (
            "\n# gridsvc embedded cluster\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "unix_socket_permissions = 0770\n"
            "max_connections = 60\n"
            "shared_buffers = '256MB'\n"
            "work_mem = '32MB'\n"
            "maintenance_work_mem = '256MB'\n"
        )
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as fh:
            fh.write(conf)

    @staticmethod
    def _run(cmd: list[str], user: pwd.struct_passwd | None) -> None:
        program = Path(cmd[0]).name
        if user is not None:
            cmd = ["runuser", "-u", user.pw_name, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if done.returncode != 0:
            raise DatabaseUnavailable(
                f"{program} failed (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()}"
            )
