"""Events about comments on official accounts (producer: moderation)."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Event, EventData
from shared.settings import ServiceName

Action = Literal["remove", "answer", "review"]


class CommentFlaggedData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    action: Action = Field(description="What the policy asks: remove, answer or review.")
    categories: list[str] = Field(description="e.g. threat, personal_attack, question.")
    rules: list[str] = Field(description="Policy rule IDs that apply, e.g. P5.8.")
    due: AwareDatetime = Field(description="Removal (B1.7) or answer (P5.3) deadline.")


class CommentFlagged(Event):
    """A comment needs action under the policy (P5.2, P5.3, P5.8, P5.9)."""

    nats_subject: ClassVar[str] = "comment.flagged"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.flagged.v1"]
    data: CommentFlaggedData
