"""HTTP smoke checks against the test listener, over http.client.

A check passes only on a 2xx. Redirects within the listener's own origin are followed (at most MAX_REDIRECTS) and
judged where they end; a loop, a redirect elsewhere, and above all one to the instance metadata address fail: a
listener that sends the checker to 169.254.169.254 is broken or hostile, never healthy."""

from __future__ import annotations

import http.client
import ipaddress
import random
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from rampart.errors import UsageError
from rampart.ops.report import Report

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
# IMDS on IPv4 and on Nitro's IPv6 endpoint, and link-local ranges as a whole (ECS task metadata lives there too).
METADATA_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"),
                     ipaddress.ip_network("fd00:ec2::254/128"))


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
    """The URL, or a UsageError saying what is wrong with it without echoing it: it can carry user:password."""
    parts = urllib.parse.urlsplit(url)
    expected = "--url: expected an http:// or https:// URL with a host"
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"{expected}; the scheme is not http or https")
    try:
        parts.port  # noqa: B018 - urllib parses the port lazily, and its error quotes it
    except ValueError:
        raise UsageError(f"{expected}; the port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise UsageError(f"{expected}; it has no host")
    return parts


def display_url(url: str) -> str:
    """The URL as a report shows it: never user:password nor the query, either of which can hold a credential."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, _origin_host(parts), parts.path, "", ""))


def _origin_host(parts: urllib.parse.SplitResult) -> str:
    """host[:port] without user information."""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def probe(base: urllib.parse.SplitResult, path: str, options: SmokeOptions,
          clock: Callable[[], float] = time.perf_counter) -> Attempt:
    prefix = base.path.rstrip("/")
    target = prefix + (path if path.startswith("/") else f"/{path}")
    started = clock()
    seen: list[str] = []
    for _ in range(MAX_REDIRECTS + 1):
        status, location, problem = _get(base, target, options)
        latency = (clock() - started) * 1000
        if problem is not None:
            return Attempt(None, latency, problem)
        assert status is not None
        if status not in REDIRECTS or not location:
            break
        seen.append(target)
        target, refused = _follow(base, target, location, seen)
        if refused:
            return Attempt(status, latency, refused)
    else:
        return Attempt(status, latency, f"more than {MAX_REDIRECTS} redirects (HTTP {status})")
    where = f" at {target} after {len(seen)} redirect(s)" if seen else ""
    if not 200 <= status < 300:
        return Attempt(status, latency, f"HTTP {status}{where}")
    if latency > options.max_latency_ms:
        return Attempt(status, latency, f"{latency:.0f} ms > {options.max_latency_ms:g} ms")
    return Attempt(status, latency, None)


def _get(base: urllib.parse.SplitResult, target: str, options: SmokeOptions
         ) -> tuple[int | None, str | None, str | None]:
    """(status, Location, problem) of one GET on the listener's own origin."""
    if base.scheme == "https":
        context = ssl._create_unverified_context() if options.insecure else ssl.create_default_context()  # noqa: S323
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            base.hostname, base.port, timeout=options.request_timeout, context=context)
    else:
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=options.request_timeout)
    try:
        connection.request("GET", target, headers={"User-Agent": "rampart-smoke", "Connection": "close"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location"), None
    except (OSError, http.client.HTTPException) as exc:
        return None, None, f"{type(exc).__name__}: {exc}".rstrip(": ")
    finally:
        connection.close()


def _follow(base: urllib.parse.SplitResult, current: str, location: str, seen: list[str]) -> tuple[str, str | None]:
    """(next target, None) for a redirect to follow, or (current, why it is refused)."""
    origin = f"{base.scheme}://{_origin_host(base)}"
    nxt = urllib.parse.urlsplit(urllib.parse.urljoin(origin + current, location))
    where = f"{nxt.scheme}://{_origin_host(nxt)}"  # never user:password, path or query: a token could ride in them
    try:
        address = ipaddress.ip_address(nxt.hostname or "")
    except ValueError:
        address = None
    if address is not None and any(address in network for network in METADATA_NETWORKS):
        return current, f"redirect to the instance metadata address {where}: refused"
    if (nxt.scheme, nxt.hostname, nxt.port or _default_port(nxt.scheme)) != \
            (base.scheme, base.hostname, base.port or _default_port(base.scheme)):
        return current, f"redirect to another origin {where}: not followed (the listener must answer itself)"
    target = urllib.parse.urlunsplit(("", "", nxt.path or "/", nxt.query, ""))
    if target in seen:
        return current, f"redirect loop: {' -> '.join([*seen, target])}"
    return target, None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


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
    report.result["url"] = display_url(options.url)
    report.result["checks"] = results
