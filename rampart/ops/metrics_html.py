"""The metrics as one self-contained HTML page: tables and inline SVG charts over time, nothing fetched."""

from __future__ import annotations

import html
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

_W, _H, _PAD = 640, 160, 30


def _week(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return (moment - timedelta(days=moment.weekday())).date().isoformat()


def bars(title: str, counts: dict[str, float]) -> str:
    """One bar per label (weeks, oldest first)."""
    if not counts:
        return f"<p>{html.escape(title)}: no data</p>"
    top = max(counts.values()) or 1
    width = (_W - 2 * _PAD) / len(counts)
    parts = []
    for index, (label, value) in enumerate(sorted(counts.items())):
        height = (_H - 2 * _PAD) * value / top
        x, y = _PAD + index * width, _H - _PAD - height
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" height="{height:.1f}">'
                     f"<title>{html.escape(label)}: {value:g}</title></rect>")
    return _svg(title, "".join(parts), f"max {top:g}")


def points(title: str, series: list[tuple[str, float]], unit: str) -> str:
    """Values over time (x: time, y: value), joined by a line."""
    if not series:
        return f"<p>{html.escape(title)}: no data</p>"
    times = [datetime.fromisoformat(t).timestamp() for t, _ in series]
    low, span = min(times), (max(times) - min(times)) or 1
    top = max(v for _, v in series) or 1
    xy = [(_PAD + (_W - 2 * _PAD) * (t - low) / span, _H - _PAD - (_H - 2 * _PAD) * v / top)
          for t, (_, v) in zip(times, series, strict=True)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{html.escape(t)}: {v:g} {unit}</title></circle>'
                   for (x, y), (t, v) in zip(xy, series, strict=True))
    return _svg(title, f'<polyline fill="none" stroke="currentColor" points="{line}"/>{dots}', f"max {top:g} {unit}")


def _svg(title: str, body: str, scale: str) -> str:
    return (f'<figure><figcaption>{html.escape(title)} ({html.escape(scale)})</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
            f'role="img"><line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
            f"{body}</svg></figure>")


def _cell(value: Any) -> str:
    return "–" if value is None else html.escape(f"{value:.2f}" if isinstance(value, float) else str(value))


def render(report: dict[str, Any], deployments: list[dict[str, Any]]) -> str:
    columns = ("service", "environment", "deployments", "deploymentsPerDay", "leadTimeHours", "changeFailureRate",
               "timeToRestoreHours")
    rows = "".join("<tr>" + "".join(f"<td>{_cell(m[c])}</td>" for c in columns) + "</tr>" for m in report["metrics"])
    charts = []
    for m in report["metrics"]:
        name = f"{m['service']} in {m['environment']}"
        weekly = Counter(_week(d["completed"]) for d in deployments if d["service"] == m["service"]
                         and d["environment"] == m["environment"] and d["status"] == "succeeded")
        charts += [bars(f"{name}: successful deployments per week", dict(weekly)),
                   points(f"{name}: lead time for changes", [tuple(x) for x in m["leadTimes"]], "h")]
    health = report.get("pipeline")
    if health:
        charts.append(points(f"{health['workflow']}: run duration", [tuple(x) for x in health["durations"]], "min"))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    return ("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Delivery metrics</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .6em;border-bottom:1px solid #ddd}"
            "rect,circle{fill:#2b6cb0}</style>"
            f"<h1>Delivery metrics, last {report['days']} days</h1><table><tr>{head}</tr>{rows}</table>"
            + _health_table(health) + "".join(charts) + "</html>\n")


def _health_table(health: dict[str, Any] | None) -> str:
    if not health:
        return ""
    keys = ("runs", "failureRate", "medianMinutes", "p90Minutes", "trendMinutes")
    return (f"<h2>Pipeline health: {html.escape(health['workflow'])}</h2><table><tr>"
            + "".join(f"<th>{k}</th>" for k in keys) + "</tr><tr>"
            + "".join(f"<td>{_cell(health[k])}</td>" for k in keys) + "</tr></table>")
