"""A real HTTP server on 127.0.0.1 that serves one file as Zenodo does, with Range, and can break.

`behaviours` is the schedule of responses, one per request, the last repeating:
- `whole`: the bytes asked for (honouring `Range: bytes=N-` with a 206);
- `drop`: the same headers, then half of the bytes asked for, then the connection is cut;
- `ignore_range`: a 200 with the whole file whatever was asked;
- `missing`: a 404.
Every request's Range header is recorded.
"""

from __future__ import annotations

import http.server
import re

from .local_server import LocalServer


class FileServer(LocalServer):
    def __init__(self, payload: bytes, behaviours: list[str]):
        self.payload = payload
        self.behaviours = behaviours
        self.ranges: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                asked = self.headers.get("Range")
                behaviour = server.behaviours[min(len(server.ranges), len(server.behaviours) - 1)]
                server.ranges.append(asked)
                if behaviour == "missing":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", asked or "")
                if match and behaviour != "ignore_range":
                    start = int(match.group(1))
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(server.payload)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if behaviour == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.endpoint}/records/10845026/files/Galaxy10_DECals.h5"
