"""Host a Python policy pack for `rampart check`: what the Pulumi CLI runs (`python -m pulumi.policy <engine> <pack>`),
with the pack's own Analyzer servicer answering over two pipes instead of a gRPC port.

Run by path under the pack's interpreter, so it imports nothing of Rampart:
`python -u pack_host.py <requests-fd> <responses-fd> <engine> <pack dir>`.

Why: the analyzer protocol has no batched Analyze, and Python gRPC costs about 1 ms of CPU per call between the two
processes, five times what the pack's policies spend on a resource (bench/README.md). What the pack is given is
unchanged: `pulumi.policy`'s own `__main__` runs the pack, `PolicyPack` builds its servicer and registers it with
`grpc.server()`, and each request is the same protobuf message the CLI would send, handed to the same generated
handler (its deserializer, the servicer method, its serializer). Only the server `PolicyPack` asks for is replaced:
once it holds the Analyzer service, it prints `pipe` where a gRPC server would print its port, then answers one
request at a time until its requests pipe closes. If the pack registers no Analyzer service before asking for a
port, a real gRPC server is started as usual and the port is printed: the engine then speaks gRPC.

What a pack could notice: its servicer runs on the main thread, one call at a time (gRPC's server runs up to four
at once on pool threads), and `context.set_code`/`set_details` on a call that returns are not sent. A policy that
raises SystemExit ends this process, which the engine reports as the pack ending, where gRPC's pool would swallow
it and leave the call to time out.

Frames: a request is a header (the length of the method's full name in 1 byte, the message's in 4), the name and
the message; a response is its length (4 bytes), a status byte (0 = OK, else the gRPC status code) and the response
message, or on failure the details gRPC would send (`Exception calling application: ...`, logged as gRPC's server
logs it).
"""

from __future__ import annotations

import os
import sys

# As under `python -m`: the pack's directory first on the path, not this file's (before anything else is imported,
# so no module beside this file can stand in for one of the standard library's); nothing under PYTHONSAFEPATH.
if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
    sys.path[0] = os.getcwd()

import logging  # noqa: E402
import runpy  # noqa: E402
import struct  # noqa: E402
from typing import Any  # noqa: E402

PIPE_READY = b"pipe\n"
_SERVICE = "pulumirpc.Analyzer"
_OK, _UNKNOWN = 0, 2


class _Abort(Exception):
    def __init__(self, code: Any, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class _Context:
    """What a servicer method may ask of its gRPC context (pulumi_policy's ask nothing)."""

    def __init__(self) -> None:
        self.code: Any = None
        self.details = ""

    def abort(self, code: Any, details: str) -> None:
        raise _Abort(code, details)

    def set_code(self, code: Any) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details

    def is_active(self) -> bool:
        return True

    def time_remaining(self) -> None:
        return None

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def peer(self) -> str:
        return "rampart-check"


class _CallDetails:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


class PipeServer:
    """Stands in for the `grpc.server(...)` the pack asks for; a real one is made only if no Analyzer is registered."""

    def __init__(self, make_real: Any, requests_fd: int, responses_fd: int) -> None:
        self._make_real = make_real
        self._requests_fd, self._responses_fd = requests_fd, responses_fd
        self._generic_handlers: list[Any] = []
        self._real: Any = None

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self._generic_handlers.extend(handlers)
        if self._real is not None:
            self._real.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: Any) -> None:
        import grpc

        self.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service_name, method_handlers),))

    def _serves_analyzer(self) -> bool:
        return self._handler(f"/{_SERVICE}/Analyze") is not None

    def _handler(self, method: str) -> Any:
        for generic in self._generic_handlers:
            handler = generic.service(_CallDetails(method))
            if handler is not None:
                return handler
        return None

    def add_insecure_port(self, address: str) -> int:
        if self._serves_analyzer():
            return 0
        self._real = self._make_real()
        self._real.add_generic_rpc_handlers(tuple(self._generic_handlers))
        return self._real.add_insecure_port(address)

    def start(self) -> None:
        if self._real is not None:
            self._real.start()
            return
        sys.stdout.buffer.write(PIPE_READY)
        sys.stdout.buffer.flush()
        self._serve()
        raise SystemExit(0)  # past PolicyPack's serve-forever loop and pulumi.policy's `except Exception`

    def stop(self, grace: Any = None) -> None:
        if self._real is not None:
            self._real.stop(grace)

    def _serve(self) -> None:
        requests = os.fdopen(self._requests_fd, "rb")
        responses = os.fdopen(self._responses_fd, "wb")
        handlers: dict[str, Any] = {}
        while True:
            header = requests.read(5)
            if len(header) < 5:
                return  # the engine closed its end: the check is over
            name_length, size = struct.unpack(">BI", header)
            method = requests.read(name_length).decode()
            payload = requests.read(size)
            if method not in handlers:
                handlers[method] = self._handler(method)
            status, body = _answer(handlers[method], method, payload)
            responses.write(struct.pack(">IB", len(body) + 1, status) + body)
            responses.flush()


def _answer(handler: Any, method: str, payload: bytes) -> tuple[int, bytes]:
    """One call as a gRPC server answers it: the response, or the status and details a failure gets."""
    if handler is None:
        return 12, f"Method not found: {method}".encode()  # UNIMPLEMENTED, as gRPC answers it
    context = _Context()
    try:
        response = handler.unary_unary(handler.request_deserializer(payload), context)
        return _OK, handler.response_serializer(response)
    except _Abort as aborted:
        return _code_value(aborted.code), aborted.details.encode(errors="replace")
    except Exception as exception:  # noqa: BLE001 (what gRPC's server does with a raising handler)
        try:
            details = f"Exception calling application: {exception}"
        except Exception:  # noqa: BLE001
            details = "Calling application raised unprintable Exception!"
        # gRPC's server logs it here (and adds no handler: a pack that configures none prints nothing).
        logging.getLogger("grpc._server").exception(details)
        return _UNKNOWN, details.encode(errors="replace")


def _code_value(code: Any) -> int:
    value = getattr(code, "value", None)
    return value[0] if isinstance(value, tuple) else _UNKNOWN


def main() -> None:
    requests_fd, responses_fd = int(sys.argv[1]), int(sys.argv[2])
    for fd in (requests_fd, responses_fd):
        # Not inherited by anything the pack starts: a child holding the answers pipe open would hide this
        # process's end from the engine, which would then wait out each call's deadline.
        os.set_inheritable(fd, False)
    sys.argv = [sys.argv[0], *sys.argv[3:]]
    import grpc

    real_server = grpc.server

    def server(*args: Any, **kwargs: Any) -> PipeServer:
        grpc.server = real_server  # only the first server, the pack's, is replaced
        return PipeServer(lambda: real_server(*args, **kwargs), requests_fd, responses_fd)

    grpc.server = server
    runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
