"""Where `rampart metrics` reads history: CodeDeploy's deployments (boto3) and GitHub's REST API (deployments,
commits, workflow runs) through a small urllib client. Token from GITHUB_TOKEN; base URL from GITHUB_API_URL."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from rampart.errors import OperationFailed, UsageError
from rampart.ops.aws import Aws, calling
from rampart.ops.dora import FAILED, SUCCEEDED, Deployment, Run

CODEDEPLOY_STATUS = {"Succeeded": SUCCEEDED, "Failed": FAILED, "Stopped": FAILED}
"""CodeDeploy's final states; InProgress, Ready, Baking... are still running and not counted yet."""
GITHUB_STATUS = {"success": SUCCEEDED, "inactive": SUCCEEDED, "failure": FAILED, "error": FAILED}
"""A deployment's latest status; `inactive` is a success a newer deployment superseded."""
_COMMIT = re.compile(r"\bcommit ([0-9a-f]{7,40})\b")
_BATCH = 25  # BatchGetDeployments takes at most 25 ids


def codedeploy_history(aws: Aws, *, service: str, environment: str, application: str, group: str,
                       since: datetime, until: datetime) -> list[Deployment]:
    client = aws.client("codedeploy")
    ids: list[str] = []
    with calling("codedeploy:ListDeployments", f"{application}/{group}"):
        for page in client.get_paginator("list_deployments").paginate(
                applicationName=application, deploymentGroupName=group, createTimeRange={"start": since, "end": until}):
            ids += page.get("deployments", [])
    found = []
    for start in range(0, len(ids), _BATCH):
        with calling("codedeploy:BatchGetDeployments", f"{application}/{group}"):
            infos = client.batch_get_deployments(deploymentIds=ids[start:start + _BATCH])["deploymentsInfo"]
        for info in infos:
            status = CODEDEPLOY_STATUS.get(info.get("status", ""), info.get("status", "").lower())
            # `rampart deploy --description "commit <sha> ..."` (deploy-stack.yml) records what was deployed.
            commit = _COMMIT.search(info.get("description") or "")
            found.append(Deployment(service=service, environment=environment, id=info["deploymentId"], status=status,
                                    created=info["createTime"], completed=info.get("completeTime"),
                                    commit=commit.group(1) if commit else None))
    return found


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class GitHub:
    """GET-only GitHub REST client: JSON answers, `Link: rel="next"` pagination, errors naming the path."""

    def __init__(self, repository: str, *, token: str | None = None, api_url: str | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}", repository):
            raise UsageError("--repository: expected OWNER/NAME (or GITHUB_REPOSITORY)")
        self.repository = repository
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
        self._token = token if token is not None else os.environ.get("GITHUB_TOKEN")

    def _get(self, url: str) -> tuple[Any, str | None]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "rampart-metrics"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        path = urllib.parse.urlsplit(url).path
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:  # noqa: S310
                body, link = json.loads(answer.read()), answer.headers.get("Link")
        except urllib.error.HTTPError as exc:
            hint = " (set GITHUB_TOKEN with read access)" if exc.code in (401, 403, 404) else ""
            raise OperationFailed(f"GitHub GET {path}: HTTP {exc.code}{hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OperationFailed(f"GitHub GET {path}: {getattr(exc, 'reason', exc)}") from None
        following = re.search(r'<([^>]+)>;\s*rel="next"', link or "")
        return body, following.group(1) if following else None

    def pages(self, path: str, params: dict[str, Any], key: str | None = None, limit: int = 1000) -> Iterator[Any]:
        url: str | None = f"{self.api_url}/repos/{self.repository}/{path}?{urllib.parse.urlencode(params)}"
        seen = 0
        while url and seen < limit:
            body, url = self._get(url)
            items = body[key] if key else body
            for item in items:
                seen += 1
                yield item

    def one(self, path: str) -> Any:
        return self._get(f"{self.api_url}/repos/{self.repository}/{path}")[0]

    def deployments(self, environment: str, since: datetime) -> list[Deployment]:
        found = []
        for item in self.pages("deployments", {"environment": environment, "per_page": 100}):
            created = parse_time(item["created_at"])
            if created < since:
                break  # newest first
            statuses = self.one(f"deployments/{item['id']}/statuses?per_page=1")
            latest = statuses[0] if statuses else {}
            payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
            found.append(Deployment(
                service=str(payload.get("service") or "*"), environment=environment, id=str(item["id"]),
                status=GITHUB_STATUS.get(latest.get("state", ""), latest.get("state", "pending")), created=created,
                completed=parse_time(latest["created_at"]) if latest.get("created_at") else None,
                commit=item.get("sha"), source="github"))
        return found

    def commit_times(self, previous: str | None, head: str) -> list[datetime]:
        """The commit times of the changes a deployment of `head` shipped after `previous` (compare API)."""
        if previous is None or previous == head:
            commit = self.one(f"commits/{head}")
            return [parse_time(commit["commit"]["committer"]["date"])]
        compared = self.one(f"compare/{previous}...{head}")
        return [parse_time(c["commit"]["committer"]["date"]) for c in compared.get("commits", [])]

    def runs(self, workflow: str, count: int) -> list[Run]:
        return [Run(id=r["id"], conclusion=r.get("conclusion"), started=parse_time(r["run_started_at"]),
                    updated=parse_time(r["updated_at"]))
                for r in self.pages(f"actions/workflows/{workflow}/runs", {"per_page": min(count, 100)},
                                    key="workflow_runs", limit=count)]


def window_start(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
