"""A real PostgreSQL server for the database-source tests, started by the tests themselves.

:func:`start_server` starts one on a unix socket in a fresh temporary folder:

1. with the ``pgserver`` package (PostgreSQL binaries shipped in a wheel). As root it runs
   the server as a system user ``pgserver`` it creates (postgres refuses to run as root);
2. else with the system's PostgreSQL (``initdb``/``pg_ctl`` on PATH or under
   ``/usr/lib/postgresql/<version>/bin``; Debian: ``apt-get install postgresql``), run as the
   unprivileged user ``nobody`` when the tests run as root.

``CJM_TEST_PG=pgserver`` or ``CJM_TEST_PG=system`` forces one way. When neither works the
fixture FAILS (it never skips): the database format must be tested against a real server.

Fixtures: ``pg_server`` (session: the server, stopped at the end) and ``crm_template``
(session: a database ``crm_template`` with the CRM tables below). A test gets its own copy
with :meth:`PgServer.copy_database`, so tests that change rows do not see each other.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

#: TimeZone of the sessions on a copy of the CRM database: timestamptz values reach Python with +05:00.
CRM_TIMEZONE = "Asia/Yekaterinburg"

#: The CRM schema and data every database test starts from. The database's TimeZone is
#: Asia/Yekaterinburg (+05), so timestamptz values reach Python with a +05:00 offset; naive
#: ``timestamp`` columns hold Moscow wall-clock time (the source's configured time zone).
CRM_SQL = """
create table contacts (
    id bigint primary key,
    full_name text not null,
    phone text,                           -- as typed by managers: several spellings, two in a cell
    email text,
    created_at timestamptz not null
);

create table deals (
    id bigint primary key,
    contact_id bigint references contacts (id),
    title text not null,
    amount numeric(12, 2),
    ym_client_id bigint,                  -- Metrica ClientID: 19 digits, beyond float precision
    utm_source text,
    utm_medium text,
    utm_campaign text,
    created_at timestamp,                 -- naive, Moscow time; null for a deal imported from an old CRM
    closed_on date
);

create table deal_stage_history (
    id bigserial primary key,
    deal_id bigint not null references deals (id),
    pipeline_id integer not null,
    stage_id text not null,
    stage_name text not null,
    stage_semantic text not null,
    previous_stage_id text,
    changed_at timestamptz not null
);

insert into contacts values
    (501, 'Иван Петров',        '8 (916) 123-45-67',               'Ivan.Petrov@Mail.RU ', '2024-02-29 21:10:00+00'),
    (502, 'Мария Сидорова',     '+7 903 765 43 21, 8 (926) 000-11-22', null,                 '2024-03-01 09:00:00+03'),
    (503, 'ООО «Ромашка»',      '79161112233',                     'info@romashka.ru',     '2024-03-02 12:00:00+05');

insert into deals values
    (9001, 501, 'Кухня «Модерн»',   1234567890.12, 1696470418123456789, 'yandex', 'cpc', 'kitchens_spring',
        '2024-03-01 01:30:00', null),
    (9002, 502, 'Шкаф-купе',         45990.00,      null,               null,     null,  null,
        '2024-03-05 14:21:07', '2024-03-20'),
    (9003, 503, 'Перенос из старой CRM', 100.50,    null,               null,     null,  null,
        null, null);

insert into deal_stage_history (deal_id, pipeline_id, stage_id, stage_name, stage_semantic, previous_stage_id, changed_at) values
    (9001, 7, 'NEW',     'Новая заявка',         'open', null,      '2024-03-01 01:30:00+03'),
    (9001, 7, 'MEETING', 'Встреча назначена',    'open', 'NEW',     '2024-03-02 23:30:00+03'),
    (9002, 7, 'NEW',     'Новая заявка',         'open', null,      '2024-03-05 11:21:07+00'),
    (9002, 7, 'WON',     'Успешно реализовано',  'won',  'NEW',     '2024-03-20 18:00:00+05');
"""


@dataclass
class PgServer:
    """A running server: ``url(db)`` is the SQLAlchemy URL of one of its databases."""

    socket_dir: Path
    how: str
    stop: Callable[[], None]

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        auth = "postgres" + (f":{password}" if password else "")
        return f"postgresql+psycopg://{auth}@/{database}?host={self.socket_dir}"

    def execute(self, database: str, *statements: str) -> None:
        """Run SQL statements (autocommit) on one database."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(database), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                for sql in statements:
                    conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def copy_database(self, template: str, timezone: str | None = CRM_TIMEZONE) -> str:
        """A new database copied from ``template`` (with its sessions' TimeZone, which a copy
        does not inherit); returns its name."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute("postgres", f'create database "{name}" template "{template}"')
        if timezone:
            self.execute("postgres", f"alter database \"{name}\" set timezone to '{timezone}'")
        return name


# --------------------------------------------------------------------------- starting


def _start_pgserver(base: Path) -> PgServer:
    import warnings

    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR is not set (it uses /tmp/runtime-<uid>)
        warnings.simplefilter("ignore")
        import pgserver  # pip install pgserver (tests only)

    pgdata = base / "pgdata"
    pgdata.mkdir()
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        server.cleanup()
        raise RuntimeError("pgserver started a server without a unix socket")
    return PgServer(Path(socket_dir), "pgserver", server.cleanup)


def _system_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    raise RuntimeError("no PostgreSQL binaries (pg_ctl, initdb) on PATH or in /usr/lib/postgresql/*/bin; "
                       "install them (Debian: apt-get install postgresql)")


def _start_system(base: Path) -> PgServer:
    bindir = _system_bin()
    pgdata, sockets = base / "data", base / "sock"
    pgdata.mkdir()
    sockets.mkdir()
    run_as: dict = {}
    if os.geteuid() == 0:  # postgres refuses to run as root: use an unprivileged user
        user = pwd.getpwnam("nobody")
        for p in (base, pgdata, sockets):
            os.chown(p, user.pw_uid, user.pw_gid)
        base.chmod(0o755)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def run(*args: str) -> None:
        done = subprocess.run([str(bindir / args[0]), *args[1:]], capture_output=True, text=True, timeout=120,
                              cwd=base, env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}, **run_as)
        if done.returncode:
            log = base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()} {tail}")

    run("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
    run("pg_ctl", "-D", str(pgdata), "-l", str(base / "server.log"), "-w", "-t", "60",
        "-o", f"-c listen_addresses='' -k {sockets} -c fsync=off", "start")

    def stop() -> None:
        run("pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop")

    return PgServer(sockets, f"system PostgreSQL in {bindir}", stop)


def start_server(base: Path) -> PgServer:
    """A running server with its data and socket under ``base``; RuntimeError naming every
    attempt's problem when none could start."""
    wanted = os.environ.get("CJM_TEST_PG", "auto")
    ways = {"pgserver": _start_pgserver, "system": _start_system}
    if wanted not in ("auto", *ways):
        raise RuntimeError(f"CJM_TEST_PG={wanted!r}: use auto, pgserver or system")
    problems = []
    for name, start in ways.items():
        if wanted not in ("auto", name):
            continue
        folder = base / name
        folder.mkdir(parents=True)
        try:
            return start(folder)
        except Exception as e:  # noqa: BLE001 - every way's problem is reported together
            problems.append(f"- {name}: {type(e).__name__}: {e}")
    raise RuntimeError("could not start a PostgreSQL server for the database-source tests:\n" + "\n".join(problems)
                       + "\ninstall one of: pip install pgserver (dev dependency), or apt-get install postgresql")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pg_server():
    base = Path(tempfile.mkdtemp(prefix="cjm-pg-"))  # short: a unix socket path has ~100 bytes at most
    base.chmod(0o755)  # the unprivileged server user must reach its folders inside
    try:
        server = start_server(base)
    except RuntimeError as e:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(str(e), pytrace=False)
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def crm_template(pg_server: PgServer) -> str:
    """The name of a database holding :data:`CRM_SQL`, to copy per test."""
    pg_server.execute("postgres", "create database crm_template encoding 'UTF8' template template0")
    pg_server.execute("crm_template", CRM_SQL)
    return "crm_template"
