"""A local HTTP server that serves checkpoint files the way a release server does (ranges, and
answers cut short on request): the real download code is tested against it on 127.0.0.1."""

from __future__ import annotations

import http.server
import time


class CheckpointServer(http.server.ThreadingHTTPServer):
    """Serves ``files`` (name -> bytes) with HTTP range support. ``cut_after`` makes the next
    response for a name stop after that many bytes while promising the whole file; ``slow``: seconds
    each answer pauses halfway through its body (so that downloads overlap). ``requests`` counts
    the GET requests per name."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.cut_after: dict[str, int] = {}
        self.range_requests: list[str] = []
        self.requests: dict[str, int] = {}
        self.slow = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: CheckpointServer

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        self.server.requests[name] = self.server.requests.get(name, 0) + 1
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if range_header := self.headers.get("Range"):
            self.server.range_requests.append(range_header)
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if name in self.server.cut_after:
            payload = payload[: self.server.cut_after.pop(name)]
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the peer sees the transfer end early
            return
        half = len(payload) // 2
        self.wfile.write(payload[:half])
        self.wfile.flush()
        time.sleep(self.server.slow)
        self.wfile.write(payload[half:])
