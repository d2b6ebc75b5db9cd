"""A fault-injecting HTTP proxy between boto3 and moto's server (or any plain HTTP server).

Each request is matched by its AWS action (the `X-Amz-Target` header of the JSON protocols, the
`/operation/<Action>` path of Smithy RPC v2 CBOR, or the `Action=` form field of the query/EC2 protocols) and
counted per action; a rule fires on the Nth matching call (and the `times - 1` after it, or every later one when
`times` is None). Error bodies are written in the protocol the client spoke, so botocore parses them exactly as
it parses AWS's: its retry policy, its error codes and its exceptions are the real ones under test.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("throttle", "500", "503", "denied", "reset", "slow", "gone", "lost", "sigint", "answer", "html")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}

# (status, code for query/EC2 services, code for JSON/CBOR services): the codes AWS documents for each case.
ERRORS = {
    "throttle": (400, "Throttling", "ThrottlingException"),
    "500": (500, "InternalFailure", "InternalFailure"),
    "503": (503, "ServiceUnavailable", "ServiceUnavailableException"),
    "denied": (403, "AccessDenied", "AccessDeniedException"),
}


@dataclass
class Rule:
    action: str
    """AWS action name (`CreateDBSnapshot`), a request path for plain HTTP, or `*` for every call."""
    fault: str
    nth: int = 1
    times: int | None = 1
    resource: str | None = None
    """Only calls whose request body names this (a snapshot id, a deployment id): one resource, every attempt."""
    delay: float = 3.0
    """For `slow`: seconds held before forwarding (set it beyond the client's read timeout)."""
    body: dict | None = None
    """For `answer`: the response the proxy gives itself, for what moto cannot do (a deployment that progresses)."""

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {', '.join(FAULTS)}")

    def fires(self, count: int) -> bool:
        return count >= self.nth and (self.times is None or count < self.nth + self.times)


@dataclass
class Call:
    action: str
    fault: str | None


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    sigint_pid: int | None = None
    """The process a `sigint` rule interrupts (a command run in a subprocess)."""

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._counts: dict[int, int] = {}
        self._lock = threading.Lock()
        self._forward_lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None
        self.gone = False
        self.answer: dict | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if not self.gone:
            self.gone = True
            self._server.shutdown()
            self._server.server_close()

    def reset(self, *rules: Rule) -> None:
        with self._lock:
            self.rules, self.calls, self._counts = list(rules), [], {}

    def actions(self) -> list[str]:
        return [call.action for call in self.calls]

    def decide(self, action: str, body: str = "") -> str | None:
        """The fault for this call, if any; every call is logged with it. Counts are per rule: the Nth call that
        rule matches."""
        with self._lock:
            fault = None
            self.answer = None
            for index, rule in enumerate(self.rules):
                if rule.action not in (action, "*") or (rule.resource and rule.resource not in body):
                    continue
                count = self._counts[index] = self._counts.get(index, 0) + 1
                if fault is None and rule.fires(count):
                    fault, self.answer = rule.fault, rule.body
            self.calls.append(Call(action, fault))
            return fault

    def delay_for(self, action: str) -> float:
        return next((r.delay for r in self.rules if r.fault == "slow" and r.action in (action, "*")), 3.0)

    def vanish(self) -> None:
        """The endpoint goes away: the listening socket closes, so every later connection is refused."""
        threading.Thread(target=self.stop, daemon=True).start()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        # One call at a time: AWS takes a retry that arrives while the lost first attempt is still being worked on,
        # where moto, given the same restore twice at once, answers an HTML 500 (a loaded machine's flake).
        with self._forward_lock:
            connection = http.client.HTTPConnection(*self._upstream, timeout=30)
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                connection.close()


def action_of(path: str, headers: dict[str, str], body: bytes) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if "/operation/" in path:
        return path.rsplit("/operation/", 1)[-1].split("?", 1)[0]
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    action = (form.get("Action") or query.get("Action") or [None])[0]
    return action or urllib.parse.urlsplit(path).path


def error_response(fault: str, action: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    status, query_code, json_code = ERRORS[fault]
    message = f"injected {fault} on {action}"
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        body = _cbor_map({"__type": json_code, "message": message})
        return status, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}, body
    if headers.get("x-amz-target"):
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": json_code}, body
    if "/ec2/aws4_request" in headers.get("authorization", ""):
        code = "RequestLimitExceeded" if fault == "throttle" else query_code
        xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
               "<RequestID>fault-proxy</RequestID></Response>")
        return status, {"Content-Type": "text/xml"}, xml.encode()
    xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>{message}</Message>"
           "</Error><RequestId>fault-proxy</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, xml.encode()


def answer_response(body: dict, headers: dict[str, str]) -> tuple[list[tuple[str, str]], bytes]:
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")], _cbor(body)
    return [("Content-Type", "application/x-amz-json-1.1")], json.dumps(body).encode()


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", length)
    return bytes([major << 5 | 26]) + struct.pack(">I", length)


def _cbor(value: object) -> bytes:
    """CBOR (RFC 8949) of JSON-like values: what an AWS RPC v2 body holds."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(_cbor(item) for item in value)
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(_cbor(k) + _cbor(v) for k, v in value.items())
    raise TypeError(f"no CBOR for {type(value).__name__}")


def _cbor_map(items: dict[str, str]) -> bytes:
    return _cbor(items)


def _reset(connection: socket.socket) -> None:
    """Close with RST, not FIN: the client sees `connection reset by peer`, as when a load balancer drops it."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a socket this proxy reset on purpose, or a client that timed out first: expected, not news


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
            return

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            action = action_of(self.path, headers, body)
            fault = proxy.decide(action, urllib.parse.unquote_plus(body.decode("utf-8", "replace")))
            if fault in ("reset", "gone"):
                if fault == "gone":
                    proxy.vanish()
                self.close_connection = True
                _reset(self.connection)
                return
            if fault == "answer":
                self._reply(200, *answer_response(proxy.answer or {}, headers))
                return
            if fault == "html":  # an error page from something between the client and AWS (a proxy, a balancer)
                self._reply(502, [("Content-Type", "text/html")], b"<!doctype html><title>502 Bad Gateway</title>")
                return
            if fault in ERRORS:
                status, extra, payload = error_response(fault, action, headers)
                self._reply(status, list(extra.items()), payload)
                return
            if fault == "slow":
                time.sleep(proxy.delay_for(action))
            if fault == "sigint" and proxy.sigint_pid:
                os.kill(proxy.sigint_pid, signal.SIGINT)
            forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            status, reply_headers, payload = proxy.forward(self.command, self.path, forwarded, body)
            if fault == "lost":  # the upstream did the work; the client never hears of it
                self.close_connection = True
                _reset(self.connection)
                return
            self._reply(status, [(k, v) for k, v in reply_headers if k.lower() not in HOP_BY_HOP
                                 and k.lower() != "content-length"], payload)

        def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            try:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (a read timeout): nothing left to tell it
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

    return Handler
