"""One workload, run by tests/interop_proxy.rs once against PostgreSQL 18 and once through
examples/proxy.rs (whose upstream is that server): it prints a transcript of everything the
client saw (rows, command tags, errors with their fields, notices, notifications, transaction
states), normalized so that two runs against equivalent servers print the same text.

    proxy_workload.py --driver psycopg|asyncpg --host H --port P --user U [--password PW]
                      [--dbname D] --table proxy_items_x [--sslmode M --sslnegotiation N]

The table must exist with rows (1,'one'), (2,'two'), (3,'three'): `id int PRIMARY KEY,
name text NOT NULL`. Its name is also the LISTEN channel. Process ids are printed as `self`
(the session's own), `notifier` (the other session's) or `other`; times are not printed.
"""

import argparse
import asyncio
import decimal
import io
import sys
import threading
import time

LINES = []


def out(*parts):
    LINES.append(" ".join(str(p) for p in parts))


def error_line(where, fields):
    """An error or notice with every field the driver exposes, in a fixed order."""
    shown = ", ".join(f"{k}={fields[k]!r}" for k in sorted(fields) if fields[k] is not None)
    out(where, shown)


# ----- psycopg 3 -------------------------------------------------------------------------

PSYCOPG_FIELDS = [
    "severity", "severity_nonlocalized", "sqlstate", "message_primary", "message_detail",
    "message_hint", "statement_position", "internal_position", "internal_query", "context",
    "schema_name", "table_name", "column_name", "datatype_name", "constraint_name",
    "source_file", "source_line", "source_function",
]


def diag(d):
    return {f: getattr(d, f) for f in PSYCOPG_FIELDS}


def run_psycopg(args):
    import psycopg
    from psycopg import pq

    # Protocol 3.2: 32-byte cancel keys.
    conninfo = dict(host=args.host, port=args.port, user=args.user, dbname=args.dbname,
                    application_name="proxy-workload", max_protocol_version="latest",
                    sslmode=args.sslmode, sslnegotiation=args.sslnegotiation)
    if args.password:
        conninfo["password"] = args.password
    t, ch = args.table, args.table

    def connect(**kw):
        conn = psycopg.connect(autocommit=True, **conninfo, **kw)
        conn.add_notice_handler(lambda d: error_line("notice", diag(d)))
        return conn

    def attempt(where, f):
        try:
            r = f()
            out(where, "ok", r)
        except psycopg.Error as e:
            error_line(f"{where} error", diag(e.diag))

    conn = connect()
    out("status", conn.info.transaction_status.name)
    for p in ["application_name", "client_encoding", "DateStyle", "integer_datetimes",
              "server_encoding", "server_version", "standard_conforming_strings",
              "is_superuser", "session_authorization"]:
        out("parameter", p, conn.info.parameter_status(p))

    cur = conn.cursor()
    # Extended protocol with and without parameters, text and binary results.
    cur.execute("SELECT 1 AS a, 'x'::text AS b, NULL::int AS c")
    out("columns", [(c.name, c.type_code) for c in cur.description], "rows", cur.fetchall())
    cur.execute("SELECT %s::int + 1, %s::text, %s::numeric", (41, "hi", "1.50"))
    out("params", cur.fetchall(), cur.statusmessage)
    cur.execute(f"SELECT id, name FROM {t} ORDER BY id", binary=True)
    out("binary", cur.fetchall(), cur.statusmessage)
    for i in range(3):  # prepared (named) statements after the first executions
        cur.execute(f"SELECT name FROM {t} WHERE id = %s", (i + 1,), prepare=True)
        out("prepared", cur.fetchall())
    cur.execute(f"UPDATE {t} SET name = name WHERE id > %s", (1,))
    out("update", cur.statusmessage, cur.rowcount)
    # The simple query protocol: several statements in one string.
    ccur = psycopg.ClientCursor(conn)
    ccur.execute("SELECT 1; SELECT 'two' AS t")
    out("simple", ccur.fetchall(), ccur.statusmessage)
    # Errors and notices.
    attempt("div0", lambda: cur.execute("SELECT 1/0"))
    attempt("syntax", lambda: cur.execute("SELEC 1"))
    attempt("undefined", lambda: cur.execute(f"SELECT nosuch FROM {t}"))
    attempt("unique", lambda: cur.execute(f"INSERT INTO {t} VALUES (1, 'again')"))
    attempt("notnull", lambda: cur.execute(f"INSERT INTO {t} VALUES (9, NULL)"))
    attempt("badparam", lambda: cur.execute("SELECT %s::int", ("abc",)))
    cur.execute("DO $$ BEGIN RAISE NOTICE 'hi'; END $$")
    out("do", cur.statusmessage)
    attempt("raise", lambda: cur.execute(
        "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'd', HINT = 'h'; END $$"))
    cur.execute("SELECT 'after errors'")
    out("after", cur.fetchall())
    # A transaction: an error fails it until ROLLBACK.
    with conn.transaction():
        cur.execute(f"INSERT INTO {t} VALUES (4, 'four')")
        out("in transaction", conn.info.transaction_status.name, cur.statusmessage)
    try:
        with conn.transaction():
            cur.execute(f"INSERT INTO {t} VALUES (5, 'five')")
            attempt("in block", lambda: cur.execute("SELECT 1/0"))
            out("failed block", conn.info.transaction_status.name)
            attempt("aborted", lambda: cur.execute("SELECT 1"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    out("after rollback", conn.info.transaction_status.name)
    # A pipeline with an error in the middle: one Sync, one implicit transaction, all undone.
    try:
        with conn.pipeline() as p:
            c1 = conn.execute(f"INSERT INTO {t} VALUES (10, 'p1') RETURNING id")
            c2 = conn.execute("SELECT 1/0")
            c3 = conn.execute(f"INSERT INTO {t} VALUES (11, 'p2')")
            p.sync()
    except psycopg.Error as e:
        error_line("pipeline error", diag(e.diag))
    # A pipeline that works, with two Syncs.
    with conn.pipeline() as p:
        a = conn.execute(f"INSERT INTO {t} VALUES (12, 'p3') RETURNING id")
        p.sync()
        b = conn.execute(f"SELECT count(*) FROM {t} WHERE id >= %s", (10,))
    out("pipeline", a.fetchall(), b.fetchall())
    cur.execute(f"SELECT id, name FROM {t} ORDER BY id")
    out("table", cur.fetchall())
    # COPY both ways, text and binary, and an abandoned COPY.
    with cur.copy(f"COPY {t} (id, name) FROM STDIN") as copy:
        copy.write_row((20, "c20"))
        copy.write(b"21\tc21\n")
    out("copy in", cur.statusmessage, cur.rowcount)
    with cur.copy(f"COPY (SELECT id, name FROM {t} ORDER BY id) TO STDOUT") as copy:
        out("copy out", b"".join(bytes(b) for b in copy))
    with cur.copy(f"COPY {t} (id, name) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["int4", "text"])
        out("copy out binary", sorted(copy.rows()))
    try:
        with cur.copy(f"COPY {t} FROM STDIN") as copy:
            copy.write_row((30, "never"))
            raise ZeroDivisionError("abandon the copy")
    except psycopg.Error as e:
        error_line("copy fail", diag(e.diag))
    except ZeroDivisionError:
        out("copy fail: no server error")
    attempt("copy bad row", lambda: copy_bad(cur, t))
    cur.execute(f"SELECT count(*) FROM {t}")
    out("count", cur.fetchall())
    # LISTEN/NOTIFY: to an idle listener, from another session, and to itself.
    listener, notifier = conn, connect()
    listener.execute(f"LISTEN {ch}")
    notifier.execute(f"NOTIFY {ch}, 'from the notifier'")
    for n in listener.notifies(timeout=5, stop_after=1):
        out("notify", n.channel, n.payload, who(n.pid, listener, notifier))
    listener.execute(f"NOTIFY {ch}, 'to myself'")
    for n in listener.notifies(timeout=5, stop_after=1):
        out("notify", n.channel, n.payload, who(n.pid, listener, notifier))
    with notifier.transaction():  # delivered at COMMIT
        notifier.execute(f"NOTIFY {ch}, 'at commit'")
    for n in listener.notifies(timeout=5, stop_after=1):
        out("notify", n.channel, n.payload, who(n.pid, listener, notifier))
    listener.execute(f"UNLISTEN {ch}")
    # Cancel: pg_sleep cancelled from another thread.
    state = {}

    def canceller():
        time.sleep(0.5)
        state["at"] = time.monotonic()
        conn.cancel_safe(timeout=5)

    th = threading.Thread(target=canceller)
    th.start()
    try:
        cur.execute("SELECT pg_sleep(20)")
        out("cancel: not cancelled")
    except psycopg.Error as e:
        error_line("cancel", diag(e.diag))
        out("cancel prompt", time.monotonic() - state["at"] < 5)
    th.join()
    cur.execute("SELECT 'after cancel'")
    out("after cancel", cur.fetchall(), conn.info.transaction_status.name)
    notifier.close()
    conn.close()
    out("closed", conn.closed)


def copy_bad(cur, t):
    with cur.copy(f"COPY {t} (id, name) FROM STDIN") as copy:
        copy.write(b"40\tok\nnot a number\tbad\n")
    return cur.statusmessage


def who(pid, listener, notifier):
    if pid == listener.info.backend_pid:
        return "self"
    if pid == notifier.info.backend_pid:
        return "notifier"
    return "other"


# ----- asyncpg ---------------------------------------------------------------------------

def pg_fields(e):
    return e.as_dict()


async def run_asyncpg(args):
    import asyncpg

    t, ch = args.table, args.table

    async def connect():
        conn = await asyncpg.connect(host=args.host, port=args.port, user=args.user,
                                     password=args.password or None, database=args.dbname,
                                     ssl=False, server_settings={"application_name": "proxy-workload"})
        conn.add_log_listener(lambda c, m: error_line("notice", pg_fields(m)))
        return conn

    async def attempt(where, coro):
        try:
            r = await coro
            out(where, "ok", r)
        except asyncpg.PostgresError as e:
            error_line(f"{where} error", pg_fields(e))

    conn = await connect()
    settings = conn.get_settings()
    out("settings", settings.client_encoding, settings.server_version, settings.application_name,
        settings.DateStyle, settings.integer_datetimes)
    # Extended protocol: binary everywhere, statement described first.
    out("fetch", await conn.fetch("SELECT 1 AS a, 'x'::text AS b, NULL::int AS c"))
    out("params", await conn.fetchrow("SELECT $1::int + 1, $2::text, $3::numeric, $4::int[]",
                                      41, "hi", decimal.Decimal("1.50"), [1, 2]))
    stmt = await conn.prepare(f"SELECT id, name FROM {t} WHERE id > $1 ORDER BY id")
    out("prepared", [p.name for p in stmt.get_parameters()],
        [(a.name, a.type.name) for a in stmt.get_attributes()])
    out("prepared rows", await stmt.fetch(1), await stmt.fetch(2))
    out("execute", await conn.execute(f"UPDATE {t} SET name = name WHERE id > $1", 1))
    # The simple query protocol.
    out("simple", await conn.execute("SELECT 1; SELECT 2"))
    await attempt("simple error", conn.execute("SELECT 1; SELECT 1/0; SELECT 3"))
    # Errors and notices.
    await attempt("div0", conn.fetch("SELECT 1/0"))
    await attempt("syntax", conn.fetch("SELEC 1"))
    await attempt("unique", conn.execute(f"INSERT INTO {t} VALUES ($1, $2)", 1, "again"))
    await attempt("notnull", conn.execute(f"INSERT INTO {t} VALUES (9, NULL)"))
    await attempt("do", conn.execute("DO $$ BEGIN RAISE NOTICE 'hi'; RAISE WARNING 'careful'; END $$"))
    await attempt("raise", conn.execute(
        "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'd', HINT = 'h'; END $$"))
    # Transactions and a cursor (a named portal fetched in parts: PortalSuspended).
    async with conn.transaction():
        await conn.execute(f"INSERT INTO {t} VALUES (4, 'four')")
        out("in transaction", conn.is_in_transaction())
        cursor = await conn.cursor("SELECT g FROM generate_series(1, 10) g")
        out("cursor", await cursor.fetch(3), await cursor.fetch(4), await cursor.fetchrow())
        out("iterate", [r[0] async for r in conn.cursor("SELECT generate_series(1, 7)", prefetch=3)])
    try:
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {t} VALUES (5, 'five')")
            await attempt("in block", conn.fetch("SELECT 1/0"))
            await attempt("aborted", conn.fetch("SELECT 1"))
    except asyncpg.PostgresError as e:
        error_line("block error", pg_fields(e))
    out("after block", conn.is_in_transaction())
    # A pipeline (Bind/Execute per row, one Sync) with an error in the middle: all undone.
    await attempt("executemany", conn.executemany(
        f"INSERT INTO {t} VALUES ($1, $2)", [(10, "a"), (10, "dup"), (11, "b")]))
    await attempt("executemany ok", conn.executemany(
        f"INSERT INTO {t} VALUES ($1, $2)", [(12, "c"), (13, "d")]))
    out("table", await conn.fetch(f"SELECT id, name FROM {t} ORDER BY id"))
    # COPY both ways (asyncpg's COPY FROM is binary).
    out("copy in", await conn.copy_records_to_table(t, records=[(20, "c20"), (21, "c21")]))
    out("copy in text", await conn.copy_to_table(t, source=io.BytesIO(b"22\tc22\n23\tc23\n")))
    buf = io.BytesIO()
    out("copy out", await conn.copy_from_query(f"SELECT id, name FROM {t} ORDER BY id", output=buf))
    out("copy data", buf.getvalue())
    await attempt("copy bad", conn.copy_to_table(t, source=io.BytesIO(b"24\tok\nnope\tbad\n")))
    out("count", await conn.fetchval(f"SELECT count(*) FROM {t}"))
    # LISTEN/NOTIFY from another session, to an idle listener, and to itself.
    notifier = await connect()
    got = asyncio.Queue()
    await conn.add_listener(ch, lambda c, pid, channel, payload: got.put_nowait((pid, channel, payload)))

    def who(pid):
        if pid == conn.get_server_pid():
            return "self"
        return "notifier" if pid == notifier.get_server_pid() else "other"

    await notifier.execute(f"NOTIFY {ch}, 'from the notifier'")
    pid, channel, payload = await asyncio.wait_for(got.get(), 5)
    out("notify", channel, payload, who(pid))
    await conn.execute(f"NOTIFY {ch}, 'to myself'")
    pid, channel, payload = await asyncio.wait_for(got.get(), 5)
    out("notify", channel, payload, who(pid))
    await conn.reset()  # UNLISTEN * and the rest of DISCARD-like cleanup
    # Cancel: on a timeout asyncpg sends a CancelRequest and waits for the query to end.
    t0 = time.monotonic()
    try:
        await asyncio.wait_for(conn.fetch("SELECT pg_sleep(20)"), 0.5)
        out("cancel: not cancelled")
    except asyncio.TimeoutError:
        out("cancel", "timeout")
    out("after cancel", await conn.fetchval("SELECT 'after cancel'"), time.monotonic() - t0 < 5)
    await notifier.close()
    await conn.close()
    out("closed", conn.is_closed())


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--driver", choices=["psycopg", "asyncpg"], required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--table", required=True)
    p.add_argument("--sslmode", default="disable", help="psycopg only")
    p.add_argument("--sslnegotiation", default="postgres", help="psycopg only")
    args = p.parse_args()
    try:
        if args.driver == "psycopg":
            run_psycopg(args)
        else:
            asyncio.run(run_asyncpg(args))
    finally:
        print("\n".join(LINES))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
