#!/usr/bin/env python3
"""A Docker API server that does no work: it answers every request with the bytes recorded for
it beforehand, so `docker ps` against it measures the docker CLI's own floor (its start-up and
HTTP round trips) — the best any server could reach.
Usage: replay-server.py SOCKET RECORDED_DIR
RECORDED_DIR holds one file per path, named by the path with '/' as '_' (e.g.
_v1.41_containers_json), each a whole HTTP response (status line, headers, body)."""
import os
import socket
import sys
import threading

sock_path, recorded = sys.argv[1], sys.argv[2]
answers = {}
for name in os.listdir(recorded):
    with open(os.path.join(recorded, name), "rb") as f:
        answers[name] = f.read()
not_found = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"message\":\"not recorded\"}"


def serve(conn):
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            method, target = head.split(b" ", 2)[:2]
            path = target.split(b"?", 1)[0].decode().replace("/", "_")
            answer = answers.get(path, not_found)
            if method == b"HEAD":
                answer = answer.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
            conn.sendall(answer)


if os.path.exists(sock_path):
    os.unlink(sock_path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sock_path)
server.listen(64)
while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
