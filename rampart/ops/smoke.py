"""HTTP smoke checks against the test listener, over http.client (no redirects followed: a 3xx is an answer)."""

from __future__ import annotations

import http.client
import random
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from rampart.errors import UsageError
from rampart.ops.report import Report


@dataclass(frozen=True, kw_only=True)
class SmokeOptions:
    url: str
    paths: tuple[str, ...] = ("/",)
    max_latency_ms: float = 2000.0
    attempts: int = 5
    request_timeout: float = 10.0
    backoff_base: float = 1.0
    backoff_max: float = 20.0
    insecure: bool = False


@dataclass(frozen=True)
class Attempt:
    status: int | None
    latency_ms: float
    problem: str | None


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: the k-th wait is uniform in [d/2, d], d = min(cap, base * 2^k)."""
    ceiling = min(cap, base * (2 ** attempt))
    return rng.uniform(ceiling / 2, ceiling)


def parse_url(url: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url: expected an http:// or https:// URL with a host, got {url!r}")
    return parts


def probe(base: urllib.parse.SplitResult, path: str, options: SmokeOptions,
          clock: Callable[[], float] = time.perf_counter) -> Attempt:
    prefix = base.path.rstrip("/")
    target = prefix + (path if path.startswith("/") else f"/{path}")
    if base.scheme == "https":
        context = ssl._create_unverified_context() if options.insecure else ssl.create_default_context()  # noqa: S323
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            base.hostname, base.port, timeout=options.request_timeout, context=context)
    else:
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=options.request_timeout)
    started = clock()
    try:
        connection.request("GET", target, headers={"User-Agent": "rampart-smoke", "Connection": "close"})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return Attempt(None, (clock() - started) * 1000, f"{type(exc).__name__}: {exc}".rstrip(": "))
    finally:
        connection.close()
    latency = (clock() - started) * 1000
    if not 200 <= status < 400:
        return Attempt(status, latency, f"HTTP {status}")
    if latency > options.max_latency_ms:
        return Attempt(status, latency, f"{latency:.0f} ms > {options.max_latency_ms:g} ms")
    return Attempt(status, latency, None)


def run_smoke(options: SmokeOptions, report: Report, sleep: Callable[[float], None] = time.sleep,
              rng: random.Random | None = None) -> None:
    base = parse_url(options.url)
    rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
    results = []
    for path in options.paths:
        tries: list[Attempt] = []
        for attempt in range(options.attempts):
            if attempt:
                sleep(backoff(attempt - 1, options.backoff_base, options.backoff_max, rng))
            report.progress(f"GET {path} (attempt {attempt + 1}/{options.attempts})")
            outcome = probe(base, path, options)
            tries.append(outcome)
            if outcome.problem is None:
                break
        last = tries[-1]
        record = {"path": path, "status": last.status, "latencyMs": round(last.latency_ms, 1),
                  "attempts": len(tries), "ok": last.problem is None,
                  "problems": [t.problem for t in tries if t.problem]}
        results.append(record)
        summary = f"HTTP {last.status}, {last.latency_ms:.0f} ms, {len(tries)} attempt(s)"
        if last.problem is None:
            report.ok(f"GET {path}", summary)
        else:
            report.fail(f"GET {path}", f"{last.problem} after {len(tries)} attempt(s)")
    report.result["url"] = options.url
    report.result["checks"] = results
