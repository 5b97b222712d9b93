"""What a connector delivers: one post, comment, edit or deletion on a platform, as the
generic ingest endpoint takes it and as the Meta webhook is mapped to it.

Pure: the API validates a body into `Inbound`; `to_event` turns it into the event that
carries it on (comment.received, post.published, comment.edited, comment.deleted).
"""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import (
    Author,
    CommentDeleted,
    CommentDeletedData,
    CommentEdited,
    CommentEditedData,
    CommentReceived,
    Event,
    ItemData,
    PersonRef,
    PostData,
    PostPublished,
)
from shared.events.account import Platform

Kind = Literal["comment", "post", "edit", "delete"]


class Inbound(BaseModel):
    """One item from a platform. `account` is the account's name (handle) there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = Field(description="comment, post (the kommun's own), edit or delete.")
    platform: Platform
    platform_id: str = Field(min_length=1, max_length=200, description="The platform's id.")
    account: str = Field(min_length=1, max_length=200, description="The account's name there.")
    post_id: str = Field(default="", max_length=200, description="The post it belongs to.")
    reply_to: str = Field(default="", max_length=200, description="The comment it answers.")
    author: Author | None = Field(default=None, description="Required for comment and post.")
    text: str = Field(default="", max_length=100_000)
    links: list[str] = Field(default_factory=list, max_length=100)
    url: str = Field(default="", max_length=2000)
    created_at: AwareDatetime = Field(description="When it was written (or changed).")
    how: Literal["removed", "hidden"] = Field(default="removed", description="For delete.")
    published_by: PersonRef | None = Field(
        default=None, description="For a post: the staff member who wrote it (P3.4)."
    )

    @property
    def comment_id(self) -> str:
        """Ours, stable: a comment delivered twice is one comment."""
        return comment_id(self.platform, self.platform_id)

    @property
    def key(self) -> str:
        """What makes a delivery the same delivery again (a webhook retried)."""
        moment = self.created_at.isoformat() if self.kind in ("edit", "delete") else ""
        return f"{self.kind}:{self.comment_id}:{moment}"


def comment_id(platform: str, platform_id: str) -> str:
    return f"{platform}-{platform_id}"


class MissingAuthor(ValueError):
    """A comment or post without its author: the field and the rule, for a 4xx or the DLQ."""


def to_event(item: Inbound, kommun: str, account_id: str, received_at: datetime) -> Event:
    """The event that carries the item on; `account_id` is the registry's."""
    ident = item.comment_id
    if item.kind == "edit":
        edited = CommentEditedData(
            comment_id=ident, account_id=account_id, text=item.text, edited_at=item.created_at
        )
        return CommentEdited.new(kommun, ident, edited, received_at)
    if item.kind == "delete":
        deleted = CommentDeletedData(
            comment_id=ident, account_id=account_id, how=item.how, at=item.created_at
        )
        return CommentDeleted.new(kommun, ident, deleted, received_at)
    if item.author is None:
        raise MissingAuthor(f"author: a {item.kind} needs its author (P10.6)")
    fields = {
        "comment_id": ident,
        "platform": item.platform,
        "platform_id": item.platform_id,
        "account_id": account_id,
        "account_name": item.account,
        "post_id": item.post_id,
        "reply_to": item.reply_to,
        "author": item.author,
        "text": item.text,
        "links": item.links,
        "url": item.url,
        "created_at": item.created_at,
        "received_at": received_at,
    }
    if item.kind == "post":
        post = PostData(**fields, published_by=item.published_by)
        return PostPublished.new(kommun, ident, post, received_at)
    return CommentReceived.new(kommun, ident, ItemData(**fields), received_at)
