"""A real HTTP server on 127.0.0.1 that answers as the Hugging Face hub does for a large (LFS) file.

What the hub does, and this server copies (huggingface_hub's get_hf_file_metadata
reads it): `HEAD|GET <endpoint>/<repository>/resolve/<revision>/<file>` answers
302 with the repository's commit in `X-Repo-Commit`, the file's sha256 in
`X-Linked-Etag` (quoted) and its size in `X-Linked-Size`, and a `Location` on
another host (the hub's CDN), which serves the bytes. Here the "CDN" is the same
server under the name localhost, so that it counts as another host.

`files` maps (repository, file) to bytes. `stated_sha256` replaces the sha256 the
server states (None: it states none, only a git ETag, as for a small file). Every
path asked for is recorded.
"""

from __future__ import annotations

import hashlib
import http.server

from .local_server import LocalServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubServer(LocalServer):
    def __init__(self, files: dict[tuple[str, str], bytes], stated_sha256: dict[tuple[str, str], str | None] | None = None):
        self.files = files
        self.stated = stated_sha256 or {}
        self.paths: list[str] = []
        by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _empty(self, status: int, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _answer(self, with_body: bool) -> None:
                server.paths.append(self.path)
                if self.path.startswith("/cdn/"):
                    data = by_sha.get(self.path[len("/cdn/"):])
                    if data is None:
                        return self._empty(404, {})
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if with_body:
                        self.wfile.write(data)
                    return None
                repository, _, rest = self.path.lstrip("/").partition("/resolve/")
                revision, _, file = rest.partition("/")
                key = (repository, file)
                if key not in server.files or revision not in ("main", COMMIT):
                    return self._empty(404, {"X-Error-Code": "EntryNotFound"})
                sha256 = hashlib.sha256(server.files[key]).hexdigest()
                stated = server.stated.get(key, sha256)
                headers = {"X-Repo-Commit": COMMIT, "ETag": '"3c1d6e0f1b0a2b9e8f7a6c5d4e3f2a1b0c9d8e7f"',
                           "Location": f"http://localhost:{server.port}/cdn/{sha256}"}
                if stated is not None:
                    headers |= {"X-Linked-Etag": f'"{stated}"', "X-Linked-Size": str(len(server.files[key]))}
                return self._empty(302, headers)

            def do_HEAD(self):
                self._answer(with_body=False)

            def do_GET(self):
                self._answer(with_body=True)

        super().__init__(Handler)
