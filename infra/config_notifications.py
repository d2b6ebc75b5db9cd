"""Stack config of who hears about the stack: e-mail subscribers and chat channels."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    StringConstraints,
)

from infra.config_base import _Model


class SlackChatConfig(_Model):
    """A Slack channel of a workspace already authorised in the AWS Chatbot console (ids, not names)."""

    team_id: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,255}$")]
    channel_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,255}$")]


class TeamsChatConfig(_Model):
    """A Microsoft Teams channel of a team already authorised in the AWS Chatbot console."""

    tenant_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f-]{36}$")]
    team_id: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f-]{36}$")]
    channel_id: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S+$")]


class NotificationsConfig(_Model):
    emails: tuple[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...] = ()
    slack: SlackChatConfig | None = None
    """Optional: the topic's messages in a Slack channel through AWS Chatbot (components/chat_notifications.py)."""
    teams: TeamsChatConfig | None = None
    """Optional: the same in a Microsoft Teams channel."""
