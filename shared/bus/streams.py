"""Every JetStream stream Kanalvakt uses, declared here and nowhere else."""

from faststream.nats import JStream, RetentionPolicy, StorageType

from shared.events import ALL_EVENTS

EVENTS_STREAM = "KANALVAKT_EVENTS"
DLQ_STREAM = "KANALVAKT_DLQ"
DLQ_PREFIX = "dlq."

_DAY = 24 * 3600.0


def event_subjects() -> list[str]:
    """One wildcard per entity, so a new event of a known entity needs no stream change."""
    return sorted({f"{event.entity()}.>" for event in ALL_EVENTS})


def events_stream(duplicate_window_seconds: float, replicas: int = 1) -> JStream:
    # Events are kept 90 days: long enough for a consumer that was down to catch up;
    # the archive keeps the public record for as long as the retention rules say.
    return JStream(
        EVENTS_STREAM,
        description="Kanalvakt domain events, <entity>.<event>.<kommun>",
        subjects=event_subjects(),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=90 * _DAY,
        duplicate_window=duplicate_window_seconds,
        num_replicas=replicas,
    )


def dlq_stream(duplicate_window_seconds: float, replicas: int = 1) -> JStream:
    # Dead letters wait a year for someone to read, fix and replay them.
    return JStream(
        DLQ_STREAM,
        description="Events no consumer could accept, with the reason in headers",
        subjects=[f"{DLQ_PREFIX}>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=365 * _DAY,
        duplicate_window=duplicate_window_seconds,
        num_replicas=replicas,
    )
