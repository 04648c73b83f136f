#!/usr/bin/env python3
"""A logging TCP relay for finding out what a client sends: it listens on --listen, forwards
every connection to --upstream, and prints each frontend message (startup parameters, Query,
Parse, Bind, Describe, Execute, Close, Sync, Flush, COPY messages, CancelRequest) and the type of
each backend message. TLS cannot be looked into: run the clients with sslmode=disable.

    wire_log.py --listen 127.0.0.1:54399 --upstream 127.0.0.1:54318 [--queries-only] > wire.log
    psycopg_check.py --port 54399 --sslmode disable ...

--queries-only prints just the statement texts (Query and Parse), one per line, with the
connection number: the list of statements a server must answer for that client.
"""

import argparse
import socket
import struct
import sys
import threading

LOCK = threading.Lock()
ARGS = None


def out(conn_id, text):
    with LOCK:
        print(f"[{conn_id}] {text}", flush=True)


def cstr(buf, pos):
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("utf-8", "replace"), end + 1


def describe_frontend(t, body):
    """A one-line description of a frontend message, and the statement text if it has one."""
    if t == "Q":
        q, _ = cstr(body, 0)
        return f"Query {q!r}", q
    if t == "P":
        name, p = cstr(body, 0)
        q, p = cstr(body, p)
        (n,) = struct.unpack_from("!h", body, p)
        oids = list(struct.unpack_from(f"!{n}I", body, p + 2))
        return f"Parse name={name!r} query={q!r} param_oids={oids}", q
    if t == "B":
        portal, p = cstr(body, 0)
        stmt, p = cstr(body, p)
        (nf,) = struct.unpack_from("!h", body, p)
        pf = list(struct.unpack_from(f"!{nf}h", body, p + 2))
        p += 2 + 2 * nf
        (nv,) = struct.unpack_from("!h", body, p)
        p += 2
        vals = []
        for _ in range(nv):
            (ln,) = struct.unpack_from("!i", body, p)
            p += 4
            if ln < 0:
                vals.append(None)
            else:
                v = body[p : p + ln]
                p += ln
                vals.append(v.decode() if all(0x20 <= c < 0x7F for c in v) else v.hex())
        (nr,) = struct.unpack_from("!h", body, p)
        rf = list(struct.unpack_from(f"!{nr}h", body, p + 2))
        return f"Bind portal={portal!r} stmt={stmt!r} param_formats={pf} values={vals} result_formats={rf}", None
    if t == "D":
        name, _ = cstr(body, 1)
        return f"Describe {chr(body[0])} {name!r}", None
    if t == "E":
        name, p = cstr(body, 0)
        (maxrows,) = struct.unpack_from("!i", body, p)
        return f"Execute {name!r} max_rows={maxrows}", None
    if t == "C":
        name, _ = cstr(body, 1)
        return f"Close {chr(body[0])} {name!r}", None
    if t == "d":
        return f"CopyData {len(body)} bytes", None
    if t == "f":
        return f"CopyFail {body[:-1].decode()!r}", None
    names = {"S": "Sync", "H": "Flush", "c": "CopyDone", "X": "Terminate", "p": "Password/SASL"}
    return f"{names.get(t, t)} ({len(body)} bytes)", None


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def blind(conn_id, src, dst, what):
    """Relays bytes that cannot be looked into (TLS) until src closes."""
    out(conn_id, f"{what}: relaying without looking (run the client with sslmode=disable to see more)")
    while True:
        data = src.recv(65536)
        if not data:
            return
        dst.sendall(data)


def frontend(conn_id, client, server, answered):
    try:
        if client.recv(1, socket.MSG_PEEK) == b"\x16":
            # A TLS ClientHello straight away: direct TLS (sslnegotiation=direct).
            return blind(conn_id, client, server, "direct TLS")
        # Startup-phase messages have no type byte.
        while True:
            head = recv_exact(client, 8)
            length, code = struct.unpack("!iI", head)
            body = recv_exact(client, length - 8)
            server.sendall(head + body)
            if code == 80877103:
                out(conn_id, "SSLRequest")
                answered.wait(10)
                if answered.answer == b"S":
                    return blind(conn_id, client, server, "TLS")
                continue
            if code == 80877104:
                out(conn_id, "GSSENCRequest")
                continue
            if code == 80877102:
                pid, = struct.unpack_from("!I", body, 0)
                out(conn_id, f"CancelRequest pid={pid} key={len(body) - 4} bytes")
                return
            params = body.split(b"\0")
            kv = dict(zip(params[0::2], params[1::2]))
            kv = {k.decode(): v.decode() for k, v in kv.items() if k}
            if not ARGS.queries_only:
                out(conn_id, f"StartupMessage {code >> 16}.{code & 0xFFFF} {kv}")
            break
        while True:
            head = recv_exact(client, 5)
            t = chr(head[0])
            (length,) = struct.unpack("!i", head[1:])
            body = recv_exact(client, length - 4)
            server.sendall(head + body)
            text, q = describe_frontend(t, body)
            if ARGS.queries_only:
                if q is not None:
                    out(conn_id, q)
            else:
                out(conn_id, "> " + text)
    except (EOFError, OSError):
        pass
    finally:
        try:
            server.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def backend(conn_id, client, server, answered):
    try:
        first = True
        while True:
            if first:
                # The answer to SSLRequest/GSSENCRequest is one byte; direct TLS starts with a
                # TLS record (0x16).
                peek = server.recv(1, socket.MSG_PEEK)
                if not peek:
                    break
                if peek == b"\x16":
                    while True:
                        data = server.recv(65536)
                        if not data:
                            return
                        client.sendall(data)
                if peek in (b"N", b"S", b"G"):
                    b = recv_exact(server, 1)
                    client.sendall(b)
                    answered.answer = b
                    answered.set()
                    if not ARGS.queries_only:
                        out(conn_id, f"< {b.decode()} (answer to SSLRequest/GSSENCRequest)")
                    if b == b"S":
                        # TLS from here on: relay blindly.
                        while True:
                            data = server.recv(65536)
                            if not data:
                                return
                            client.sendall(data)
                    continue
                first = False
            head = recv_exact(server, 5)
            (length,) = struct.unpack("!i", head[1:])
            body = recv_exact(server, length - 4)
            client.sendall(head + body)
            if not ARGS.queries_only:
                t = chr(head[0])
                extra = ""
                if t == "E" or t == "N":
                    fields = dict((f[:1], f[1:]) for f in body.split(b"\0") if f)
                    extra = f" {fields.get(b'C', b'').decode()} {fields.get(b'M', b'').decode()!r}"
                elif t == "C":
                    extra = f" {body[:-1].decode()!r}"
                elif t == "Z":
                    extra = f" {body.decode()}"
                elif t == "S":
                    k, p = cstr(body, 0)
                    v, _ = cstr(body, p)
                    extra = f" {k}={v}"
                elif t == "v":
                    extra = f" {struct.unpack_from('!I', body, 0)[0]:#x} (NegotiateProtocolVersion)"
                elif t == "K":
                    extra = f" key {len(body) - 4} bytes"
                out(conn_id, f"< {t}{extra}")
    except (EOFError, OSError):
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:54399")
    p.add_argument("--upstream", required=True)
    p.add_argument("--queries-only", action="store_true")
    ARGS = p.parse_args()
    lh, lp = ARGS.listen.rsplit(":", 1)
    uh, up = ARGS.upstream.rsplit(":", 1)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lh, int(lp)))
    ls.listen(64)
    print(f"listening on {lh}:{ls.getsockname()[1]}", file=sys.stderr, flush=True)
    n = 0
    while True:
        client, _ = ls.accept()
        n += 1
        server = socket.create_connection((uh, int(up)))
        answered = threading.Event()
        answered.answer = None
        for f in (frontend, backend):
            threading.Thread(target=f, args=(n, client, server, answered), daemon=True).start()


if __name__ == "__main__":
    main()
