"""A small stand-in for the model hub on 127.0.0.1: serves one local model folder through the
endpoints huggingface_hub's snapshot_download uses (repo info, file tree, HEAD and ranged GET
of files), so downloads run through the real client, cache and progress code without a network.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repo_id: str, folder: Path, chunk: int = 64 * 1024, delay_s: float = 0.0):
        self.repo_id, self.folder, self.chunk, self.delay_s = repo_id, Path(folder), chunk, delay_s
        self.requests: list[str] = []
        self.bytes_sent = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._serve(self, body=False)

            def do_GET(self):
                hub._serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def files(self) -> dict[str, Path]:
        return {p.name: p for p in sorted(self.folder.iterdir()) if p.is_file()}

    @staticmethod
    def etag(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def _json(self, h, data, body: bool) -> None:
        raw = json.dumps(data).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        if body:
            h.wfile.write(raw)

    def _serve(self, h, body: bool) -> None:
        path = unquote(urlparse(h.path).path)
        self.requests.append(f"{h.command} {path} {h.headers.get('Range') or ''}".strip())
        api = f"/api/models/{self.repo_id}"
        if path.startswith(api + "/revision/") or path == api:
            siblings = [{"rfilename": n} for n in self.files()]
            return self._json(h, {"id": self.repo_id, "modelId": self.repo_id, "sha": COMMIT,
                                  "siblings": siblings, "private": False}, body)
        if path.startswith(api + "/tree/"):
            tree = [{"type": "file", "path": n, "size": p.stat().st_size, "oid": self.etag(p)[:40]}
                    for n, p in self.files().items()]
            return self._json(h, tree, body)
        prefix = f"/{self.repo_id}/resolve/"
        if path.startswith(prefix):
            name = path[len(prefix):].split("/", 1)[1]
            f = self.files().get(name)
            if f is None:
                h.send_response(404)
                h.send_header("X-Error-Code", "EntryNotFound")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            data = f.read_bytes()
            start = 0
            rng = h.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0] or 0)
            h.send_response(206 if start else 200)
            h.send_header("X-Repo-Commit", COMMIT)
            h.send_header("ETag", f'"{self.etag(f)}"')
            h.send_header("Content-Length", str(len(data) - start))
            h.end_headers()
            if body:
                for i in range(start, len(data), self.chunk):
                    if self.delay_s:
                        time.sleep(self.delay_s)
                    try:
                        h.wfile.write(data[i:i + self.chunk])
                    except OSError:
                        return  # the client went away (a cancelled download)
                    self.bytes_sent += min(self.chunk, len(data) - i)
            return
        h.send_response(404)
        h.send_header("X-Error-Code", "RepoNotFound")
        h.send_header("Content-Length", "0")
        h.end_headers()
