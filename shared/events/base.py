"""The CloudEvents 1.0 envelope every Kanalvakt event travels in (structured JSON mode).

An event type is one subclass: it names its NATS subject (`<entity>.<event>`), the
service that produces it, its versioned CloudEvents `type` and the model of its `data`.
Every event belongs to one kommun: the `kommun` extension attribute, also the last token
of the subject it is published on (`account.created.<kommun>`), so a subscriber takes
one kommun's events with `*.*.<kommun>` and every kommun's of one type with `account.created.*`.
Every CloudEvents attribute is required on the wire; producers use `Event.new()`, which
fills in id, type, source and time. Consumers ignore fields they do not know, so adding
a field keeps the version; removing or changing one makes a new `…vN` type
(docs/events.md, "Versioning").
"""

from datetime import datetime
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.clock import utcnow
from shared.ids import new_id
from shared.kommun import KommunId
from shared.settings import ServiceName

TYPE_PREFIX = "se.kanalvakt."


class EventData(BaseModel):
    """Base of every event's `data`: unknown fields are ignored (tolerant reader)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    nats_subject: ClassVar[str]
    producer: ClassVar[ServiceName]
    version: ClassVar[int] = 1

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, description="Unique per event (ULID).")
    source: str = Field(min_length=1, description="URI-reference of the producing service.")
    type: str = Field(description="Reverse-DNS event type with its version.")
    subject: str = Field(min_length=1, description="Id of the entity the event is about.")
    kommun: KommunId = Field(
        description="Extension attribute: id of the kommun whose event this is (its "
        "`kommun.id`); the last token of the NATS subject."
    )
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: EventData

    @classmethod
    def new(cls, kommun: str, subject: str, data: EventData, time: datetime | None = None) -> Self:
        """A new event of `kommun` from its producer: id, type and source filled in."""
        return cls(
            specversion="1.0",
            id=new_id(),
            type=cls.cloudevents_type(),
            source=cls.source_of(),
            subject=subject,
            kommun=kommun,
            data=data,
            time=time or utcnow(),
        )

    @property
    def address(self) -> str:
        """The NATS subject this event is published on: `<entity>.<event>.<kommun>`."""
        return f"{self.nats_subject}.{self.kommun}"

    @classmethod
    def address_template(cls) -> str:
        """The subject as AsyncAPI documents it; FastStream subscribes to it as `….*`."""
        return f"{cls.nats_subject}.{{kommun}}"

    @classmethod
    def cloudevents_type(cls) -> str:
        return f"{TYPE_PREFIX}{cls.nats_subject}.v{cls.version}"

    @classmethod
    def source_of(cls) -> str:
        return f"/kanalvakt/{cls.producer.value}"

    @classmethod
    def entity(cls) -> str:
        return cls.nats_subject.split(".", 1)[0]
