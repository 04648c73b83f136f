#!/usr/bin/env python3
"""asyncpg against a server that serves the pgproto test catalog (tests/clients/README.md).
asyncpg speaks the extended protocol with named prepared statements and binary formats for every
type it knows, and binary COPY. One line per check: `ok NAME` or `FAIL NAME: reason`; exit status
1 when any check failed.

    asyncpg_check.py --host 127.0.0.1 --port 54318 --user pgproto_scram --password scram-secret
    asyncpg_check.py ... --only simple,cancel --sslmode require --direct-tls
"""

import asyncio
import io
import os
import sys
import time

import asyncpg

from checklib import CheckFailed, expect, expect_eq, parser, run

ITEMS = [(1, "one"), (2, "two"), (3, "three")]
CHANNEL = f"pgproto_asyncpg_{os.getpid()}"  # runs at the same time do not mix
ARGS = None


async def connect(**extra):
    kw = dict(
        host=ARGS.host,
        port=ARGS.port,
        user=ARGS.user,
        database=ARGS.dbname,
        timeout=10,
        # asyncpg caches prepared statements per connection; the default (100) is kept.
        server_settings={"application_name": "pgproto-asyncpg-check"},
    )
    # asyncpg falls back to PGPASSWORD and ~/.pgpass when password is None.
    kw["password"] = ARGS.password or ""
    if ARGS.sslmode:
        kw["ssl"] = ARGS.sslmode
    if ARGS.direct_tls:
        kw["direct_tls"] = True
    kw.update(extra)
    return await asyncpg.connect(**kw)


class Conn:
    """`async with Conn() as c`: a connection that is closed afterwards."""

    def __init__(self, **extra):
        self.extra = extra

    async def __aenter__(self):
        self.conn = await connect(**self.extra)
        return self.conn

    async def __aexit__(self, *exc):
        await self.conn.close(timeout=5)


def expect_items(rows, what):
    expect(len(rows) >= 3, f"{what}: {len(rows)} rows, want at least 3")
    expect_eq([tuple(r) for r in rows[:3]], ITEMS, what)
    ids = [r[0] for r in rows]
    expect(ids == sorted(ids), f"{what}: ids not in order: {ids}")


async def expect_error(exc_type, sqlstates, coro, what):
    try:
        await coro
    except asyncpg.PostgresError as e:
        expect(e.sqlstate in sqlstates, f"{what}: SQLSTATE {e.sqlstate} ({e}), want {sqlstates}")
        if exc_type is not None:
            expect(isinstance(e, exc_type), f"{what}: raised {type(e).__name__}, want {exc_type.__name__}")
        return e
    raise CheckFailed(f"{what}: no error, want SQLSTATE {sqlstates}")


# --- checks -----------------------------------------------------------------------------------


async def check_connect():
    async with Conn() as conn:
        expect(conn.get_server_pid() != 0, "no backend pid (BackendKeyData)")
        v = conn.get_server_version()
        expect(v.major > 0, f"server version {v}")
        settings = conn.get_settings()
        expect_eq(settings.client_encoding, "UTF8", "client_encoding")
        expect_eq(settings.integer_datetimes, "on", "integer_datetimes")
        ssl = conn._transport.get_extra_info("sslcontext") is not None
        if ARGS.sslmode in ("require", "verify-ca", "verify-full") or ARGS.direct_tls:
            expect(ssl, "TLS was asked for but is not in use")
        if ARGS.sslmode == "disable":
            expect(not ssl, "sslmode=disable but TLS is in use")
        return f"server {v.major}.{v.minor}, tls {ssl}"


async def check_simple():
    async with Conn() as conn:
        # execute() without arguments: the simple query protocol.
        expect_eq(await conn.execute("SELECT 1"), "SELECT 1", "simple SELECT 1 status")
        expect_eq(await conn.execute("SELECT 1;"), "SELECT 1", "simple SELECT 1; status")
        # fetch*(): Parse (named) + Describe, then Bind/Execute with binary results.
        expect_eq(await conn.fetchval("SELECT 1"), 1, "fetchval SELECT 1")
        expect_eq(await conn.fetchval("SELECT 1;"), 1, "fetchval SELECT 1;")
        rows = await conn.fetch("SELECT 1")
        expect_eq(list(rows[0].keys()), ["?column?"], "column names")
        expect_items(await conn.fetch("SELECT id, name FROM items ORDER BY id"), "items")
        n = await conn.fetchval("SELECT count(*) FROM items")
        expect(isinstance(n, int) and n >= 3, f"count(*) = {n!r}")


async def check_prepared():
    async with Conn() as conn:
        ps = await conn.prepare("SELECT $1::int + 1")
        expect_eq([t.name for t in ps.get_parameters()], ["int4"], "parameter types")
        expect_eq([(a.name, a.type.name) for a in ps.get_attributes()], [("?column?", "int4")], "result columns")
        for v in [41, -7, 2147483646]:
            expect_eq(await ps.fetchval(v), v + 1, f"prepared fetchval({v})")
        expect_eq([tuple(r) for r in await ps.fetch(1)], [(2,)], "prepared fetch(1)")
        expect_eq(await conn.fetchval("SELECT $1::int + 1", 99), 100, "fetchval with $1")
        # The statement cache: the same text again reuses the named statement.
        for v in range(3):
            expect_eq(await conn.fetchval("SELECT $1::int + 1", v), v + 1, f"cached fetchval({v})")
        items = await conn.prepare("SELECT id, name FROM items ORDER BY id")
        expect_eq([(a.name, a.type.name) for a in items.get_attributes()], [("id", "int4"), ("name", "text")], "items columns")
        expect_items(await items.fetch(), "prepared items")
        count = await conn.prepare("SELECT count(*) FROM items")
        expect_eq([a.type.name for a in count.get_attributes()], ["int8"], "count(*) type")
        expect(await count.fetchval() >= 3, "count(*) below 3")
        # A cursor (portal) read a row at a time: Execute with a row limit, PortalSuspended.
        async with conn.transaction():
            cur = await items.cursor()
            first = await cur.fetch(2)
            expect_eq([tuple(r) for r in first], ITEMS[:2], "cursor fetch(2)")
            nxt = await cur.fetchrow()
            expect_eq(tuple(nxt), ITEMS[2], "cursor fetchrow()")


async def check_copy():
    tag = f"asyncpg-{os.getpid()}"
    async with Conn() as conn:
        buf = io.BytesIO()
        status = await conn.copy_from_table("items", output=buf)
        lines = buf.getvalue().decode().split("\n")
        expect_eq(lines[-1], "", "COPY TO data ends with a newline")
        expect_eq(lines[:3], ["1\tone", "2\ttwo", "3\tthree"], "COPY TO first rows")
        expect_eq(status, f"COPY {len(lines) - 1}", "COPY TO status")

        before = await conn.fetchval("SELECT count(*) FROM items")
        # Binary COPY FROM STDIN, after a Describe of "SELECT * FROM items LIMIT 1" for the types.
        records = [(201, f"{tag}-a"), (202, f"{tag}-b")]
        status = await conn.copy_records_to_table("items", records=records)
        expect_eq(status, "COPY 2", "copy_records_to_table status")
        after = await conn.fetchval("SELECT count(*) FROM items")
        expect(after >= before + 2, f"count(*) went from {before} to {after} after COPY of 2 rows")
        rows = [tuple(r) for r in await conn.fetch("SELECT id, name FROM items ORDER BY id")]
        expect_items(rows, "items after COPY")
        for r in records:
            expect(r in rows, f"{r} is not in items after copy_records_to_table")


async def check_notify():
    async with Conn() as listener, Conn() as notifier:
        got = asyncio.get_running_loop().create_future()

        def on_notify(conn, pid, channel, payload):
            if not got.done():
                got.set_result((pid, channel, payload))

        await listener.add_listener(CHANNEL, on_notify)
        payload = f"hello from asyncpg {os.getpid()}"
        await notifier.execute(f"NOTIFY {CHANNEL}, '{payload}'")
        try:
            pid, channel, p = await asyncio.wait_for(got, 5)
        except asyncio.TimeoutError:
            raise CheckFailed("no notification within 5 s") from None
        expect_eq((channel, p), (CHANNEL, payload), "notification")
        expect_eq(pid, notifier.get_server_pid(), "notifying backend pid")
        await listener.remove_listener(CHANNEL, on_notify)
        expect_eq(await listener.fetchval("SELECT 1"), 1, "SELECT 1 after UNLISTEN")


async def check_cancel():
    async with Conn() as conn:
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(conn.fetch("SELECT pg_sleep(10)"), 1)
            raise CheckFailed("pg_sleep(10) finished within 1 s")
        except asyncio.TimeoutError:
            pass
        # asyncpg sent a CancelRequest; the connection must be usable again at once.
        expect_eq(await asyncio.wait_for(conn.fetchval("SELECT 1"), 2), 1, "SELECT 1 after the cancel")
        took = time.monotonic() - t0
        expect(took < 3, f"timeout + recovery took {took:.2f} s")
        expect(not conn.is_in_transaction(), "in a transaction after the cancel")
        # The same with the simple query protocol.
        try:
            await asyncio.wait_for(conn.execute("SELECT pg_sleep(10)"), 0.5)
            raise CheckFailed("simple pg_sleep(10) finished within 0.5 s")
        except asyncio.TimeoutError:
            pass
        expect_eq(await asyncio.wait_for(conn.fetchval("SELECT $1::int + 1", 1), 2), 2, "query after the second cancel")
        return f"{took:.2f}s"


async def check_transaction():
    async with Conn() as conn:
        async with conn.transaction():  # BEGIN / COMMIT;
            expect(conn.is_in_transaction(), "not in a transaction in conn.transaction()")
            expect_eq(await conn.fetchval("SELECT 1"), 1, "SELECT 1 in the transaction")
        expect(not conn.is_in_transaction(), "in a transaction after COMMIT")

        try:
            async with conn.transaction():  # BEGIN / ROLLBACK;
                await conn.fetchval("SELECT 1/0")
        except asyncpg.DivisionByZeroError:
            pass
        expect(not conn.is_in_transaction(), "in a transaction after ROLLBACK")

        await conn.execute("BEGIN")
        await expect_error(asyncpg.DivisionByZeroError, {"22012"}, conn.fetchval("SELECT 1/0"), "SELECT 1/0")
        await expect_error(
            asyncpg.InFailedSQLTransactionError, {"25P02"}, conn.fetchval("SELECT $1::int + 1", 1), "query in the failed transaction"
        )
        await expect_error(asyncpg.InFailedSQLTransactionError, {"25P02"}, conn.execute("SELECT 1"), "simple query in the failed transaction")
        await conn.execute("ROLLBACK")
        expect(not conn.is_in_transaction(), "in a transaction after ROLLBACK")
        expect_eq(await conn.fetchval("SELECT 1"), 1, "SELECT 1 after ROLLBACK")


async def check_errors():
    async with Conn() as conn:
        e = await expect_error(asyncpg.DivisionByZeroError, {"22012"}, conn.fetchval("SELECT 1/0"), "fetchval SELECT 1/0")
        expect_eq(e.severity, "ERROR", "severity")
        await expect_error(asyncpg.DivisionByZeroError, {"22012"}, conn.execute("SELECT 1/0"), "simple SELECT 1/0")
        await expect_error(None, {"42601", "0A000"}, conn.fetch("THIS IS NOT IN THE CATALOG"), "unknown statement")
        await expect_error(None, {"42601", "0A000"}, conn.execute("THIS IS NOT IN THE CATALOG"), "unknown simple statement")
        await expect_error(None, {"42601", "0A000"}, conn.prepare("THIS IS NOT IN THE CATALOG $1"), "unknown prepared statement")
        expect_eq(await conn.fetchval("SELECT 1"), 1, "SELECT 1 after the errors")


async def check_auth_fail():
    """Only when asked: a wrong password and an unknown user are refused with 28P01."""
    for what, kw in [
        ("wrong password", dict(password=(ARGS.password or "x") + "-wrong")),
        ("unknown user", dict(user="pgproto_nobody", password="x")),
    ]:
        try:
            c = await connect(**kw)
            await c.close()
            raise CheckFailed(f"{what}: the connection was accepted")
        except asyncpg.InvalidPasswordError as e:
            expect_eq(e.sqlstate, "28P01", f"{what}: SQLSTATE")
        except asyncpg.PostgresError as e:
            raise CheckFailed(f"{what}: SQLSTATE {e.sqlstate} ({e}), want 28P01") from None


CHECKS = [
    ("connect", check_connect),
    ("simple", check_simple),
    ("prepared", check_prepared),
    ("copy", check_copy),
    ("notify", check_notify),
    ("cancel", check_cancel),
    ("transaction", check_transaction),
    ("errors", check_errors),
    ("auth_fail", check_auth_fail),
]


def main():
    global ARGS
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sslmode", help="asyncpg's ssl= (disable, prefer, require, ...; default prefer)")
    p.add_argument("--direct-tls", action="store_true", help="TLS without SSLRequest (sslnegotiation=direct)")
    ARGS = p.parse_args()
    print(f"asyncpg {asyncpg.__version__}", flush=True)
    return run(ARGS, CHECKS, default_off={"auth_fail"}, call=lambda f: asyncio.run(f()))


if __name__ == "__main__":
    sys.exit(main())
