"""PDF/A snapshots of accounts: taken at a larger change, before closing, at an archivist's
request and every year; kept with their SHA-256, announced, once per event (P10.5, L8);
a sealed record's text never in one (P10.3)."""

import hashlib
import io
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from services.archive.handlers import snapshots as snapshot_handlers
from services.archive.handlers.snapshots import snapshots_due
from shared.bus.streams import EVENTS_STREAM
from shared.events import AccountCreated, Event
from tests.helpers import eventually, settled_through
from tests.integration.archive.harness import (
    ARCHIVIST,
    COMMUNICATOR,
    MONDAY,
    REGISTRAR,
    Archive,
    Clock,
    archive,
    later,
)


async def _settled(kept: Archive, event: Event, msg_id: str = "") -> None:
    """Publish the event (again, under another message id if given) and wait until the
    archive's consumer of its subject has settled it and everything before it."""
    ack = await kept.js.publish(
        event.address,
        event.model_dump_json().encode(),
        stream=EVENTS_STREAM,
        headers={"Nats-Msg-Id": msg_id or event.id},
    )
    durable = f"archive-{event.nats_subject.replace('.', '-')}"
    await eventually(
        lambda: settled_through(kept.js, EVENTS_STREAM, durable, ack.seq),
        what=f"{event.nats_subject} settled",
    )


async def _snapshots(kept: Archive, account: AccountCreated, n: int) -> list[dict[str, Any]]:
    """The account's snapshots once there are `n`, newest first."""
    found: list[dict[str, Any]] = []

    async def ready() -> bool:
        nonlocal found
        answer = await kept.client.get(
            "/snapshots", params={"account_id": account.data.account_id}, headers=ARCHIVIST
        )
        assert answer.status_code == 200, answer.text
        found = answer.json()
        return len(found) >= n

    await eventually(ready, what=f"{n} snapshots", within=60)
    assert len(found) == n, found
    return found


async def _take(kept: Archive, account: AccountCreated) -> dict[str, Any]:
    answer = await kept.client.post(
        f"/accounts/{account.data.account_id}/snapshots", headers=ARCHIVIST
    )
    assert answer.status_code == 201, answer.text
    taken: dict[str, Any] = answer.json()
    return taken


def _overdue() -> float | None:
    return REGISTRY.get_sample_value("kanalvakt_archive_snapshots_overdue", {"kommun": "nora"})


def _taken(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "kanalvakt_archive_snapshots_total", {"kommun": "nora", "reason": reason}
    )
    return value or 0.0


def _unembedded_fonts(reader: PdfReader) -> list[str]:
    """Every font used on any page (descendants of Type0 fonts and fonts of form
    XObjects included) whose descriptor embeds no font file."""
    missing: list[str] = []

    def check_font(font: DictionaryObject) -> None:
        if font.get("/Subtype") == "/Type0":
            descendants = font["/DescendantFonts"].get_object()
            assert isinstance(descendants, ArrayObject)
            for descendant in descendants:
                check_font(descendant.get_object())
            return
        if font.get("/Subtype") == "/Type3":
            return  # glyphs drawn by the PDF itself: nothing to embed
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            missing.append(str(font.get("/BaseFont")))

    def check_resources(resources: DictionaryObject | None) -> int:
        if resources is None:
            return 0
        fonts = resources.get("/Font")
        used = 0
        for ref in (fonts.get_object() if fonts is not None else {}).values():
            check_font(ref.get_object())
            used += 1
        xobjects = resources.get("/XObject")
        for ref in (xobjects.get_object() if xobjects is not None else {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                used += check_resources(xobject.get("/Resources"))
        return used

    used = 0
    for page in reader.pages:
        resources = page.get("/Resources")
        used += check_resources(resources.get_object() if resources is not None else None)
    assert used > 0, "no fonts found: the check checked nothing"
    return missing


async def test_P10_5_L8_a_snapshot_is_PDF_A_3b_with_fonts_embedded_and_its_SHA_256(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await kept.publish(kept.comment(account, "Varför är vägen inte plogad?"))
        post = await kept.publish(kept.post(account, "Plogningen börjar klockan sex."))
        secret = kept.comment(account, "Mitt personnummer är 19121212-1212, ring mig om bygglovet")
        await kept.publish(secret)
        await kept.publish(kept.confidential(secret, later(MONDAY, minutes=1)))
        await kept.kept(comment.subject)
        await kept.kept(post.subject)
        await kept.kept(secret.subject, lambda r: r["confidential"])

        taken = await _take(kept, account)
        answer = await kept.client.get(f"/snapshots/{taken['id']}/pdf", headers=ARCHIVIST)

        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        pdf = answer.content
        reader = PdfReader(io.BytesIO(pdf))
        xmp = reader.xmp_metadata
        assert xmp is not None
        assert (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "B")
        assert _unembedded_fonts(reader) == []
        sha256 = hashlib.sha256(pdf).hexdigest()
        assert answer.headers["x-content-sha256"] == sha256
        assert taken["sha256"] == sha256
        assert taken["size_bytes"] == len(pdf)
        assert (taken["reason"], taken["pdf_variant"]) == ("requested", "pdf/a-3b")
        created = await kept.events("snapshot.created", taken["id"])
        assert [e["data"]["sha256"] for e in created] == [sha256]
        assert created[0]["data"]["reason"] == "requested"

        text = " ".join(page.extract_text() for page in reader.pages)
        assert "Varför är vägen inte plogad?" in text
        assert "Plogningen börjar klockan sex." in text
        assert "Ögonblicksbild" in text
        assert "[sekretess]" in text
        assert "19121212-1212" not in text
        assert "bygglovet" not in text
        assert "Informera företagare om kommunens service" in text  # the plan's purpose


async def test_P10_5_snapshots_read_by_the_archive_roles_and_taken_by_the_archivist(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        taken = await _take(kept, account)

        one = await kept.client.get(f"/snapshots/{taken['id']}", headers=REGISTRAR)
        by_communicator = await kept.client.get(f"/snapshots/{taken['id']}", headers=COMMUNICATOR)
        registrar_takes = await kept.client.post(
            f"/accounts/{account.data.account_id}/snapshots", headers=REGISTRAR
        )
        unknown = await kept.client.post("/accounts/nosuchaccount/snapshots", headers=ARCHIVIST)
        no_snapshot = await kept.client.get("/snapshots/nosuchsnapshot/pdf", headers=ARCHIVIST)

        assert one.status_code == 200
        assert one.json() == taken
        assert "pdf" not in one.json()
        assert by_communicator.status_code == 403
        assert registrar_takes.status_code == 403
        assert unknown.status_code == 404
        assert "account_id" in unknown.text
        assert no_snapshot.status_code == 404
        assert "snapshot_id" in no_snapshot.text


async def test_P10_5_a_purpose_change_takes_a_snapshot_administrators_alone_none(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()

        await _settled(kept, kept.updated(account, ["plan.administrators"]))
        assert await _snapshots(kept, account, 0) == []

        changed = kept.updated(account, ["plan.purpose"])
        await kept.publish(changed)
        [snapshot] = await _snapshots(kept, account, 1)
        assert snapshot["reason"] == "changed"

        # The same event again, past JetStream's duplicate window (a new message id).
        await _settled(kept, changed, msg_id=f"{changed.id}-again")
        assert [s["id"] for s in await _snapshots(kept, account, 1)] == [snapshot["id"]]
        assert len(await kept.events("snapshot.created", snapshot["id"])) == 1


async def test_L8_closing_takes_a_snapshot_and_a_closed_account_is_never_due(
    nats_url: str, mongodb_url: str
) -> None:
    clock = Clock()
    async with archive(nats_url, mongodb_url, clock) as kept:
        account = await kept.account()
        closing = kept.closed(account)
        await kept.publish(closing)
        [snapshot] = await _snapshots(kept, account, 1)
        assert snapshot["reason"] == "closing"
        await _settled(kept, closing, msg_id=f"{closing.id}-again")

        clock.advance(days=400)
        await snapshots_due(kept.app.state.deployment, clock.now)

        assert len(await _snapshots(kept, account, 1)) == 1
        assert _overdue() == 0


async def test_P10_5_L8_a_year_on_the_due_task_takes_a_yearly_snapshot(
    nats_url: str, mongodb_url: str
) -> None:
    clock = Clock()
    async with archive(nats_url, mongodb_url, clock) as kept:
        account = await kept.account()
        await _take(kept, account)
        deployment = kept.app.state.deployment

        await snapshots_due(deployment, clock.now)
        assert len(await _snapshots(kept, account, 1)) == 1
        yearly_before = _taken("yearly")

        clock.advance(days=365)  # interval_days: a year after the last one
        await snapshots_due(deployment, clock.now)
        await snapshots_due(deployment, clock.now)  # a second replica's sweep: none more

        newest, _ = await _snapshots(kept, account, 2)
        assert newest["reason"] == "yearly"
        assert newest["taken_at"].startswith(clock.now.date().isoformat())
        assert _overdue() == 0
        assert _taken("yearly") == yearly_before + 1
        assert len(await kept.events("snapshot.created", newest["id"])) == 1


async def test_P10_5_a_snapshot_that_cannot_be_rendered_is_counted_overdue(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    async with archive(nats_url, mongodb_url, clock) as kept:
        account = await kept.account()
        await _take(kept, account)

        def broken(html: str) -> bytes:
            raise RuntimeError("rendering failed")

        monkeypatch.setattr(snapshot_handlers, "pdf_a", broken)
        clock.advance(days=400)
        await snapshots_due(kept.app.state.deployment, clock.now)
        assert _overdue() == 1

        monkeypatch.undo()
        await snapshots_due(kept.app.state.deployment, clock.now)
        assert _overdue() == 0
        assert len(await _snapshots(kept, account, 2)) == 2
