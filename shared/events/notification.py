"""Events about notifications (producer: notify). A notification is one message to one
recipient by one channel about one event; no event repeats a message's text."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Event, EventData
from shared.settings import ServiceName

Channel = Literal["email", "webhook"]


class NotificationFailedData(EventData):
    notification_id: str = Field(min_length=1)
    event_id: str = Field(min_length=1, description="The event the notification was about.")
    event_type: str = Field(description="Its subject without the kommun, e.g. comment.flagged.")
    channel: Channel
    recipient: str = Field(description="The person's name or the webhook's name.")
    address: str = Field(description="The e-mail address or the webhook's name (never a key).")
    attempts: int = Field(ge=1)
    last_error: str = Field(description="Why the last attempt failed.")
    failed_at: AwareDatetime


class NotificationFailed(Event):
    """Every attempt to deliver a notification failed (issue 11): someone must tell the
    recipient another way. The attempt log stays in notify's delivery log."""

    nats_subject: ClassVar[str] = "notification.failed"
    producer: ClassVar[ServiceName] = ServiceName.NOTIFY
    type: Literal["se.kanalvakt.notification.failed.v1"]
    data: NotificationFailedData
