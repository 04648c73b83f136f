"""Typed values through examples/sqlite.rs: every core type written with parameters and read
back, with asyncpg (binary both ways, relying on the parameter and column types Describe gives)
and psycopg (text, then binary results). Prints `DRIVER: N rows ok` per pass; exits non-zero on
the first difference."""

import argparse
import asyncio
import datetime as dt
import json
import sys
import uuid
from decimal import Decimal

import asyncpg
import psycopg

COLUMNS = (
    "id integer PRIMARY KEY, i2 smallint, i8 bigint, f8 double precision, f4 real, num numeric, "
    "ok boolean, born date, at timestamp, atz timestamptz, txt text, vc varchar(20), data bytea, "
    "u uuid, j json"
)
UTC = dt.timezone.utc
ROWS = [
    (1, 1, 1, 1.5, 1.5, Decimal("1.25"), True, dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5),
     dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC), "one", "uno", b"\x00\x01\xff",
     uuid.UUID("12345678-1234-5678-1234-567812345678"), '{"a": 1}'),
    (2, -32768, -9223372036854775808, -0.5, -2.25, Decimal("-12345678.5"), False,
     dt.date(1999, 12, 31), dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
     dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), "two\ttabs\nnewline", "", b"",
     uuid.UUID(int=0), "[]"),
    (3, 32767, 9223372036854775807, 1e300, 3.0, Decimal("0"), True, dt.date(1, 1, 1),
     dt.datetime(2000, 2, 29, 0, 0), dt.datetime(2000, 2, 29, 12, 0, tzinfo=UTC), "quote ' and \"",
     "x" * 20, bytes(range(256)), uuid.UUID(int=2**128 - 1), '"s"'),
    (4,) + (None,) * 14,
    (5, 0, 0, 0.0, 0.0, Decimal("42"), False, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 1, 2, 3),
     dt.datetime(2024, 2, 29, 1, 2, 3, tzinfo=UTC), "ünïcødé ✓", "ü", b"\\x", uuid.UUID(int=5), "null"),
    (6, 7, 8, 9.75, 10.5, Decimal("11.125"), True, dt.date(2038, 1, 19), dt.datetime(2038, 1, 19, 3, 14, 8),
     dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC), "", None, b"abc", None, None),
    (7, None, 70, None, None, Decimal("0.001"), None, None, None, None, "seven", None, None, None, "{}"),
    (8, 8, None, 8.5, None, None, True, dt.date(1970, 1, 1), dt.datetime(1970, 1, 1), None, None, "8", None,
     uuid.UUID(int=8), None),
    (9, -1, -1, -1.0, -1.0, Decimal("-1"), False, dt.date(2100, 12, 31), dt.datetime(2100, 12, 31, 23, 59),
     dt.datetime(2100, 12, 31, 23, 59, tzinfo=UTC), "nine", "nine", b"9", uuid.UUID(int=9), '{"n": [9]}'),
]
INSERT = "INSERT INTO {t} VALUES (" + ", ".join(f"${i}" for i in range(1, 16)) + ")"


def compare(driver, got, want=ROWS):
    if len(got) != len(want):
        sys.exit(f"{driver}: {len(got)} rows, want {len(want)}")
    for g, w in zip(got, want):
        for name, a, b in zip(COLUMNS.split(", "), g, w):
            if isinstance(b, uuid.UUID) and not isinstance(a, uuid.UUID) and a is not None:
                a = uuid.UUID(str(a))
            if name.startswith("j ") and driver.startswith("psycopg") and b is not None:
                b = json.loads(b)  # psycopg parses json results
            if a != b:
                sys.exit(f"{driver}: row {w[0]} column {name}: got {a!r}, want {b!r}")
    print(f"{driver}: {len(got)} rows ok", flush=True)


async def with_asyncpg(port):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres", ssl=False)
    await conn.execute(f"CREATE TABLE typed_a ({COLUMNS})")
    await conn.executemany(INSERT.format(t="typed_a"), ROWS)
    rows = await conn.fetch("SELECT * FROM typed_a ORDER BY id")
    compare("asyncpg", [tuple(r) for r in rows])
    # A parameter typed from the column it is compared with.
    got = await conn.fetchval("SELECT txt FROM typed_a WHERE born = $1", dt.date(2020, 1, 2))
    if got != "one":
        sys.exit(f"asyncpg: WHERE born = $1 gave {got!r}")
    got = await conn.fetchval("SELECT count(*) FROM typed_a WHERE i8 > $1 AND ok = $2", 0, True)
    if got != 3:
        sys.exit(f"asyncpg: count(*) with int8 and bool parameters gave {got!r}")
    await conn.close()


def with_psycopg(port):
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                         sslmode="disable", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE typed_p ({COLUMNS})")
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * 15)
            cur.executemany(f"INSERT INTO typed_p VALUES ({marks})", ROWS)
        rows = conn.execute("SELECT * FROM typed_p ORDER BY id").fetchall()
        compare("psycopg text", rows)
        with conn.cursor(binary=True) as cur:
            rows = cur.execute("SELECT * FROM typed_p ORDER BY id").fetchall()
        compare("psycopg binary", rows)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    asyncio.run(with_asyncpg(args.port))
    with_psycopg(args.port)


if __name__ == "__main__":
    main()
