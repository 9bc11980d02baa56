#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""faultproxy.py - a misbehaving HTTP/1.1 server for cadu's store tests.

Serves files from --root, or forwards to --upstream (e.g. nginx), and
misbehaves in one --mode for the first --count requests of each path (all
requests when --count is -1). Also works as a forward proxy (absolute
request URIs), so http_proxy can point at it. Python standard library only.

Modes:
  pass            behave
  drop            announce the full length, send half the body, close
  reset           close the connection (RST) without answering
  stall           send the headers and half the body, then nothing
  stall-headers   read the request, answer nothing
  status:CODE     answer CODE (e.g. status:503, status:404) with a small body
  truncate        200 with a consistently shortened body (length matches)
  flip            flip one bit in the middle of the body
  garbage         a body of random bytes of the same length
  huge            200 announcing 1 GiB, then zeros without end
  endless         200 without a length (connection-delimited), zeros without end
  redirect        302 to /_r/PATH, which is served normally (one hop)
  redirect-loop   302 to the same path, for ever
  redirect-ftp    302 to an ftp:// URL
  slow            send the body at --rate bytes per second
  drip            send the body one byte every --drip seconds (a server that
                  is never silent for long, yet never gets anywhere)

Range requests (a "Range: bytes=..." header) are answered like nginx does
(206, multipart/byteranges for several ranges) with --ranges, and with
200 and the whole file without it. Modes for range requests (they imply
--ranges and only act on requests with a Range header):
  range-start     Content-Range one byte later than asked (body to match)
  range-end       Content-Range and body one byte shorter than asked
  range-total     Content-Range naming a complete length of LAST (invalid)
  range-totals    a different complete length in every answer (and several
                  ranges answered with the first only, as multi-first)
  range-short     Content-Range as asked, half the body (length to match)
  range-long      Content-Range as asked, the body and one byte more
  range-multipart a multipart/byteranges answer to a single range
  range-drop      send half of the answer, then close the connection
  range-drop-first  range-drop for the first request of a path, then as
                  multi-first
  range-stall     send half of the answer, then nothing (see --stall)
  multi-overlap   multipart with the first part sent twice
  multi-short     multipart with a part one byte shorter than its header says
  multi-missing   multipart without its last part
  multi-boundary  multipart whose body uses another boundary than announced
  multi-noboundary  multipart/byteranges without a boundary parameter
  multi-unasked   multipart with a part for a range not asked
  multi-first     several ranges asked: 206 with only the first (no multipart)

Log (--log): one line per request: "<conn> <method> <path> <action>", plus
" no-cache" when the request asked caches not to answer it.
"""
import argparse
import http.client
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
COUNTS = {}
LOGF = None
CONN_SERIAL = [0]


def log(conn, method, path, action, headers=None):
    if LOGF:
        if headers and "no-cache" in headers.get("cache-control", ""):
            action += " no-cache"
        with LOCK:
            LOGF.write(f"{conn} {method} {path} {action}\n")
            LOGF.flush()


def misbehave(path):
    """Whether this request of path is one of the first --count."""
    if ARGS.mode == "pass" or path.startswith("/_r/"):
        return False
    if ARGS.path_regex and not re.search(ARGS.path_regex, path):
        return False
    with LOCK:
        n = COUNTS.get(path, 0)
        COUNTS[path] = n + 1
    return ARGS.count < 0 or n < ARGS.count


def parse_range(value, size):
    """[(first, last)] of a "bytes=a-b,c-d" header, or None."""
    m = re.fullmatch(r"bytes=(\d+-\d+(?:,\d+-\d+)*)", value.replace(" ", ""))
    if not m:
        return None
    out = []
    for r in m.group(1).split(","):
        a, b = (int(x) for x in r.split("-"))
        if a > b or a >= size:
            return None
        out.append((a, min(b, size - 1)))
    return out


RANGE_TOTALS = [0]


def range_answer(mode, ranges, body):
    """(status, headers, payload) answering ranges of body in mode."""
    size = len(body)
    if len(ranges) == 1 or mode in ("multi-first", "range-totals", "range-drop-first"):
        a, b = ranges[0]
        total = size
        if mode == "range-start":
            a += 1
        elif mode == "range-end":
            b -= 1
        elif mode == "range-total":
            total = b
        elif mode == "range-totals":
            with LOCK:
                RANGE_TOTALS[0] += 1
                total = size + RANGE_TOTALS[0]
        if mode != "range-multipart":
            data = body[a : b + 1]
            if mode == "range-short":
                data = data[: len(data) // 2]
            elif mode == "range-long":
                data = body[a : b + 2] if b + 1 < size else data + b"x"
            return 206, [("Content-Type", "application/octet-stream"), ("Content-Range", f"bytes {a}-{b}/{total}")], data
    boundary = "00000000000000000001"
    ctype = f"multipart/byteranges; boundary={boundary}"
    if mode == "multi-boundary":
        boundary = "00000000000000000002"
    elif mode == "multi-noboundary":
        ctype = "multipart/byteranges"
    parts = list(ranges)
    if mode == "multi-overlap":
        parts.insert(1, parts[0])
    elif mode == "multi-missing":
        parts = parts[:-1]
    elif mode == "multi-unasked":
        parts[-1] = (parts[-1][0], parts[-1][1] - 1) if parts[-1][1] > parts[-1][0] else (0, 0)
    out = b""
    for i, (a, b) in enumerate(parts):
        data = body[a : b + 1]
        if mode == "multi-short" and i == len(parts) - 1:
            data = data[:-1]
        out += (f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Range: bytes {a}-{b}/{size}\r\n\r\n").encode() + data
    out += f"\r\n--{boundary}--\r\n".encode()
    return 206, [("Content-Type", ctype)], out


def fetch(method, path, headers):
    """(status, body) of path from --root or --upstream."""
    if path.startswith("/_r/"):
        path = path[3:]
    if ARGS.upstream:
        u = urllib.parse.urlsplit(ARGS.upstream)
        c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        try:
            c.request("GET", u.path.rstrip("/") + path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()
    rel = os.path.normpath(urllib.parse.unquote(path)).lstrip("/")
    if rel.startswith("..") or "\0" in rel:
        return 400, b"bad path\n"
    try:
        with open(os.path.join(ARGS.root, rel), "rb") as f:
            return 200, f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return 404, b"<html><body><h1>404 Not Found</h1></body></html>\n"


class Handler(socketserver.StreamRequestHandler):
    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def head(self, status, reason, headers):
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def handle(self):
        with LOCK:
            CONN_SERIAL[0] += 1
            conn = CONN_SERIAL[0]
        try:
            while self.one(conn):
                pass
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            pass

    def one(self, conn):
        line = self.rfile.readline(8192)
        if not line:
            return False
        try:
            method, target, _ = line.decode("latin-1").split()
        except ValueError:
            return False
        headers = {}
        while True:
            h = self.rfile.readline(8192)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        # Forward-proxy requests carry an absolute URI.
        path = urllib.parse.urlsplit(target).path if "://" in target else target
        path = path.split("?")[0]
        bad = misbehave(path)
        mode = ARGS.mode if bad else "pass"
        keep = headers.get("connection", "").lower() != "close"

        if mode == "reset":
            log(conn, method, path, "reset")
            self.reset()
            return False
        if mode == "stall-headers":
            log(conn, method, path, "stall-headers")
            time.sleep(ARGS.stall)
            return False
        if mode.startswith("status:"):
            code = int(mode.split(":")[1])
            body = f"<html><body><h1>{code} injected failure</h1></body></html>\n".encode()
            log(conn, method, path, f"status {code}")
            hdrs = [("Content-Type", "text/html"), ("Content-Length", len(body))]
            if code in (503, 429) and ARGS.retry_after is not None:
                hdrs.append(("Retry-After", ARGS.retry_after))
            self.head(code, "Injected", hdrs)
            if method != "HEAD":
                self.send(body)
            return keep
        if mode in ("redirect", "redirect-loop", "redirect-ftp"):
            if mode == "redirect":
                loc = "/_r" + path
            elif mode == "redirect-loop":
                loc = path
            else:
                loc = "ftp://127.0.0.1:1" + path
            log(conn, method, path, mode)
            self.head(302, "Found", [("Location", loc), ("Content-Length", 0)])
            return keep
        if mode in ("huge", "endless"):
            log(conn, method, path, mode)
            hdrs = [("Content-Type", "application/octet-stream")]
            if mode == "huge":
                hdrs.append(("Content-Length", 1 << 30))
            else:
                hdrs.append(("Connection", "close"))
            self.head(200, "OK", hdrs)
            if method == "HEAD":
                return keep and mode == "huge"
            zeros = bytes(65536)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                self.send(zeros)
            return False

        try:
            status, body = fetch(method, path, headers)
        except OSError:
            # The upstream is down (restarting): answer as a reverse proxy does.
            log(conn, method, path, "upstream down")
            self.head(502, "Bad Gateway", [("Content-Length", 0)])
            return keep
        if status != 200:
            log(conn, method, path, f"upstream {status}")
            self.head(status, "Upstream", [("Content-Type", "text/html"), ("Content-Length", len(body))])
            if method != "HEAD":
                self.send(body)
            return keep
        if mode == "truncate":
            body = body[: len(body) // 2]
        elif mode == "flip" and body:
            b = bytearray(body)
            b[len(b) // 2] ^= 0x10
            body = bytes(b)
        elif mode == "garbage":
            body = random.randbytes(len(body))
        ranged = "range" in headers and (ARGS.ranges or mode.startswith(("range-", "multi-")))
        ranges = parse_range(headers["range"], len(body)) if ranged else None
        if ranged and ranges is None:
            log(conn, method, path, "range 416")
            self.head(416, "Range Not Satisfiable", [("Content-Range", f"bytes */{len(body)}"), ("Content-Length", 0)])
            return keep
        if ranges:
            with LOCK:
                first = COUNTS.get(path) == 1
            drop = mode == "range-drop" or (mode == "range-drop-first" and first)
            status, hdrs, payload = range_answer("pass" if drop or mode == "range-stall" else mode, ranges, body)
            log(conn, method, path, f"range {headers['range']} {mode if bad else 'ok'}", headers)
            self.head(status, "Partial Content", hdrs + [("Content-Length", len(payload))])
            if drop:
                # A clean close (not RST), so that all sent arrives.
                self.send(payload[: len(payload) // 2])
                self.connection.shutdown(socket.SHUT_WR)
                return False
            if mode == "range-stall":
                self.send(payload[: len(payload) // 2])
                time.sleep(ARGS.stall)
                return False
            if method != "HEAD":
                self.send(payload)
            return keep
        log(conn, method, path, mode if bad else "ok", headers)
        self.head(200, "OK", [("Content-Type", "application/octet-stream"), ("Content-Length", len(body))])
        if method == "HEAD":
            return keep
        if mode == "drop":
            self.send(body[: len(body) // 2])
            self.reset()
            return False
        if mode == "stall":
            self.send(body[: len(body) // 2])
            time.sleep(ARGS.stall)
            return False
        if mode == "drip":
            for i in range(len(body)):
                self.send(body[i : i + 1])
                time.sleep(ARGS.drip)
            return keep
        if mode == "slow":
            step = max(1, ARGS.rate // 10)
            for i in range(0, len(body), step):
                self.send(body[i : i + step])
                time.sleep(step / ARGS.rate)
            return keep
        self.send(body)
        return keep


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    global ARGS, LOGF
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--root", help="serve files from this directory")
    g.add_argument("--upstream", help="forward to this base URL (http only)")
    p.add_argument("--mode", default="pass")
    p.add_argument("--count", type=int, default=-1, help="misbehave for the first N requests of each path (-1: all)")
    p.add_argument("--path-regex", help="misbehave only on paths matching this")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--log", help="append one line per request")
    p.add_argument("--stall", type=float, default=3600.0, help="seconds a stall lasts")
    p.add_argument("--rate", type=int, default=4096, help="bytes/s in slow mode")
    p.add_argument("--drip", type=float, default=2.0, help="seconds between the bytes in drip mode")
    p.add_argument("--retry-after", help="Retry-After value sent with 503/429")
    p.add_argument("--ranges", action="store_true", help="answer range requests (206)")
    ARGS = p.parse_args()
    if ARGS.log:
        LOGF = open(ARGS.log, "a")
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, ARGS.port_file)
    else:
        print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
