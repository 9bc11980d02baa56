#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""delayproxy.py - a userspace TCP proxy that adds latency, for benchmarks.

Every byte is delivered DELAY milliseconds after it arrived, in each
direction, so a request/response round trip costs 2*DELAY more; a new
connection also waits one round trip before data flows (the TCP handshake
over the slow link). Bandwidth is not limited. netem needs privileges and a
kernel module; this needs python3 only.

usage: delayproxy.py --upstream HOST:PORT [--listen PORT] [--port-file FILE]
                     [--delay-ms 25] [--stats FILE]

--stats FILE is rewritten after every connection with
"connections=N bytes_up=N bytes_down=N".
"""
import argparse
import asyncio
import os
import signal
import sys

STATS = {"connections": 0, "bytes_up": 0, "bytes_down": 0}


def write_stats(path):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(f"{k}={v}" for k, v in STATS.items()) + "\n")
    os.replace(tmp, path)


async def pump(reader, writer, delay, counter):
    """Copy reader to writer, each piece delayed by `delay` seconds."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    async def rd():
        try:
            while True:
                data = await reader.read(65536)
                await q.put((loop.time() + delay, data))
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
        except (ConnectionError, OSError):
            pass

    await asyncio.gather(rd(), wr())


async def handle(creader, cwriter, args):
    host, port = args.upstream.rsplit(":", 1)
    delay = args.delay_ms / 1000.0
    STATS["connections"] += 1
    try:
        # The handshake over the slow link: one round trip before data flows.
        await asyncio.sleep(2 * delay)
        ureader, uwriter = await asyncio.open_connection(host, int(port))
    except OSError:
        cwriter.close()
        return
    try:
        await asyncio.gather(pump(creader, uwriter, delay, "bytes_up"), pump(ureader, cwriter, delay, "bytes_down"))
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
