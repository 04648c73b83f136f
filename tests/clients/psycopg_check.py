#!/usr/bin/env python3
"""psycopg 3 (with the libpq 18 that psycopg[binary] bundles) against a server that serves the
pgproto test catalog (tests/clients/README.md). One line per check: `ok NAME` or
`FAIL NAME: reason`; exit status 1 when any check failed.

    psycopg_check.py --host 127.0.0.1 --port 54318 --user pgproto_scram --password scram-secret
    psycopg_check.py ... --only simple,cancel --sslmode require --sslnegotiation direct
"""

import os
import sys
import threading
import time

import psycopg
from psycopg import errors, pq
from psycopg.conninfo import make_conninfo

from checklib import CheckFailed, expect, expect_eq, parser, run

ITEMS = [(1, "one"), (2, "two"), (3, "three")]
CHANNEL = f"pgproto_psycopg_{os.getpid()}"  # runs at the same time do not mix
ARGS = None


def conninfo(**extra):
    kw = dict(
        host=ARGS.host,
        port=ARGS.port,
        user=ARGS.user,
        dbname=ARGS.dbname,
        connect_timeout=10,
        application_name="pgproto-psycopg-check",
    )
    if ARGS.password:
        kw["password"] = ARGS.password
    if ARGS.sslmode:
        kw["sslmode"] = ARGS.sslmode
    if ARGS.sslnegotiation:
        kw["sslnegotiation"] = ARGS.sslnegotiation
    kw.update(extra)
    return make_conninfo(**kw)


def connect(autocommit=True, **extra):
    return psycopg.connect(conninfo(**extra), autocommit=autocommit)


def expect_items(rows, what):
    """The catalog's three rows come first (COPY FROM may have appended more)."""
    expect(len(rows) >= 3, f"{what}: {len(rows)} rows, want at least 3")
    expect_eq([tuple(r) for r in rows[:3]], ITEMS, what)
    ids = [r[0] for r in rows]
    expect(ids == sorted(ids), f"{what}: ids not in order: {ids}")


def expect_error(sqlstates, f, what):
    """Runs f, which must fail with a server error whose SQLSTATE is one of sqlstates."""
    try:
        f()
    except psycopg.Error as e:
        expect(e.sqlstate in sqlstates, f"{what}: SQLSTATE {e.sqlstate} ({e}), want {sqlstates}")
        return e
    raise CheckFailed(f"{what}: no error, want SQLSTATE {sqlstates}")


def count_items(conn):
    cur = conn.execute("SELECT count(*) FROM items")
    expect_eq(cur.description[0].type_code, 20, "count(*) column type (int8)")
    return cur.fetchone()[0]


# --- checks -----------------------------------------------------------------------------------


def check_connect():
    with connect() as conn:
        info = conn.info
        expect_eq(info.status, pq.ConnStatus.OK, "connection status")
        expect_eq(info.transaction_status, pq.TransactionStatus.IDLE, "transaction status")
        expect(info.backend_pid != 0, "no backend pid (BackendKeyData)")
        expect(info.server_version > 0, "no server_version ParameterStatus")
        expect_eq(info.encoding, "utf-8", "client encoding")
        expect_eq(info.parameter_status("integer_datetimes"), "on", "integer_datetimes")
        ssl = conn.pgconn.ssl_in_use
        if ARGS.sslmode in ("require", "verify-ca", "verify-full") or ARGS.sslnegotiation == "direct":
            expect(ssl, "TLS was asked for but is not in use")
        if ARGS.sslmode == "disable":
            expect(not ssl, "sslmode=disable but TLS is in use")
        return f"server_version {info.server_version}, tls {ssl}, protocol {info.full_protocol_version}"


def check_simple():
    with connect() as conn:
        for q in ["SELECT 1", "SELECT 1;"]:
            cur = conn.execute(q)
            expect_eq(cur.pgresult.status, pq.ExecStatus.TUPLES_OK, f"{q} result status")
            expect_eq([c.name for c in cur.description], ["?column?"], f"{q} column names")
            expect_eq(cur.description[0].type_code, 23, f"{q} column type (int4)")
            expect_eq(cur.fetchall(), [(1,)], q)
            expect_eq(cur.statusmessage, "SELECT 1", f"{q} command tag")
        rows = conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()
        expect_items(rows, "items")
        expect(count_items(conn) >= 3, "count(*) below 3")


def check_params():
    with connect() as conn:
        for v in [41, -7, 100000]:
            cur = conn.execute("SELECT %s::int + 1", [v])
            expect_eq(cur.description[0].type_code, 23, "column type (int4)")
            expect_eq(cur.fetchone(), (v + 1,), f"SELECT {v}::int + 1")
        # Without parameters but still extended (Parse/Bind/Execute): prepare=False and
        # binary=False with an empty parameter list would be a simple query.
        cur = conn.cursor()
        cur.execute("SELECT 1", prepare=False, binary=False)
        expect_eq(cur.fetchone(), (1,), "SELECT 1")


def check_prepared():
    """Named server-side prepared statements (psycopg's prepare=True: Parse once, then
    Bind/Execute)."""
    with connect() as conn:
        for v in range(5):
            cur = conn.execute("SELECT %s::int + 1", [v], prepare=True)
            expect_eq(cur.fetchone(), (v + 1,), f"prepared SELECT {v}::int + 1")
        cur = conn.execute("SELECT 1", prepare=True)
        expect_eq(cur.fetchone(), (1,), "prepared SELECT 1")


def check_binary():
    with connect() as conn:
        cur = conn.cursor(binary=True)
        cur.execute("SELECT 1")
        expect_eq(cur.pgresult.fformat(0), 1, "SELECT 1 result format")
        expect_eq(cur.fetchone(), (1,), "binary SELECT 1")
        cur.execute("SELECT %s::int + 1", [41])
        expect_eq(cur.pgresult.fformat(0), 1, "result format")
        expect_eq(cur.fetchone(), (42,), "binary SELECT 41::int + 1")
        cur.execute("SELECT id, name FROM items ORDER BY id")
        expect_eq([cur.pgresult.fformat(i) for i in range(2)], [1, 1], "items result formats")
        expect_items(cur.fetchall(), "binary items")
        cur.execute("SELECT count(*) FROM items")
        expect_eq(cur.description[0].type_code, 20, "count(*) type")
        n = cur.fetchone()[0]
        expect(isinstance(n, int) and n >= 3, f"binary count(*) = {n!r}")


def check_pipeline():
    with connect() as conn:
        with conn.pipeline() as p:
            c1, c2, c3 = conn.cursor(), conn.cursor(), conn.cursor()
            # libpq sends no Sync until p.sync(); the server reports the error as soon as it
            # flushes, so psycopg may raise it at a later execute() as well as at the sync.
            raised_at = None
            step = "SELECT 1"
            try:
                c1.execute("SELECT 1")
                step = "SELECT 1/0"
                c2.execute("SELECT 1/0")
                step = "SELECT 1::int + 1"
                c3.execute("SELECT %s::int + 1", [1])
                step = "sync"
                p.sync()
            except errors.DivisionByZero as e:
                raised_at = step
                expect_eq(e.sqlstate, "22012", "pipeline error SQLSTATE")
            expect(raised_at is not None, "SELECT 1/0 in the pipeline raised no error")
            if raised_at != "sync":
                # The queries sent after the error are reported aborted at the Sync.
                try:
                    p.sync()
                except errors.PipelineAborted:
                    pass
            expect_eq(c1.fetchone(), (1,), "result before the error")
            try:
                c3.fetchone()
                raise CheckFailed("the query after the error returned a row")
            except (psycopg.ProgrammingError, errors.PipelineAborted):
                pass  # skipped by the server until the Sync: "no result available"
            # The same pipeline goes on after the Sync.
            c4 = conn.execute("SELECT %s::int + 1", [2])
            c5 = conn.execute("SELECT id, name FROM items ORDER BY id")
            p.sync()
            expect_eq(c4.fetchone(), (3,), "result after the sync")
            expect_items(c5.fetchall(), "items in the pipeline")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after the pipeline")
        expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1 after the pipeline")
        # A pipeline in a transaction (psycopg sends BEGIN itself when autocommit is off).
        conn.autocommit = False
        with conn.pipeline():
            a = conn.execute("SELECT 1")
            b = conn.execute("SELECT %s::int + 1", [9])
        expect_eq((a.fetchone(), b.fetchone()), ((1,), (10,)), "pipeline in a transaction")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.INTRANS, "status in the transaction")
        conn.commit()
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after commit")


def check_copy():
    tag = f"psycopg-{os.getpid()}"
    with connect() as conn:
        cur = conn.cursor()
        with cur.copy("COPY items TO STDOUT") as copy:
            data = b"".join(bytes(b) for b in copy)
        lines = data.decode().split("\n")
        expect_eq(lines[-1], "", "COPY TO data ends with a newline")
        expect_eq(lines[:3], ["1\tone", "2\ttwo", "3\tthree"], "COPY TO first rows")
        # psycopg keeps the COPY_OUT result; the count comes from the closing "COPY n" tag.
        expect_eq(cur.rowcount, len(lines) - 1, "COPY TO row count in the tag")

        with cur.copy("COPY items TO STDOUT") as copy:
            rows = list(copy.rows())
        expect_eq(rows[:3], [("1", "one"), ("2", "two"), ("3", "three")], "COPY TO rows()")

        before = count_items(conn)
        with cur.copy("COPY items FROM STDIN") as copy:
            copy.write_row((101, f"{tag}-a"))
            copy.write(f"102\t{tag}-b\n".encode())
        expect_eq(cur.rowcount, 2, "COPY FROM row count in the tag")
        after = count_items(conn)
        expect(after >= before + 2, f"count(*) went from {before} to {after} after COPY FROM of 2 rows")
        rows = conn.execute("SELECT id, name FROM items ORDER BY id").fetchall()
        expect_items(rows, "items after COPY FROM")
        expect((101, f"{tag}-a") in rows and (102, f"{tag}-b") in rows, "the copied rows are not in items")


def check_copy_fail():
    """An exception inside the copy block makes psycopg send CopyFail; the server answers with an
    error and the connection goes on."""
    with connect() as conn:
        cur = conn.cursor()
        before = count_items(conn)
        try:
            with cur.copy("COPY items FROM STDIN") as copy:
                copy.write_row((103, "never"))
                raise ZeroDivisionError("abandon the copy")
        except ZeroDivisionError:
            pass
        except psycopg.errors.QueryCanceled:
            pass
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after CopyFail")
        expect_eq(count_items(conn), before, "count(*) after CopyFail")


def check_notify():
    with connect() as listener, connect() as notifier:
        listener.execute(f"LISTEN {CHANNEL}")
        payload = f"hello from psycopg {os.getpid()}"
        notifier.execute(f"NOTIFY {CHANNEL}, '{payload}'")
        got = list(listener.notifies(timeout=5, stop_after=1))
        expect(got, "no notification within 5 s")
        n = got[0]
        expect_eq((n.channel, n.payload), (CHANNEL, payload), "notification")
        expect_eq(n.pid, notifier.info.backend_pid, "notifying backend pid")
        # After UNLISTEN nothing more arrives.
        listener.execute(f"UNLISTEN {CHANNEL}")
        notifier.execute(f"NOTIFY {CHANNEL}, 'after unlisten'")
        expect_eq(listener.execute("SELECT 1").fetchone(), (1,), "SELECT 1 after UNLISTEN")
        late = list(listener.notifies(timeout=0.3))
        expect_eq([x.payload for x in late], [], "notifications after UNLISTEN")


def cancel_sleep(conn, how):
    """Runs SELECT pg_sleep(10) on conn while another thread cancels it after 0.3 s; the query
    must fail with 57014 within 2 s of the cancel."""
    state = {}

    def canceller():
        time.sleep(0.3)
        state["t"] = time.monotonic()
        try:
            if how == "cancel":
                conn.cancel()
            else:
                conn.cancel_safe(timeout=5)
        except BaseException as e:  # noqa: BLE001
            state["err"] = e

    t = threading.Thread(target=canceller)
    t.start()
    try:
        conn.execute("SELECT pg_sleep(10)")
        raise CheckFailed(f"{how}: pg_sleep(10) finished without being cancelled")
    except errors.QueryCanceled as e:
        done = time.monotonic()
        expect_eq(e.sqlstate, "57014", f"{how}: SQLSTATE")
    finally:
        t.join()
    if "err" in state:
        raise CheckFailed(f"{how}() raised {state['err']!r}")
    waited = done - state["t"]
    expect(waited < 2.0, f"{how}: the query ended {waited:.2f} s after the cancel")
    expect_eq(conn.execute("SELECT 1").fetchone(), (1,), f"{how}: SELECT 1 after the cancel")
    return waited


def check_cancel():
    with connect() as conn:
        a = cancel_sleep(conn, "cancel_safe")
        b = cancel_sleep(conn, "cancel")
        return f"cancel_safe {a:.2f}s, cancel {b:.2f}s"


def check_protocol32():
    """max_protocol_version=latest: libpq 18 asks for 3.2 (and the 32-byte cancel keys that come
    with it). psycopg shows the result as conn.info.full_protocol_version (PQfullProtocolVersion:
    30002); conn.pgconn.protocol_version (PQprotocolVersion) says only 3."""
    want = ARGS.expect_protocol
    with connect(max_protocol_version="latest") as conn:
        expect_eq(conn.info.full_protocol_version, want, "full_protocol_version")
        expect_eq(conn.pgconn.full_protocol_version, want, "pgconn.full_protocol_version")
        expect_eq(conn.pgconn.protocol_version, 3, "pgconn.protocol_version")
        expect_eq(conn.execute("SELECT %s::int + 1", [1]).fetchone(), (2,), "query on 3.2")
        a = cancel_sleep(conn, "cancel_safe")
        b = cancel_sleep(conn, "cancel")
    if want == 30002:
        # 3.2 as the minimum too: a server that cannot speak it is refused by libpq.
        with connect(min_protocol_version="3.2", max_protocol_version="3.2") as conn:
            expect_eq(conn.info.full_protocol_version, 30002, "min 3.2 full_protocol_version")
    # And the default (3.0) still is 3.0.
    with connect() as conn:
        expect_eq(conn.info.full_protocol_version, 30000, "default full_protocol_version")
    return f"full_protocol_version {want}, cancel_safe {a:.2f}s, cancel {b:.2f}s"


def check_transaction():
    with connect() as conn:
        TS = pq.TransactionStatus
        conn.execute("BEGIN")
        expect_eq(conn.info.transaction_status, TS.INTRANS, "status after BEGIN")
        expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1 in the transaction")
        conn.execute("COMMIT")
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after COMMIT")

        conn.execute("BEGIN")
        expect_error({"22012"}, lambda: conn.execute("SELECT 1/0"), "SELECT 1/0 in a transaction")
        expect_eq(conn.info.transaction_status, TS.INERROR, "status after the error")
        expect_error({"25P02"}, lambda: conn.execute("SELECT 1"), "SELECT 1 in the failed transaction")
        expect_error({"25P02"}, lambda: conn.execute("SELECT %s::int + 1", [1]), "extended query in the failed transaction")
        conn.execute("ROLLBACK")
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after ROLLBACK")
        expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1 after ROLLBACK")

        # COMMIT of a failed transaction is a rollback (tag ROLLBACK).
        conn.execute("BEGIN")
        expect_error({"22012"}, lambda: conn.execute("SELECT 1/0"), "SELECT 1/0")
        cur = conn.execute("COMMIT")
        expect_eq(cur.statusmessage, "ROLLBACK", "COMMIT tag of a failed transaction")
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after that COMMIT")

    # psycopg's own transaction handling: with autocommit off it sends BEGIN before the first
    # statement, and commit()/rollback() send COMMIT/ROLLBACK.
    with connect(autocommit=False) as conn:
        expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1 (implicit BEGIN)")
        expect_eq(conn.info.transaction_status, TS.INTRANS, "status after the implicit BEGIN")
        conn.commit()
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after commit()")
        expect_error({"22012"}, lambda: conn.execute("SELECT 1/0"), "SELECT 1/0")
        expect_eq(conn.info.transaction_status, TS.INERROR, "status after the error")
        conn.rollback()
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after rollback()")
    with connect() as conn:
        with conn.transaction():
            expect_eq(conn.info.transaction_status, TS.INTRANS, "status in conn.transaction()")
            conn.execute("SELECT 1")
        expect_eq(conn.info.transaction_status, TS.IDLE, "status after conn.transaction()")


def check_errors():
    with connect() as conn:
        e = expect_error({"22012"}, lambda: conn.execute("SELECT 1/0"), "SELECT 1/0")
        expect(isinstance(e, errors.DivisionByZero), f"SELECT 1/0 raised {type(e).__name__}")
        expect_eq(e.diag.severity, "ERROR", "severity")
        expect(e.diag.message_primary, "no error message")
        expect_error({"22012"}, lambda: conn.execute("SELECT 1/0", prepare=False, binary=True), "extended SELECT 1/0")
        expect_error({"42601", "0A000"}, lambda: conn.execute("THIS IS NOT IN THE CATALOG"), "unknown statement")
        expect_error({"42601", "0A000"}, lambda: conn.execute("THIS IS NOT IN THE CATALOG %s", [1]), "unknown extended statement")
        expect_eq(conn.info.transaction_status, pq.TransactionStatus.IDLE, "status after the errors")
        expect_eq(conn.execute("SELECT 1").fetchone(), (1,), "SELECT 1 after the errors")


def check_auth_fail():
    """Only when asked: a wrong password (and an unknown user) must be refused with 28P01."""
    for what, kw in [
        ("wrong password", dict(password=(ARGS.password or "x") + "-wrong")),
        ("unknown user", dict(user="pgproto_nobody", password="x")),
    ]:
        try:
            psycopg.connect(conninfo(**kw)).close()
            raise CheckFailed(f"{what}: the connection was accepted")
        except psycopg.OperationalError as e:
            # libpq keeps no SQLSTATE for a failed connection; the message carries the reason.
            msg = str(e)
            expect("password authentication failed" in msg or "28P01" in msg, f"{what}: {msg!r}")


CHECKS = [
    ("connect", check_connect),
    ("simple", check_simple),
    ("params", check_params),
    ("prepared", check_prepared),
    ("binary", check_binary),
    ("pipeline", check_pipeline),
    ("copy", check_copy),
    ("copy_fail", check_copy_fail),
    ("notify", check_notify),
    ("cancel", check_cancel),
    ("protocol32", check_protocol32),
    ("transaction", check_transaction),
    ("errors", check_errors),
    ("auth_fail", check_auth_fail),
]


def main():
    global ARGS
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sslmode", help="libpq sslmode (default: libpq's, prefer)")
    p.add_argument("--sslnegotiation", choices=["postgres", "direct"], help="libpq sslnegotiation")
    p.add_argument(
        "--expect-protocol",
        type=int,
        default=30002,
        help="what max_protocol_version=latest must negotiate (30002: 3.2; 30000 for a 3.0 server)",
    )
    ARGS = p.parse_args()
    print(f"psycopg {psycopg.__version__}, libpq {pq.version()}", flush=True)
    return run(ARGS, CHECKS, default_off={"auth_fail"})


if __name__ == "__main__":
    sys.exit(main())
