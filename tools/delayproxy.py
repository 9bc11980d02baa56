#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""delayproxy.py - a userspace TCP proxy that adds latency, for benchmarks.

Every byte is delivered DELAY milliseconds after it arrived, in each
direction, so a request/response round trip costs 2*DELAY more; a new
connection also waits one round trip before data flows (the TCP handshake
over the slow link). With --rate-kbit, each direction is also one link of
that rate shared by all connections: bytes queue for it in the order they
arrived (at most a window of 256 KiB per connection and direction) and then
travel DELAY (serialisation, then propagation). Without it
bandwidth is not limited. netem needs privileges and a kernel module; this
needs python3 only.

usage: delayproxy.py --upstream HOST:PORT [--listen PORT] [--port-file FILE]
                     [--delay-ms 25] [--rate-kbit 10000] [--stats FILE]

--stats FILE is rewritten after every connection with
"connections=N bytes_up=N bytes_down=N".
"""
import argparse
import asyncio
import os
import signal
import sys

STATS = {"connections": 0, "bytes_up": 0, "bytes_down": 0}
# per direction: the time the shared link finishes sending what it has queued
LINK_FREE = {"bytes_up": 0.0, "bytes_down": 0.0}
# pieces a rate-limited link sends at a time (finer pieces: smoother rate),
# and how many of them a connection may have queued (its TCP window: a
# client that stops reading does not hold the link with more than that)
PIECE = 16384
WINDOW = 16


def write_stats(path):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in STATS.items()) + "\n")
    os.replace(tmp, path)


async def pump(reader, writer, delay, rate, counter):
    """Copy reader to writer, each piece delayed by `delay` seconds after
    the link of `rate` bytes per second (0: unlimited) has sent it."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    window = asyncio.Semaphore(WINDOW) if rate else None
    gone = []  # the writer has stopped: the reader must not wait for room

    def due(n):
        if not rate:
            return loop.time() + delay
        LINK_FREE[counter] = max(loop.time(), LINK_FREE[counter]) + n / rate
        return LINK_FREE[counter] + delay

    async def rd():
        try:
            while True:
                data = await reader.read(PIECE if rate else 65536)
                if window:
                    await window.acquire()
                    if gone:
                        return
                await q.put((due(len(data)), data))
                if not data:
                    return
                STATS[counter] += len(data)
        except (ConnectionError, OSError):
            await q.put((loop.time() + delay, b""))

    async def wr():
        try:
            while True:
                due, data = await q.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if window:
                    window.release()
        except (ConnectionError, OSError):
            pass
        finally:
            gone.append(True)
            if window:
                window.release()

    await asyncio.gather(rd(), wr())


async def handle(creader, cwriter, args):
    host, port = args.upstream.rsplit(":", 1)
    delay = args.delay_ms / 1000.0
    rate = args.rate_kbit * 1000 / 8
    STATS["connections"] += 1
    try:
        # The handshake over the slow link: one round trip before data flows.
        await asyncio.sleep(2 * delay)
        ureader, uwriter = await asyncio.open_connection(host, int(port))
    except OSError:
        cwriter.close()
        return
    try:
        await asyncio.gather(pump(creader, uwriter, delay, rate, "bytes_up"),
                             pump(ureader, cwriter, delay, rate, "bytes_down"))
    finally:
        for w in (uwriter, cwriter):
            try:
                w.close()
            except OSError:
                pass
        write_stats(args.stats)


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    p.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--port-file", help="write the listening port here")
    p.add_argument("--delay-ms", type=float, default=25.0, help="one-way delay (default 25)")
    p.add_argument("--rate-kbit", type=float, default=0.0,
                   help="link rate in kbit/s per direction, shared by all connections (default: unlimited)")
    p.add_argument("--stats", help="write connection and byte counts here")
    args = p.parse_args()

    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.listen)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    else:
        print(port, flush=True)
    write_stats(args.stats)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    write_stats(args.stats)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
