"""The embedded PostGIS: a private PostgreSQL cluster in the project's data folder.

The cluster is made with the system's ``initdb`` and run with ``pg_ctl``. It listens only on a
Unix socket next to the cluster (``listen_addresses = ''``), so it never takes a TCP port
another PostgreSQL may hold, and only the server's user (and root) can connect: the socket is
mode 0770. Local connections are trusted for that reason.

PostgreSQL refuses to run as root. When gridsvc runs as root, the server runs as the owner of
the checkout, or as a system user; when none of them can reach the data folder, the cluster is
kept under ``/var/lib/gridsvc`` instead (see :class:`EmbeddedPostgres`).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
import pwd
import re
import shlex
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
#: Where a cluster is kept when no user who may run the server can reach its data folder.
RELOCATED_ROOT = Path("/var/lib/gridsvc")
_NOBODY = 65534  # owns what an NFS server squashes: nobody's checkout


#: In a relocated cluster's folder: the data folder it belongs to, written once it is made.
_ORIGIN = "data_dir.txt"


def _exists(path: Path) -> bool:
    """``path.exists()``, False (not an error) when a parent folder is closed to us."""
    try:
        return path.exists()
    except PermissionError:
        return False


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


def _system_user() -> pwd.struct_passwd:
    """The system user a root-started server falls back to: ``postgres`` (made by Debian's
    ``postgresql`` package), else ``gridsvc``, created on first use."""
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


def _checkout_owner(path: Path) -> pwd.struct_passwd | None:
    """The first owner other than root of ``path`` or of a folder above it (the person whose
    checkout it is, e.g. under ``sudo make run``); None when root owns them all."""
    for folder in (path, *path.parents):
        try:
            uid = folder.stat().st_uid
        except OSError:  # not made yet
            continue
        if uid not in (0, _NOBODY):
            try:
                return pwd.getpwuid(uid)
            except KeyError:  # a uid without a name (e.g. from a container's image)
                return None
    return None


def _owner(path: Path) -> pwd.struct_passwd:
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise DatabaseUnavailable(f"{path} belongs to uid {uid}, which has no user name") from None


def _can_write(user: pwd.struct_passwd, *folders: Path) -> bool:
    """Whether ``user`` can reach and write every folder (through every parent folder)."""
    probe = subprocess.run(
        ["runuser", "-u", user.pw_name, "--", "sh", "-c",
         'for d in "$@"; do test -w "$d" -a -x "$d" || exit 1; done', "probe",
         *map(str, folders)],
        capture_output=True, cwd="/",
    )
    return probe.returncode == 0


def relocated_name(data_dir: Path) -> str:
    """The folder under :data:`RELOCATED_ROOT` that keeps ``data_dir``'s cluster when no user
    who may run the server can reach ``data_dir``: the path's tail made readable, and a hash of
    the whole path so that two data folders never share one.

    >>> relocated_name(Path("/root/gridsvc/var"))
    'root-gridsvc-var-afdffd5f59'
    """
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(data_dir))[-40:].strip("-") or "root"
    return f"{slug}-{hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:10]}"


class EmbeddedPostgres:
    """A private PostGIS cluster for the data folder ``data_dir``.

    Parameters
    ----------
    data_dir
        The project's data folder. The cluster (``pg/``), its socket (``run/``) and log
        (``log/``) are made in it on first :meth:`start`, or in :attr:`cluster_dir` elsewhere
        when the server cannot run there (see Notes).

    Attributes
    ----------
    cluster_dir
        Where the cluster is: ``data_dir``, or ``/var/lib/gridsvc/<name>`` (see
        :func:`relocated_name`) when it had to be kept out of ``data_dir``.
    pgdata, socket_dir, logfile
        The cluster's folder, its Unix socket's folder and its server log.

    Notes
    -----
    PostgreSQL refuses to run as root. When gridsvc runs as root, the server runs as the owner
    of the checkout when that is not root (``sudo make run`` in a home folder: the cluster is
    then that person's, as if they had started it themselves), else as the ``postgres`` (or
    ``gridsvc``) system user. When neither can reach ``data_dir`` (a checkout in ``/root``, mode
    700), the cluster is kept under ``/var/lib/gridsvc/<name>`` instead, run by the system
    user; ``data_dir/cluster-location.txt`` says so, and ``data_dir.txt`` in that folder names
    the data folder it belongs to (which is how it is found again). An existing cluster always
    runs as the owner of its ``pg/`` folder.

    When the socket path would be longer than Linux allows (107 bytes), or holds characters
    PostgreSQL's list of socket folders cannot take (``,`` ``'`` ``"`` ``\\``), the socket goes
    to a folder in the system temp dir named after a hash of ``data_dir`` instead, so each data
    folder still has its own socket.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir).resolve()
        relocated = RELOCATED_ROOT / relocated_name(self.data_dir)
        self._place(relocated if _exists(relocated / _ORIGIN) else self.data_dir)

    def _place(self, cluster_dir: Path) -> None:
        self.cluster_dir = cluster_dir
        self.pgdata = cluster_dir / "pg"
        self.logfile = cluster_dir / "log" / "postgres.log"
        socket_dir = cluster_dir / "run"
        path = str(socket_dir / f".s.PGSQL.{PORT}")
        if len(os.fsencode(path)) > _SOCKET_PATH_MAX or any(c in path for c in ",'\"\\"):
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
            socket_dir = Path(tempfile.gettempdir()) / f"gridsvc-{digest}"
        self.socket_dir = socket_dir

    # -- state -------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    @property
    def relocated(self) -> bool:
        """True when the cluster is kept outside ``data_dir`` (see the class notes)."""
        return self.cluster_dir != self.data_dir

    def server_user(self) -> str | None:
        """Name of the user the server runs as (the owner of ``pg/``); None before the cluster
        is made."""
        return _owner(self.pgdata).pw_name if self.initialised else None

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

        Raises
        ------
        DatabaseUnavailable
            When PostgreSQL or PostGIS is missing, the data folder cannot be made, or the
            server fails to start; the message says what to do.
        """
        bins = find_binaries()
        try:
            if not self.initialised:
                self._initdb(bins, self._settle())
            if not self.is_running():
                user = self._run_as()
                self._prepare_dirs(user)
                if user and not _can_write(user, self.pgdata, self.socket_dir,
                                           self.logfile.parent):
                    raise DatabaseUnavailable(
                        f"the database server runs as the user '{user.pw_name}' (the owner of "
                        f"{self.pgdata}; PostgreSQL refuses root), and that user cannot reach "
                        "it: a parent folder is closed to it. Open the folder to that user, or "
                        "set GRIDSVC_DATA_DIR to another folder.")
                log.info("starting the embedded PostGIS in %s", self.pgdata)
                self._run(
                    [bins.tool("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.logfile),
                     "-w", "-t", "120", "-o",
                     f"-k {shlex.quote(str(self.socket_dir))} -p {PORT}", "start"],
                    user,
                )
        except OSError as exc:
            raise DatabaseUnavailable(
                f"cannot make the embedded PostGIS's folders in {self.cluster_dir}: {exc}"
            ) from exc
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
            self._run_as(),
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

    def _run_as(self) -> pwd.struct_passwd | None:
        """Who runs the existing cluster's programs: None (ourselves) unless we are root, else
        the owner of ``pg/``.

        Raises
        ------
        DatabaseUnavailable
            When the cluster belongs to root, or (not being root) to another user.
        """
        owner = _owner(self.pgdata)
        if os.geteuid() != 0:
            if owner.pw_uid != os.geteuid():
                raise DatabaseUnavailable(
                    f"the embedded PostGIS in {self.pgdata} belongs to the user "
                    f"'{owner.pw_name}': run gridsvc as that user, or as root (sudo)")
            return None
        if owner.pw_uid == 0:
            raise DatabaseUnavailable(
                f"{self.pgdata} belongs to root, and PostgreSQL refuses to run as root: "
                "delete it (it was never a working cluster) or give it to another user")
        return owner

    def _settle(self) -> pwd.struct_passwd | None:
        """Before the first start: choose who runs the server and where the cluster goes (see
        the class notes), and make its folders. Returns the user (None: ourselves)."""
        if os.geteuid() != 0:
            self._prepare_dirs(None)
            return None
        fresh = not self.data_dir.exists()
        owner, system = _checkout_owner(self.data_dir), _system_user()
        for user in (owner, system):
            if user is None:
                continue
            self._prepare_dirs(user)
            if _can_write(user, self.pgdata, self.socket_dir, self.logfile.parent):
                if fresh and user == owner:  # a data folder made in someone's checkout is theirs
                    os.chown(self.data_dir, user.pw_uid, user.pw_gid)
                return user
        for d in (self.pgdata, self.socket_dir, self.logfile.parent):
            with contextlib.suppress(OSError):  # left alone when not empty
                d.rmdir()
        self._place(RELOCATED_ROOT / relocated_name(self.data_dir))
        RELOCATED_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._prepare_dirs(system)
        if not _can_write(system, self.pgdata, self.socket_dir, self.logfile.parent):
            raise DatabaseUnavailable(
                f"the database server runs as the user '{system.pw_name}' (PostgreSQL refuses "
                f"root), and that user can reach neither {self.data_dir} nor {self.cluster_dir}")
        note = (
            f"The embedded PostGIS of this folder is kept in {self.cluster_dir}, run by the user "
            f"'{system.pw_name}':\nPostgreSQL refuses to run as root, and no other user can reach "
            f"{self.data_dir}.\n'gridsvc db status' shows where it is; to remove the cluster, "
            "stop it ('gridsvc db stop') and delete that folder.\n"
        )
        (self.data_dir / "cluster-location.txt").write_text(note, encoding="utf-8")
        log.warning("the embedded PostGIS of %s is kept in %s, run by '%s' (no user who may run "
                    "it can reach %s)", self.data_dir, self.cluster_dir, system.pw_name,
                    self.data_dir)
        return system

    def _prepare_dirs(self, user: pwd.struct_passwd | None) -> None:
        """Make the cluster's folders and give them to ``user`` (None: leave them ours)."""
        for d in (self.data_dir, self.cluster_dir, self.pgdata, self.socket_dir,
                  self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        if user is None:
            return
        if self.relocated:
            self.cluster_dir.chmod(0o755)
        for d in (self.pgdata, self.socket_dir, self.logfile.parent):
            os.chown(d, user.pw_uid, user.pw_gid)

    def _initdb(self, bins: PgBinaries, user: pwd.struct_passwd | None) -> None:
        log.info("creating the embedded PostGIS cluster in %s", self.pgdata)
        try:
            self._run(
                [bins.tool("initdb"), "-D", str(self.pgdata), "-U", DB_USER, "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
                user,
            )
        except DatabaseUnavailable:
            if self.relocated:  # the next try settles afresh: leave nothing half-made
                shutil.rmtree(self.cluster_dir, ignore_errors=True)
            raise
        if self.relocated:  # how the next EmbeddedPostgres(data_dir) finds it
            (self.cluster_dir / _ORIGIN).write_text(f"{self.data_dir}\n", encoding="utf-8")
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
