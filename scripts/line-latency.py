#!/usr/bin/env python3
"""Line latency of a log/attach client: the time from "the host makes the container print a
line" to "the client has that line".

The container runs `sh -c 'while read l; do echo "$l"; done < /trigger/fifo'` with a host
directory holding the fifo bind-mounted at /trigger: writing "tag-K\\n" into the fifo makes it
print that line (no clock inside the container). For each of N lines this records t0 just
before the write and t1 when the client's reader thread sees the line; one line at a time.

Measure one client (appends one JSON line to RESULTS):
  line-latency.py measure --fifo F --lines N --label L --kind K --results RESULTS CLIENT
  CLIENT is one of
    --logs SOCKET ID      GET /containers/ID/logs?follow=1&stdout=1 (stdcopy frames)
    --attach SOCKET ID    POST /containers/ID/attach?stream=1&stdout=1 with the 101 upgrade
    -- COMMAND ARGS...    a CLI whose stdout carries the lines (`berth logs -f ID`)
Print the table:
  line-latency.py table --results RESULTS --title TITLE
Rows of the same kind compare with the berth row of that kind: berth median / peer median.
"""

import argparse
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time

READY_TIMEOUT = 20.0
LINE_TIMEOUT = 5.0


class LineSplitter:
    """Turns byte chunks into complete lines, each handed to `emit` with its arrival time."""

    def __init__(self, emit):
        self.emit = emit
        self.pending = b""

    def feed(self, data):
        now = time.monotonic()
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            self.emit(line.decode(errors="replace").rstrip("\r"), now)


class StdcopyReader:
    """Docker's multiplexed stream: 8-byte headers (stream, 0, 0, 0, big-endian size)."""

    def __init__(self, sink):
        self.sink = sink
        self.buf = b""

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 8:
            size = int.from_bytes(self.buf[4:8], "big")
            if len(self.buf) < 8 + size:
                return
            payload, self.buf = self.buf[8 : 8 + size], self.buf[8 + size :]
            self.sink(payload)


class ChunkedReader:
    """HTTP/1.1 chunked transfer coding, fed incrementally."""

    def __init__(self, sink):
        self.sink = sink
        self.buf = b""
        self.left = 0  # data bytes of the current chunk still to come
        self.skip = 0  # bytes of the CRLF after it still to come

    def feed(self, data):
        self.buf += data
        while self.buf:
            if self.left:
                body, self.buf = self.buf[: self.left], self.buf[self.left :]
                self.left -= len(body)
                self.sink(body)
                if self.left:
                    return
                self.skip = 2
            if self.skip:
                gone = min(self.skip, len(self.buf))
                self.buf, self.skip = self.buf[gone:], self.skip - gone
                if self.skip:
                    return
            if b"\r\n" not in self.buf:
                return
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            self.left = int(size_line.split(b";")[0] or b"0", 16)
            if not self.left:
                return


def http_stream(sock_path, method, path, upgrade, emit):
    """Opens a streaming request on a unix socket; returns the socket and a reader thread."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    headers = f"{method} {path} HTTP/1.1\r\nHost: docker\r\n"
    if upgrade:
        headers += "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n"
    sock.sendall((headers + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            raise SystemExit(f"{sock_path}: connection closed before the response headers")
        head += data
    head, rest = head.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode(errors="replace").split("\r\n")
    status = int(status_line.split()[1])
    if status not in (101, 200):
        raise SystemExit(f"{method} {path}: HTTP {status}")
    chunked = any(
        h.lower().startswith("transfer-encoding:") and "chunked" in h.lower() for h in header_lines
    )
    splitter = LineSplitter(emit)
    feed = StdcopyReader(splitter.feed).feed
    if chunked and status == 200:
        feed = ChunkedReader(feed).feed

    def read():
        if rest:
            feed(rest)
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            feed(data)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return sock


def measure(args):
    seen = queue.Queue()
    emit = lambda line, t: seen.put((line, t))
    proc = None
    sock = None
    if args.logs:
        sock_path, cid = args.logs
        sock = http_stream(sock_path, "GET", f"/containers/{cid}/logs?follow=1&stdout=1&tail=0", False, emit)
    elif args.attach:
        sock_path, cid = args.attach
        sock = http_stream(sock_path, "POST", f"/containers/{cid}/attach?stream=1&stdout=1", True, emit)
    else:
        proc = subprocess.Popen(args.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        splitter = LineSplitter(emit)

        def read():
            while True:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    return
                splitter.feed(data)

        threading.Thread(target=read, daemon=True).start()
    # Never blocks (a reader of its own); the container holds the fifo's read end.
    fifo = os.open(args.fifo, os.O_RDWR)
    tag = f"{args.label.replace(' ', '_')}-{os.getpid()}"

    def wait_for(text, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line, t = seen.get(timeout=left)
            except queue.Empty:
                return None
            if line == text:
                return t

    try:
        # Until the client is following (attach only sees what comes after it joined).
        ready = f"{tag}-ready"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            os.write(fifo, (ready + "\n").encode())
            if wait_for(ready, 0.5) is not None:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{args.label}: the client never showed a line")
        time.sleep(0.2)
        while not seen.empty():
            seen.get_nowait()
        samples = []
        for k in range(args.lines):
            text = f"{tag}-line-{k}"
            t0 = time.monotonic()
            os.write(fifo, (text + "\n").encode())
            t1 = wait_for(text, LINE_TIMEOUT)
            if t1 is None:
                raise SystemExit(f"{args.label}: line {k} did not arrive within {LINE_TIMEOUT} s")
            samples.append((t1 - t0) * 1000)
            time.sleep(0.02)
    finally:
        os.close(fifo)
        if proc:
            proc.kill()
            proc.wait()
        if sock:
            sock.close()
    samples.sort()
    result = {
        "label": args.label,
        "kind": args.kind,
        "median": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
    }
    with open(args.results, "a") as f:
        f.write(json.dumps(result) + "\n")


def table(args):
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    berth = {r["kind"]: r["median"] for r in rows if r["label"].startswith("berth")}
    print(f"{args.title:<36}{'median ms':>10}{'p95 ms':>10}{'berth / peer':>14}")
    for r in rows:
        if r["kind"] in berth:
            ratio = berth[r["kind"]] / r["median"]
            ratio = f"{ratio:>14.2f}" if ratio >= 0.1 else f"{ratio:>14.4f}"
        else:
            ratio = f"{'-':>14}"
        print(f"{r['label']:<36}{r['median']:>10.2f}{r['p95']:>10.2f}{ratio}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--fifo", required=True)
    m.add_argument("--lines", type=int, default=50)
    m.add_argument("--label", required=True)
    m.add_argument("--kind", required=True)
    m.add_argument("--results", required=True)
    m.add_argument("--logs", nargs=2, metavar=("SOCKET", "ID"))
    m.add_argument("--attach", nargs=2, metavar=("SOCKET", "ID"))
    m.add_argument("command", nargs="*")
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--title", required=True)
    args = parser.parse_args()
    if args.action == "table":
        table(args)
    else:
        if not (args.logs or args.attach or args.command):
            parser.error("measure needs --logs, --attach or a command")
        measure(args)


if __name__ == "__main__":
    main()
