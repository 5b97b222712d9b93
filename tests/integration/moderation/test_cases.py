"""Moderation on real NATS and the store: comments in, read against the policy, cases
opened, decided, escalated and watched in time. Each test is named after its rule."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.moderation.handlers import read_comment
from shared.bus.streams import EVENTS_STREAM
from shared.events import (
    AdminAbsent,
    AdminAbsentData,
    CommentFlagged,
    CommentFlaggedData,
    CommentReceived,
    PostData,
    PostPublished,
)
from shared.ids import new_id
from shared.principal import Role
from tests.helpers import eventually, settled_through
from tests.integration.moderation.harness import (
    ADMIN,
    ANNA,
    BENGT,
    CONNECTOR,
    MODERATOR,
    SECURITY,
    Moderation,
    moderation,
)
from tests.integration.registry.harness import headers

THREAT = "Jag ska döda dig och hela din familj, jag vet var du bor."
CRITICISM = "Politikerna i den här kommunen borde skämmas, äldreomsorgen är en skandal!"
QUESTION = "Hur gör jag för att anmäla ett trasigt gatlyse på Prästgatan?"
ATTACK = "Anna du är en jävla idiot och borde sparkas, din fula kärring"
ADVERT = "Köp billiga solglasögon nu! 70% rabatt, klicka här: https://billigt.example/rea"
CONFIDENTIAL = "Min granne Karl Svensson, 19121212-1212, har cancer och får försörjningsstöd."


@pytest.fixture
async def mod(nats_url: str, mongodb_url: str) -> AsyncIterator[Moderation]:
    async with moderation(nats_url, mongodb_url) as running:
        yield running


async def test_p5_8_threat_opens_a_case_and_escalates_with_a_police_report_draft(
    mod: Moderation,
) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, THREAT)
    case = await mod.case_opened(comment_id)
    assert case["label"] == "remove"
    assert case["category"] == "threat"
    assert "P5.8" in case["rules"]
    assert case["evidence"], "a moderator sees why"
    assert case["escalated"]
    assert {o["email"] for o in case["owners"]} == {ANNA.email, BENGT.email}
    [flagged] = await mod.events("comment.flagged", comment_id)
    assert flagged["data"]["action"] == "remove"
    [escalated] = await mod.events("moderation.escalated", comment_id)
    data = escalated["data"]
    told = {p["email"] for p in data["notify"]}
    assert told == {"sakerhet@nora.example", "naringsliv@nora.example"}  # and the enhetschef
    report = data["police_report"]
    assert report["text"] == THREAT
    assert report["archive_reference"] == comment_id
    assert report["account_name"] == name
    assert report["offence"].startswith("olaga hot")
    assert report["author"]["id"] == "10001"
    # The säkerhetssamordnare reads the case too.
    answer = await mod.client.get(f"/cases/{comment_id}", headers=SECURITY)
    assert answer.status_code == 200


async def test_p6_harsh_criticism_is_kept_and_opens_no_case(mod: Moderation) -> None:
    account_id, name = await mod.account()
    comment_id = await mod.comment(name, CRITICISM)  # read and stored: its case came first
    [kept] = await mod.comments(account_id, comment_id)
    assert (kept["label"], kept["category"]) == ("keep", "criticism")
    answer = await mod.client.get(f"/cases/{comment_id}", headers=MODERATOR)
    assert answer.status_code == 404
    assert await mod.events("comment.flagged", comment_id) == []


async def test_p6_a_removal_without_a_policy_category_is_refused(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, ADVERT)
    await mod.case_opened(comment_id)
    refused = await mod.decide(comment_id, resolution="remove", reason="reklam")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["rule"] == "P6"
    refused = await mod.decide(
        comment_id, resolution="remove", reason="kritik", category="criticism"
    )
    assert refused.status_code == 422
    assert "P6" in refused.text


async def test_p5_9_a_personal_attack_is_never_answered(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, ATTACK)
    case = await mod.case_opened(comment_id)
    assert case["category"] == "personal_attack"
    refused = await mod.decide(comment_id, resolution="answer", reply="Vi förstår dig.")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["rule"] == "P5.9"


async def test_p5_2_removal_is_announced_for_the_archive_and_audited(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, ADVERT)
    await mod.case_opened(comment_id)
    claimed = await mod.client.post(f"/cases/{comment_id}/claim", headers=MODERATOR)
    assert claimed.status_code == 200
    other = headers("olle", Role.COMMUNICATOR)
    taken = await mod.client.post(f"/cases/{comment_id}/claim", headers=other)
    assert taken.status_code == 409
    decided = await mod.decide(
        comment_id, resolution="remove", reason="Reklam för en webbutik", category="advertising"
    )
    assert decided.status_code == 200, decided.text
    case = decided.json()
    # No connector credentials: the removal is on the case, to do by hand, never skipped.
    assert case["state"] == "by_hand"
    assert case["to_do_by_hand"]
    [removed] = await mod.events("comment.removed", comment_id)
    assert removed["data"]["category"] == "advertising"
    assert removed["data"]["by"]["subject"] == "cecilia"
    [decision] = await mod.events("moderation.decided", comment_id)
    assert decision["data"]["to_do_by_hand"] is True
    done = await mod.client.post(
        f"/cases/{comment_id}/done-by-hand",
        json={"note": "Borttagen i Meta Business Suite"},
        headers=MODERATOR,
    )
    assert done.json()["state"] == "closed"
    audit = await mod.client.get("/audit", params={"since": "2026-11-01T00:00:00Z"}, headers=ADMIN)
    assert audit.status_code == 200
    actions = [(e["action"], e["by"]) for e in audit.json() if e["case_id"] == comment_id]
    assert actions == [
        ("opened", "kanalvakt"),
        ("claimed", "cecilia"),
        ("decided:remove", "cecilia"),
        ("done_by_hand", "cecilia"),
    ]
    reasons = [e["reason"] for e in audit.json() if e["action"] == "decided:remove"]
    assert "Reklam för en webbutik" in reasons


async def test_p5_3_a_question_is_answered_with_the_reply_recorded(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, QUESTION)
    case = await mod.case_opened(comment_id)
    assert case["label"] == "answer"
    assert case["category"] == "question"
    refused = await mod.decide(comment_id, resolution="answer")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reply"
    reply = "Anmäl det på kommunens webbplats under Felanmälan, så lagar vi det."
    answered = await mod.decide(comment_id, resolution="answer", reply=reply)
    assert answered.status_code == 200, answered.text
    [decision] = await mod.events("moderation.decided", comment_id)
    assert decision["data"]["reply"] == reply
    assert "P5.3" in decision["data"]["rules"]


async def test_p5_4_a_question_is_forwarded_to_a_case_officer(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, QUESTION)
    await mod.case_opened(comment_id)
    refused = await mod.decide(comment_id, resolution="forward", reason="bygglov")
    assert refused.json()["errors"][0]["rule"] == "P5.4"
    officer = {"name": "Handläggare Bygg", "email": "bygg@nora.example"}
    forwarded = await mod.decide(
        comment_id, resolution="forward", reason="Bygglovsfråga", forward_to=officer
    )
    assert forwarded.status_code == 200
    [decision] = await mod.events("moderation.decided", comment_id)
    assert decision["data"]["forwarded_to"]["email"] == "bygg@nora.example"


async def test_p5_10_a_mistake_of_ours_is_corrected(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, "Det står fel öppettider på er sida, när har ni öppet?")
    await mod.case_opened(comment_id)
    refused = await mod.decide(comment_id, resolution="correct", reason="fel tider")
    assert refused.json()["errors"][0]["rule"] == "P5.10"
    corrected = await mod.decide(
        comment_id,
        resolution="correct",
        reason="Fel öppettider publicerade",
        reply="Du har rätt, vi skrev fel. Biblioteket har öppet 10–19. Tack!",
    )
    assert corrected.status_code == 200
    [decision] = await mod.events("moderation.decided", comment_id)
    assert "P5.10" in decision["data"]["rules"]


async def test_p10_3_confidential_content_is_hidden_at_once_or_put_to_do_by_hand(
    mod: Moderation,
) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, CONFIDENTIAL)
    case = await mod.case_opened(comment_id)
    assert case["category"] == "confidential"

    async def hidden_or_by_hand() -> bool:
        return bool((await mod.case(comment_id))["to_do_by_hand"])

    await eventually(hidden_or_by_hand, what="the hiding tried")
    [event] = await mod.events("comment.confidential", comment_id)
    assert event["data"]["hidden"] is False  # no connector credentials here
    assert "19121212" not in str(event), "the number stays in the record only (L7)"
    assert "19121212" not in str(await mod.events("comment.flagged", comment_id))


async def test_p5_1_an_absent_administrators_cases_go_to_the_substitute(
    mod: Moderation,
) -> None:
    account_id, name = await mod.account()
    substitute = {"name": "Sara Ställföreträdare", "email": "sara@nora.example"}
    absence = AdminAbsentData(
        absence_id="abs1",
        administrator=ANNA,
        account_ids=[account_id],
        starts_at=mod.clock.now,
        ends_at=mod.clock.now + timedelta(days=7),
        substitute=substitute,
    )
    await mod.announce(AdminAbsent.new("nora", "abs1", absence, mod.clock.now))

    async def substituted() -> bool:
        answer = await mod.client.get(f"/accounts/{account_id}", headers=MODERATOR)
        return bool(answer.json()["absent"])

    await eventually(substituted, what="absence noted")
    comment_id = await mod.comment(name, ADVERT)
    case = await mod.case_opened(comment_id)
    assert {o["email"] for o in case["owners"]} == {"sara@nora.example", BENGT.email}
    mine = await mod.client.get("/cases", params={"owner": "sara@nora.example"}, headers=MODERATOR)
    assert comment_id in [c["id"] for c in mine.json()]


async def test_p3_4_a_question_on_a_post_goes_to_the_posts_author_first(
    mod: Moderation,
) -> None:
    account_id, name = await mod.account()
    post = PostData(
        comment_id="facebook-post77",
        platform="facebook",
        platform_id="post77",
        account_id=account_id,
        account_name=name,
        author={"id": "page1", "name": "Nora kommun", "is_kommun": True},
        text="Nu öppnar vi den nya lekparken!",
        created_at=mod.clock.now,
        received_at=mod.clock.now,
        published_by={"name": "Petra Postare", "email": "petra@nora.example"},
    )
    await mod.announce(PostPublished.new("nora", post.comment_id, post, mod.clock.now))
    await eventually(lambda: _has_comment(mod, account_id, "facebook-post77"), what="post kept")
    comment_id = await mod.comment(name, "När öppnar lekparken på lördagar?", post_id="post77")
    case = await mod.case_opened(comment_id)
    assert case["owners"][0]["email"] == "petra@nora.example"


async def _has_comment(mod: Moderation, account_id: str, comment_id: str) -> bool:
    found = await mod.client.get(f"/accounts/{account_id}/comments", headers=MODERATOR)
    return any(c["id"] == comment_id for c in found.json())


async def test_b1_7_deadlines_warn_before_and_breach_at_in_monitored_hours(
    mod: Moderation,
) -> None:
    _, name = await mod.account(removal_hours=8)  # one monitored day: mon–fri 08–16
    comment_id = await mod.comment(name, ADVERT)  # Monday 10:00 Swedish time
    case = await mod.case_opened(comment_id)
    assert case["due"].startswith("2026-11-24T09:00")  # Tuesday 10:00, counted in the window
    mod.clock.advance(hours=20)  # Tuesday 06:00 Swedish: within the 4 h warning
    await mod.sweep()
    [warning] = await mod.events("sla.warning", comment_id)
    assert {o["email"] for o in warning["data"]["owners"]} == {ANNA.email, BENGT.email}
    assert await mod.events("sla.breached", comment_id) == []
    mod.clock.advance(hours=4)
    await mod.sweep()
    await mod.sweep()  # a second sweep (or replica) says nothing more
    assert len(await mod.events("sla.breached", comment_id)) == 1
    assert len(await mod.events("sla.warning", comment_id)) == 1


def _gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(f"kanalvakt_moderation_{name}", {"kommun": "nora"} | labels)


async def test_b1_7_p5_3_p10_3_the_sweep_gauges_the_open_cases_by_age_and_deadline(
    mod: Moderation,
) -> None:
    # Read from the store by the sweep (only the fields they need, issue 13): what a
    # dashboard shows of the deadlines and of confidential comments still visible.
    _, name = await mod.account(removal_hours=8, answer_hours=8)
    advert = await mod.comment(name, ADVERT)
    await mod.comment(name, QUESTION)
    confidential = await mod.comment(name, CONFIDENTIAL)
    for case_id in (advert, confidential):
        await mod.case_opened(case_id)

    async def tried_to_hide() -> bool:
        return bool((await mod.case(confidential))["to_do_by_hand"])

    await eventually(tried_to_hide, what="the hiding tried")
    await mod.sweep()
    assert _gauge("open_cases", label="remove", age="lt_1h") == 2
    assert _gauge("open_cases", label="answer", age="lt_1h") == 1
    assert _gauge("overdue_cases", label="remove") == 0
    assert _gauge("confidential_not_hidden") == 1

    decided = await mod.decide(advert, resolution="remove", reason="Reklam", category="advertising")
    assert decided.status_code == 200, decided.text
    mod.clock.advance(days=3)  # past every deadline, in the oldest band
    await mod.sweep()
    assert _gauge("open_cases", label="remove", age="lt_1h") == 0
    assert _gauge("open_cases", label="remove", age="gt_48h") == 1
    assert _gauge("open_cases", label="answer", age="gt_48h") == 1
    assert _gauge("overdue_cases", label="remove") == 1
    assert _gauge("overdue_cases", label="answer") == 1
    assert _gauge("confidential_not_hidden") == 1


async def test_p5_2_l2_a_comment_event_delivered_again_after_a_look_changes_nothing(
    mod: Moderation,
) -> None:
    # The stored comment is what says its event was handled (no handled-mark, issue 13):
    # a copy of the event past JetStream's de-duplication opens no second case, says
    # nothing again and does not make the account wait again after a moderator looked.
    account_id, name = await mod.account()
    comment_id = await mod.comment(name, ATTACK)
    await mod.case_opened(comment_id)
    [received] = await mod.events("comment.received", comment_id)
    looked = await mod.client.get("/cases", params={"account_id": account_id}, headers=MODERATOR)
    assert looked.status_code == 200
    copy = await mod.js.publish(
        "comment.received.nora",
        json.dumps(received).encode(),
        stream=EVENTS_STREAM,
        headers={"Nats-Msg-Id": f"{received['id']}-again"},
    )
    await eventually(
        lambda: settled_through(mod.js, EVENTS_STREAM, "moderation-comment-received", copy.seq),
        what="the copy handled",
    )
    assert len(await mod.events("comment.received", comment_id)) == 2
    assert len(await mod.events("comment.flagged", comment_id)) == 1
    answer = await mod.client.get(f"/accounts/{account_id}", headers=MODERATOR)
    assert answer.json()["waiting_since"] is None
    assert len(await mod.comments(account_id, comment_id)) == 1  # (itself a look)


async def test_p5_2_l2_issue_13_a_comment_is_read_with_one_read_of_its_account(
    mod: Moderation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A storm reads every comment: its account is read once, for the case and for the
    # wait both (L2), not once for each.
    account_id, name = await mod.account()
    first = await mod.comment(name, ATTACK)
    [received] = await mod.events("comment.received", first)
    comment_id = f"{first}x"
    event = CommentReceived.model_validate(
        received | {"id": new_id(), "data": received["data"] | {"comment_id": comment_id}}
    )
    deps = mod.app.state.deployment.of("nora")
    reads: list[str] = []
    read = deps.store.accounts.get

    async def counted(item_id: str) -> Any:
        reads.append(item_id)
        return await read(item_id)

    monkeypatch.setattr(deps.store.accounts, "get", counted)
    await read_comment(event, deps)
    monkeypatch.undo()
    assert reads == [account_id]
    assert (await mod.case_opened(comment_id))["category"] == "personal_attack"
    assert len(await mod.comments(account_id, comment_id)) == 1


async def test_l2_an_account_nobody_looks_at_is_unsupervised(mod: Moderation) -> None:
    account_id, name = await mod.account()
    await mod.comment(name, CRITICISM)
    mod.clock.advance(hours=7)
    await mod.sweep()
    assert await mod.events("account.unsupervised", account_id) == []
    mod.clock.advance(hours=24)  # a whole monitored day later, nobody has looked
    await mod.sweep()
    [gap] = await mod.events("account.unsupervised", account_id)
    assert gap["data"]["account_name"] == name
    looked = await mod.client.get("/cases", params={"account_id": account_id}, headers=MODERATOR)
    assert looked.status_code == 200
    answer = await mod.client.get(f"/accounts/{account_id}", headers=MODERATOR)
    assert answer.json()["waiting_since"] is None


async def test_p5_8_a_threat_in_a_storm_s_batch_is_escalated_before_the_request_answers(
    mod: Moderation,
) -> None:
    # A storm queues thousands of comments for the consumer: a threat is read within the
    # request that delivers it, so its escalation never waits behind them (issue 13).
    _, name = await mod.account()
    batch = [mod.item(name, CRITICISM) for _ in range(60)]
    threat = mod.item(name, THREAT)
    batch[45] = threat
    batch.append(dict(batch[3]))  # the same delivery twice in one batch
    answer = await mod.client.post("/ingest", json=batch, headers=CONNECTOR)
    assert answer.status_code == 202, answer.text
    statuses = [r["status"] for r in answer.json()]
    assert statuses == ["received"] * 60 + ["duplicate"]
    threat_id = answer.json()[45]["comment_id"]
    case = await mod.case(threat_id)  # already: no waiting for the queue
    assert (case["category"], case["escalated"]) == ("threat", True)
    [escalated] = await mod.events("moderation.escalated", threat_id)
    assert escalated["data"]["police_report"]["text"] == THREAT
    # The batch's events went out with it: nothing left in the deliveries' outbox.
    assert await mod.app.state.deployment.of("nora").store.deliveries.outbox.pending() == 0
    # The consumer reads it again later and changes nothing: one case, one escalation.
    await eventually(
        lambda: _read_all(mod, [r["comment_id"] for r in answer.json()[:60]]),
        what="every comment of the batch read",
    )
    assert len(await mod.events("comment.received", threat_id)) == 1
    assert len(await mod.events("moderation.escalated", threat_id)) == 1
    assert len(await mod.events("comment.flagged", threat_id)) == 1


async def _read_all(mod: Moderation, comment_ids: list[str]) -> bool:
    found = await mod.client.get(
        f"/accounts/{next(iter(mod.accounts.values()))}/comments",
        params={"limit": 500},
        headers=MODERATOR,
    )
    return {c["id"] for c in found.json()} >= set(comment_ids)


async def test_p5_2_a_comment_delivered_twice_is_one_comment(mod: Moderation) -> None:
    _, name = await mod.account()
    item = mod.item(name, ADVERT)
    first = await mod.client.post("/ingest", json=[item], headers=CONNECTOR)
    again = await mod.client.post("/ingest", json=item, headers=CONNECTOR)
    assert first.json()[0]["status"] == "received"
    assert again.json()[0]["status"] == "duplicate"
    comment_id = first.json()[0]["comment_id"]
    await mod.case_opened(comment_id)
    assert len(await mod.events("comment.received", comment_id)) == 1


async def test_p10_1_a_comment_on_an_account_not_in_the_register_is_refused(
    mod: Moderation,
) -> None:
    _, name = await mod.account()
    batch = [mod.item(name, QUESTION), mod.item("okantkonto", QUESTION)]
    answer = await mod.client.post("/ingest", json=batch, headers=CONNECTOR)
    assert answer.status_code == 207
    first, second = answer.json()
    assert first["status"] == "received"
    assert second["status"] == "refused"
    assert "okantkonto" in second["error"]
    staff = await mod.client.post("/ingest", json=batch, headers=MODERATOR)
    assert staff.status_code == 403  # only a connector delivers


async def test_p5_2_a_persons_report_opens_a_case(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, "Jaha, det var ju intressant.")
    reported = await mod.client.post(
        "/reports",
        json={"comment_id": comment_id, "category": "copyright", "reason": "Kopierad artikel"},
        headers=MODERATOR,
    )
    assert reported.status_code == 201, reported.text
    case = reported.json()
    assert case["source"] == "report"
    assert case["history"][0]["action"] == "reported"


async def test_p5_8_an_edit_that_turns_a_question_into_a_threat_escalates(
    mod: Moderation,
) -> None:
    _, name = await mod.account()
    item = mod.item(name, QUESTION)
    taken = await mod.client.post("/ingest", json=item, headers=CONNECTOR)
    comment_id = taken.json()[0]["comment_id"]
    assert (await mod.case_opened(comment_id))["label"] == "answer"
    edit = item | {
        "kind": "edit",
        "text": THREAT,
        "created_at": mod.clock.advance(minutes=5).isoformat(),
    }
    assert (await mod.client.post("/ingest", json=edit, headers=CONNECTOR)).status_code == 202

    async def escalated() -> bool:
        return bool((await mod.case(comment_id))["escalated"])

    await eventually(escalated, what="the edited comment escalated")
    case = await mod.case(comment_id)
    assert (case["label"], case["category"], case["text"]) == ("remove", "threat", THREAT)
    assert len(await mod.events("moderation.escalated", comment_id)) == 1


async def test_p5_2_another_systems_flag_opens_a_case(mod: Moderation) -> None:
    account_id, name = await mod.account()
    comment_id = await mod.comment(name, "Jaha, det var ju intressant.")
    flag = CommentFlaggedData(
        comment_id=comment_id,
        account_id=account_id,
        action="remove",
        categories=["copyright"],
        rules=["P5.8"],
        source="system",
        reason="Bilden är upphovsrättsskyddad enligt bildbyrån",
    )
    await mod.announce(CommentFlagged.new("nora", comment_id, flag, mod.clock.now))
    case = await mod.case_opened(comment_id)
    assert (case["label"], case["category"], case["source"]) == ("remove", "copyright", "system")


async def test_p6_a_report_of_criticism_never_asks_a_removal(mod: Moderation) -> None:
    _, name = await mod.account()
    comment_id = await mod.comment(name, CRITICISM)
    reported = await mod.client.post(
        "/reports",
        json={"comment_id": comment_id, "category": "criticism", "reason": "Elak mot oss"},
        headers=MODERATOR,
    )
    assert reported.json()["label"] == "answer"
