"""A real HTTP server on 127.0.0.1 that imitates the SDSS cutout service and injects faults.

Each galaxy (recognised by its `ra` query parameter) has a schedule: the
behaviour of its 1st, 2nd, ... request; the last one repeats. Every request is
counted per galaxy.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import struct
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

from .local_server import LocalServer


def galaxy_jpeg(size: int, black_fraction: float = 0.0) -> bytes:
    """A galaxy on noisy sky, its rightmost `black_fraction` of columns black: a frame at the footprint's edge
    (as the case sdss-partial-blank draws it)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:size, :size] - size / 2
    light = 200 * np.exp(-np.hypot(x, y) / (size / 12)) + rng.normal(20, 6, (size, size))
    pixels = np.stack([light, light * 0.9, light * 0.8], -1).clip(0, 255).astype(np.uint8)
    cut = int(size * black_fraction)
    if cut:
        pixels[:, size - cut:] = 0
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def jpeg_bytes(seed: int, size: int = 100, level: int | None = None) -> bytes:
    """A noise JPEG; with `level`, a uniform one of that grey (0: the black frame of the footprint's edge)."""
    if level is None:
        pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    else:
        pixels = np.full((size, size, 3), level, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


class CutoutServer(LocalServer):
    def __init__(self, schedules: dict[str, list[str]], slow_seconds: float = 2.0):
        self.schedules = schedules
        self.slow_seconds = slow_seconds
        self.requests: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                key = query.get("ra", ["?"])[0]
                with server.lock:
                    server.requests[key] += 1
                    n = server.requests[key]
                schedule = server.schedules.get(key, ["404"])
                behaviour = schedule[min(n, len(schedule)) - 1]
                server.respond(self, behaviour, key, int(query.get("width", ["100"])[0]))

        super().__init__(Handler)
        self.httpd.handle_error = lambda request, address: None  # resets are on purpose
        self.url = f"{self.endpoint}/getjpeg"

    def respond(self, handler, behaviour: str, key: str, width: int) -> None:
        body = jpeg_bytes(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))  # each galaxy its own image
        if behaviour == "ok":
            self._send(handler, 200, body, "image/jpeg")
        elif behaviour.startswith("galaxy"):  # galaxy, galaxy-black50, ...: the width asked for, part of it black
            black = int(behaviour.partition("-black")[2] or 0) / 100
            self._send(handler, 200, galaxy_jpeg(width, black), "image/jpeg")
        elif behaviour == "clamped":  # a service answering with its minimum, 64 px, whatever the width asked
            self._send(handler, 200, galaxy_jpeg(64), "image/jpeg")
        elif behaviour in ("503", "429"):
            self._send(handler, int(behaviour), b"busy", "text/plain", {"Retry-After": "1"})
        elif behaviour == "404":
            self._send(handler, 404, b"no such image", "text/plain")
        elif behaviour == "html":
            self._send(handler, 200, b"<html><body>Error: the server is overloaded</body></html>", "text/html")
        elif behaviour == "truncated":
            self._send(handler, 200, body[: len(body) // 2], "image/jpeg")
        elif behaviour == "slow":
            time.sleep(self.slow_seconds)
            self._send(handler, 200, body, "image/jpeg")
        elif behaviour in ("blank", "grey"):
            self._send(handler, 200, jpeg_bytes(0, level=0 if behaviour == "blank" else 90), "image/jpeg")
        elif behaviour == "drip":  # the whole JPEG, 16 bytes every 20 ms: each read is quick, the whole is not
            try:
                handler.send_response(200)
                handler.send_header("Content-Type", "image/jpeg")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                for first in range(0, len(body), 16):
                    handler.wfile.write(body[first:first + 16])
                    handler.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                pass  # the client gave up
        elif behaviour == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            handler.close_connection = True
        else:
            raise ValueError(behaviour)

    @staticmethod
    def _send(handler, status, body, content_type, headers=None):
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout): nothing to do
