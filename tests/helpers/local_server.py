"""The part every test server shares: one request handler class served on 127.0.0.1 (a free port) by threads."""

from __future__ import annotations

import http.server
import threading


class LocalServer:
    """Serves `handler` on 127.0.0.1 in a background thread while used as a context manager."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
