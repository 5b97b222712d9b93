"""Events about public records (producer: archive).

A record's id is the item's: a comment's or post's `comment_id`, or `account-<account id>`
for an account's plan and its changes. No event repeats a record's text (L7): a
confidential record is referred to by its id and its diary number only.
"""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Event, EventData
from shared.settings import ServiceName

RecordKind = Literal["account", "post", "comment"]
Origin = Literal["inkommen", "upprättad"]


class RecordRegisteredData(EventData):
    record_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    kind: RecordKind
    origin: Origin | None = Field(description="L4: received or drawn up; unknown until seen.")
    diary_number: str = Field(
        min_length=1, description="In the kommun's format, e.g. KS 2026/000123 (P10.3)."
    )
    registered_at: AwareDatetime
    sender: str = Field(description="Who wrote it, as the platform names them.")
    summary: str = Field(description="What it is, without its secret content (L7).")
    confidential: bool = Field(description="Registered because it may be confidential.")
    reason: str = Field(description="What made it registered, e.g. comment.confidential.")


class RecordRegistered(Event):
    """A record was registered in the diarium (P10.3, L5): the kommun's case-management
    system may take it over by its diary number."""

    nats_subject: ClassVar[str] = "record.registered"
    producer: ClassVar[ServiceName] = ServiceName.ARCHIVE
    type: Literal["se.kanalvakt.record.registered.v1"]
    data: RecordRegisteredData


class RecordCulledData(EventData):
    log_id: str = Field(min_length=1, description="The culling log entry (itself kept).")
    rule_id: str = Field(min_length=1, description="The retention rule applied.")
    decision: str = Field(description="The decision the rule rests on (L6).")
    culled_at: AwareDatetime
    count: int = Field(ge=1)
    record_ids: list[str]


class RecordCulled(Event):
    """Records went under a decided retention rule (gallring, P10.2, L6, L7); the culling
    log says which, why and when, and their hashes keep the chain verifiable."""

    nats_subject: ClassVar[str] = "record.culled"
    producer: ClassVar[ServiceName] = ServiceName.ARCHIVE
    type: Literal["se.kanalvakt.record.culled.v1"]
    data: RecordCulledData


class SnapshotCreatedData(EventData):
    snapshot_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    account_name: str
    reason: Literal["yearly", "changed", "closing", "requested"] = Field(
        description="Why it was taken (P10.5, L8)."
    )
    taken_at: AwareDatetime
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the PDF file.")
    size_bytes: int = Field(gt=0)
    pdf_variant: str = Field(description="e.g. pdf/a-3b.")


class SnapshotCreated(Event):
    """A PDF/A snapshot of an account was taken and kept (P10.5, L8)."""

    nats_subject: ClassVar[str] = "snapshot.created"
    producer: ClassVar[ServiceName] = ServiceName.ARCHIVE
    type: Literal["se.kanalvakt.snapshot.created.v1"]
    data: SnapshotCreatedData
