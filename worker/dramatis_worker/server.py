"""HTTP transport: routing, body limits, JSON (de)serialisation, error bodies.

Standard-library ThreadingHTTPServer: each connection gets a thread, so
/health answers at once, while model work is serialised by engine.lock.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import api
from .engine import Engine
from .errors import ApiError, bad_request
from .loading import log

MAX_BODY = 64 * 1024 * 1024  # 64 MiB; larger bodies get 413 without being read

GET_ROUTES = {"/health": api.health, "/v1/models": api.list_models}
POST_ROUTES = {
    "/v1/chat/completions": api.chat_completions,
    "/v1/completions": api.completions,
    "/dramatis/chat": api.dramatis_chat,
    "/dramatis/complete": api.dramatis_complete,
    "/dramatis/score": api.dramatis_score,
    "/dramatis/activations": api.dramatis_activations,
    "/dramatis/finetune": api.dramatis_finetune,
    "/dramatis/adapters/load": api.dramatis_load_adapter,
}
# POST routes that never take the model lock (they act on the request that holds it).
UNLOCKED_POST_ROUTES = {"/dramatis/cut": api.dramatis_cut}


def _finite(obj):
    """Replace NaN/inf (not valid JSON) by null; only used when dumping failed."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj) -> bytes:
    try:
        s = json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        s = json.dumps(_finite(obj), allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    return s.encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "dramatis-worker"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # replaced by one JSON line per request in _finish

    @property
    def engine(self) -> Engine:
        return self.server.engine  # type: ignore[attr-defined]

    def _send(self, status: int, obj) -> None:
        data = dumps(obj)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to tell it

    def _stream(self, streamed) -> None:
        """A 200 whose body is NDJSON in chunks, one line per event as it happens. A failure after
        the headers is the last line, {"event": "error", "error": {...}}; a client that goes away
        ends the computation (the next write fails)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

        def emit(obj) -> None:
            data = dumps(obj) + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            try:
                last = streamed.run(emit)
            except (BrokenPipeError, ConnectionResetError):
                raise
            except ApiError as e:
                last = {"event": "error", **e.body(), "status": e.status}
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                last = {"event": "error", "error": {"message": f"{type(e).__name__}: {e}", "type": "internal_error"}, "status": 500}
            emit(last)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (it may have had all it wanted)

    def _path(self) -> str:
        path = self.path.split("?", 1)[0]
        return path[:-1] if len(path) > 1 and path.endswith("/") else path

    def _read_json(self) -> dict:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise bad_request("chunked request bodies are not supported; send Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise bad_request("invalid Content-Length header") from None
        if length > MAX_BODY:
            self.close_connection = True  # the unread body must not be parsed as a next request
            raise ApiError(413, f"request body of {length} bytes exceeds the limit of {MAX_BODY} bytes", "request_too_large")
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw.strip():
            raise bad_request("malformed JSON: empty request body")
        try:
            body = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise bad_request(f"malformed JSON: body is not UTF-8 ({e.reason} at byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise bad_request(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        if not isinstance(body, dict):
            raise bad_request("malformed JSON: the request body must be a JSON object")
        return body

    def _discard_body(self) -> None:
        """Consume an unused body so the kept-alive connection stays in sync."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 < length <= MAX_BODY:
            self.rfile.read(length)
        elif length != 0 or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True

    def _handle(self, method: str) -> None:
        t0 = time.time()
        path = self._path()
        status = 500
        try:
            if method == "GET" and path in GET_ROUTES:
                status, obj = 200, GET_ROUTES[path](self.engine)
            elif method == "POST" and path in UNLOCKED_POST_ROUTES:
                status, obj = 200, UNLOCKED_POST_ROUTES[path](self.engine, self._read_json())
            elif method == "POST" and path in POST_ROUTES:
                body = self._read_json()
                with self.engine.lock:  # one request at a time on the model
                    obj = POST_ROUTES[path](self.engine, body)
                    if isinstance(obj, api.Streamed):
                        self._stream(obj)  # computed while it is sent, still under the lock
                        obj = None
                status = 200
            elif path in GET_ROUTES or path in POST_ROUTES or path in UNLOCKED_POST_ROUTES:
                self._discard_body()
                raise ApiError(405, f"method {method} not allowed on {path}", "method_not_allowed")
            else:
                self._discard_body()
                raise ApiError(404, f"unknown route {method} {path}", "not_found_error")
        except ApiError as e:
            status, obj = e.status, e.body()
        except Exception as e:  # a bug or a torch failure: report it, keep serving
            traceback.print_exc(file=sys.stderr)
            status = 500
            obj = {"error": {"message": f"{type(e).__name__}: {e}", "type": "internal_error"}}
        if obj is not None:
            self._send(status, obj)
        log("request", method=method, path=path, status=status, ms=round((time.time() - t0) * 1000, 1))

    def do_GET(self):  # noqa: N802 - stdlib naming
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")


class WorkerServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck request thread never blocks exit
    allow_reuse_address = True

    def __init__(self, engine: Engine, host: str, port: int):
        self.engine = engine
        super().__init__((host, port), Handler)
