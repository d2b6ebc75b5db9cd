"""`rampart smoke` against a real HTTP server on loopback: healthy, slow, failing and warming-up endpoints."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rampart.cli import main
from rampart.ops.smoke import backoff
from tests.ops.conftest import run_json

WARM_FAILURES = 2  # /warm/<key> answers 503 this many times per key, then 200
SMOKE_SENTINEL = "sentinel-smoke-pw-61c0"


class _Handler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with self.lock:
            self.hits[self.path] += 1
            count = self.hits[self.path]
        if self.path == "/health":
            self._answer(200)
        elif self.path == "/redirect":
            self._answer(302, location="/health")
        elif self.path == "/chain":  # absolute, same origin, then relative: followed to the end
            self._answer(301, location=f"http://{self.headers['Host']}/redirect")
        elif self.path == "/loop":
            self._answer(302, location="/loop")
        elif self.path == "/to-foreign-with-credentials":
            self._answer(302, location=f"http://deploy:{SMOKE_SENTINEL}@example.invalid/health")
        elif self.path == "/to-error":
            self._answer(302, location="/fail")
        elif self.path.startswith("/to/"):  # /to/<url>: a redirect to anywhere
            self._answer(302, location=self.path.removeprefix("/to/"))
        elif self.path == "/slow":
            time.sleep(0.3)
            self._answer(200)
        elif self.path == "/hang":
            time.sleep(1.5)
            self._answer(200)
        elif self.path == "/fail":
            self._answer(500)
        elif self.path.startswith("/warm/"):
            self._answer(503 if count <= WARM_FAILURES else 200)
        elif self.path == "/prefix/health":
            self._answer(200)
        else:
            self._answer(404)

    def _answer(self, status: int, location: str | None = None) -> None:
        body = b"ok\n"
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out on /hang closes first: the broken pipe is expected, not news


@pytest.fixture(scope="module")
def server():
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _smoke(url: str, *args: str) -> list[str]:
    return ["smoke", "--url", url, "--backoff", "0.01", "--backoff-max", "0.05", *args]


def test_healthy_paths_pass(server, capsys):
    code, report = run_json(capsys, _smoke(server, "--path", "/health", "--path", "/redirect"))
    assert code == 0, report
    checks = {c["path"]: c for c in report["result"]["checks"]}
    assert checks["/health"]["status"] == 200 and checks["/health"]["attempts"] == 1
    assert checks["/redirect"]["status"] == 200  # a same-origin redirect is followed and judged where it ends


def test_failing_endpoint_fails_after_every_attempt(server, capsys):
    before = _Handler.hits["/fail"]
    code, report = run_json(capsys, _smoke(server, "--path", "/health", "--path", "/fail", "--attempts", "3"))
    assert code == 1
    check = next(c for c in report["result"]["checks"] if c["path"] == "/fail")
    assert check == {"path": "/fail", "status": 500, "latencyMs": check["latencyMs"], "attempts": 3, "ok": False,
                     "problems": ["HTTP 500"] * 3}
    assert _Handler.hits["/fail"] - before == 3


def test_not_found_fails(server, capsys):
    code, _ = run_json(capsys, _smoke(server, "--path", "/missing", "--attempts", "1"))
    assert code == 1


def test_warming_up_service_passes_after_retries(server, capsys):
    code, report = run_json(capsys, _smoke(server, "--path", "/warm/a", "--attempts", "4"))
    assert code == 0, report
    check = report["result"]["checks"][0]
    assert check["attempts"] == WARM_FAILURES + 1
    assert check["problems"] == ["HTTP 503"] * WARM_FAILURES


def test_warming_up_service_fails_with_too_few_attempts(server, capsys):
    code, _ = run_json(capsys, _smoke(server, "--path", "/warm/b", "--attempts", str(WARM_FAILURES)))
    assert code == 1


def test_latency_bound(server, capsys):
    code, report = run_json(capsys, _smoke(server, "--path", "/slow", "--attempts", "2", "--max-latency-ms", "150"))
    assert code == 1
    assert "ms > 150 ms" in report["result"]["checks"][0]["problems"][0]

    code, report = run_json(capsys, _smoke(server, "--path", "/slow", "--attempts", "1", "--max-latency-ms", "5000"))
    assert code == 0, report
    assert report["result"]["checks"][0]["latencyMs"] >= 250


def test_request_timeout_is_a_failed_attempt(server, capsys):
    code, report = run_json(capsys, _smoke(server, "--path", "/hang", "--attempts", "1", "--request-timeout", "0.2"))
    assert code == 1
    assert "timed out" in report["result"]["checks"][0]["problems"][0]


def test_connection_refused_is_a_failure_not_a_crash(capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, report = run_json(capsys, _smoke(f"http://127.0.0.1:{port}", "--attempts", "2"))
    assert code == 1
    assert "ConnectionRefusedError" in report["result"]["checks"][0]["problems"][0]


def test_url_prefix_is_kept(server, capsys):
    code, _ = run_json(capsys, _smoke(f"{server}/prefix/", "--path", "health", "--attempts", "1"))
    assert code == 0


def test_text_report(server, capsys):
    assert main(_smoke(server, "--path", "/health")) == 0
    assert "GET /health" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--url", "ftp://x"], ["--url", "http://x", "--attempts", "0"],
                                  ["--url", "http:///nohost"]])
def test_bad_input_is_exit_2(argv):
    assert main(["smoke", *argv]) == 2


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    waits = [[backoff(k, 1.0, 8.0, rng) for _ in range(200)] for k in range(6)]
    for k, samples in enumerate(waits):
        ceiling = min(8.0, 2.0 ** k)
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len({round(s, 6) for s in samples}) > 100  # jittered, not a fixed schedule
    assert max(waits[5]) <= 8.0


def test_text_report_survives_square_brackets(server, capsys):
    # Paths and AWS messages can hold "[/...]": rendered as markup they would crash the report.
    assert main(_smoke(server, "--path", "/a[/b]", "--attempts", "1")) == 1
    assert "GET /a[/b]" in capsys.readouterr().out


def test_same_origin_redirects_are_followed_to_the_final_answer(server, capsys):
    code, report = run_json(capsys, _smoke(server, "--path", "/chain"))
    assert code == 0, report
    assert report["result"]["checks"][0]["status"] == 200


@pytest.mark.parametrize(("path", "problem"), [
    ("/loop", "redirect loop"),
    ("/to-error", "HTTP 500"),
    ("/to/http://169.254.169.254/latest/meta-data/", "instance metadata"),
    ("/to/http://[fd00:ec2::254]/latest/meta-data/", "instance metadata"),
    ("/to/http://[fe80::1]/", "instance metadata"),
    ("/to/http://example.invalid/health", "another origin"),
])
def test_a_redirect_that_does_not_end_in_a_healthy_same_origin_answer_fails(server, capsys, path, problem):
    code, report = run_json(capsys, _smoke(server, "--path", path, "--attempts", "1"))
    assert code == 1, report
    check = report["result"]["checks"][0]
    assert not check["ok"] and problem in check["problems"][-1], check


@pytest.mark.parametrize("url", [
    f"ftp://deploy:{SMOKE_SENTINEL}@listener.internal/",  # not http(s)
    f"http://deploy:{SMOKE_SENTINEL}",  # the host forgotten: the password reads as the port
    f"https://deploy:{SMOKE_SENTINEL}@/health",  # no host
])
def test_a_bad_url_is_refused_without_echoing_it(url, capsys):
    assert main(_smoke(url)) == 2
    captured = capsys.readouterr()
    assert SMOKE_SENTINEL not in captured.out + captured.err
    assert "--url: expected an http:// or https:// URL" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("output", ["json", "text"])
def test_credentials_in_the_url_never_reach_the_report(server, capsys, output):
    """user:password (and a query token) in --url, or in a redirect's Location, are left out of what is printed."""
    url = server.replace("http://", f"http://deploy:{SMOKE_SENTINEL}@") + f"/?token={SMOKE_SENTINEL}"
    code = main([*_smoke(url, "--path", "/health", "--path", "/to-foreign-with-credentials", "--attempts", "1"),
                 "--format", output])
    assert code == 1
    printed = "".join(capsys.readouterr())
    assert SMOKE_SENTINEL not in printed
    assert "another origin http://example.invalid:" in printed
    if output == "json":
        assert f'"url": "{server}/"' in printed
