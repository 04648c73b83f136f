"""The little that psycopg_check.py and asyncpg_check.py share: the command line and the
ok/FAIL reporting. Every program in this folder takes the same connection options:

    --host H --port P --user U [--password PW] [--dbname D]
    [--only a,b,c] [--skip d,e] [--list] [--timeout SECONDS]

and prints one line per check, `ok <name>` or `FAIL <name>: <reason>`, then exits non-zero
when any check failed.
"""

import argparse
import faulthandler
import sys
import time
import traceback


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="", help="empty: send none")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--only", default="", help="comma-separated checks to run (default: all)")
    p.add_argument("--skip", default="", help="comma-separated checks to leave out")
    p.add_argument("--list", action="store_true", help="print the checks and exit")
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="abort the whole program (with a traceback) after this many seconds",
    )
    return p


class CheckFailed(Exception):
    pass


def expect(cond, what):
    """Fails the current check with `what` unless `cond` holds."""
    if not cond:
        raise CheckFailed(what)


def expect_eq(got, want, what):
    if got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def selected(args, checks, default_off=()):
    """The (name, function) pairs that --only/--skip select, in declaration order. The checks
    named in default_off run only when --only names them."""
    names = [n for n, _ in checks]
    only = [n for n in args.only.split(",") if n]
    skip = [n for n in args.skip.split(",") if n]
    for n in only + skip:
        if n not in names:
            sys.exit(f"unknown check {n!r}; the checks are: {', '.join(names)}")
    if only:
        return [(n, f) for n, f in checks if n in only]
    return [(n, f) for n, f in checks if n not in skip and n not in default_off]


def run(args, checks, default_off=(), call=None):
    """Runs the selected checks, printing a line for each; returns the exit status.

    `call(f)` runs one check function (asyncpg passes one that drives a coroutine)."""
    if args.list:
        for n, _ in checks:
            print(n + (" (only when asked)" if n in default_off else ""))
        return 0
    faulthandler.dump_traceback_later(args.timeout, exit=True)
    call = call or (lambda f: f())
    failed = 0
    todo = selected(args, checks, default_off)
    for name, f in todo:
        t0 = time.monotonic()
        try:
            note = call(f)
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
            continue
        except BaseException as e:  # noqa: BLE001 - every error is a failed check
            failed += 1
            sqlstate = getattr(e, "sqlstate", None)
            state = f" [SQLSTATE {sqlstate}]" if sqlstate else ""
            print(f"FAIL {name}: {type(e).__name__}{state}: {e}".rstrip(), flush=True)
            traceback.print_exc(file=sys.stderr)
            if isinstance(e, KeyboardInterrupt):
                break
            continue
        dt = time.monotonic() - t0
        extra = f" ({note})" if note else ""
        print(f"ok {name}{extra} [{dt:.2f}s]", flush=True)
    print(f"done: {len(todo) - failed} ok, {failed} FAIL", flush=True)
    return 1 if failed else 0
