"""Issue 14, moderation's pages in-process, against a stand-in moderation API: the queue
by deadline with the time left (B1 item 7, P5.3) and escalations marked (P5.8), a case
with its comment in context and why it was flagged, and the decisions (P5.2–P5.4, P5.9,
P5.10, P6) with their keys and the API's refusals beside their fields."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.web.conftest import FakeRegistry, csrf_of, sign_in

NOW = datetime.now(UTC)


def _case(case_id: str, due: datetime, **changes: Any) -> dict[str, Any]:
    """A case as services/moderation/api.py's CaseView gives it."""
    case: dict[str, Any] = {
        "id": case_id,
        "account_id": "01JACCOUNT",
        "account_name": "norakommun",
        "platform": "facebook",
        "label": "remove",
        "category": "personal_attack",
        "rules": ["P5.9"],
        "evidence": [{"rule": "P5.9", "category": "personal_attack", "matched": ["idiot"]}],
        "source": "classifier",
        "text": "Du är en idiot.",
        "author": {"id": "5550001", "name": "Arg Medborgare", "is_kommun": False},
        "url": "https://www.facebook.com/987_1",
        "written_at": (NOW - timedelta(hours=1)).isoformat(),
        "received_at": (NOW - timedelta(hours=1)).isoformat(),
        "due": due.isoformat(),
        "owners": [],
        "state": "open",
        "claimed_by": "",
        "resolution": None,
        "decided_at": None,
        "escalated": False,
        "hidden": False,
        "to_do_by_hand": [],
        "history": [
            {
                "at": (NOW - timedelta(hours=1)).isoformat(),
                "by": "kanalvakt",
                "name": "Kanalvakt",
                "action": "opened",
                "reason": "",
                "detail": "",
            }
        ],
    }
    return case | changes


def _comment(ident: str, kind: str, text: str, minutes: int, **changes: Any) -> dict[str, Any]:
    comment: dict[str, Any] = {
        "id": f"facebook-{ident}",
        "kind": kind,
        "platform_id": ident,
        "post_id": "" if kind == "post" else "987",
        "reply_to": "",
        "author": {"id": "1", "name": "Nora kommun", "is_kommun": kind == "post"},
        "text": text,
        "created_at": (NOW - timedelta(minutes=minutes)).isoformat(),
        "gone": "",
    }
    return comment | changes


LATE = _case("facebook-987_0", NOW - timedelta(minutes=30))
SOON = _case(
    "facebook-987_1",
    NOW + timedelta(hours=2, minutes=10),
    label="remove",
    category="threat",
    rules=["P5.8"],
    escalated=True,
    text="Jag vet var du bor.",
)
LATER = _case(
    "facebook-987_2", NOW + timedelta(days=1, hours=3), label="answer", category="question"
)


def _json(body: Any, status: int = 200) -> Any:
    return lambda request: httpx.Response(status, json=body)


def test_issue_14_queue_by_deadline_with_time_left_and_escalations_marked(
    client: TestClient, registry: FakeRegistry
) -> None:
    # Given out of order: the page sorts by deadline itself.
    registry.on("GET", "/cases", _json([LATER, SOON, LATE]))
    sign_in(client)
    page = client.get("/moderation")
    assert page.status_code == 200
    html = page.text
    order = [html.index(f"/moderation/{c['id']}") for c in (LATE, SOON, LATER)]
    assert order == sorted(order)
    assert "Försenad med 30 min" in html or "Försenad med 29 min" in html
    assert re.search(r"2 h (9|10) min kvar", html)
    assert re.search(r"1 d (2|3) h kvar", html)
    # The escalation in words (not colour only), once in the list and counted on top.
    assert html.count("Eskalerad: brott anmält till säkerhetssamordnaren (P5.8)") == 1
    assert "Eskalerade ärenden i kön: 1" in html
    assert re.search(
        r'<li class="case escalated">\s*<h2><a href="/moderation/facebook-987_1"', html
    )
    assert 'href="/moderation" aria-current="page"' in html  # the nav link
    assert registry.calls[-1].headers["authorization"].startswith("Bearer ")


def test_issue_14_queue_mine_and_empty(client: TestClient, registry: FakeRegistry) -> None:
    registry.on("GET", "/cases", _json([]))
    sign_in(client)
    page = client.get("/moderation?mine=1")
    assert "Inga öppna ärenden." in page.text
    assert registry.calls[-1].url.params["mine"] == "true"


def test_issue_14_a_case_in_context_and_why_it_was_flagged(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases/facebook-987_1", _json(SOON))
    comments = [
        _comment(
            "987_1",
            "comment",
            "Jag vet var du bor.",
            5,
            author={"id": "5550001", "name": "Arg Medborgare", "is_kommun": False},
        ),
        _comment(
            "987_9",
            "comment",
            "Bra initiativ!",
            20,
            author={"id": "7", "name": "Glad Granne", "is_kommun": False},
        ),
        _comment("987", "post", "Nu öppnar det nya badhuset.", 60),
        _comment("555_1", "comment", "Annan tråd", 3, post_id="555"),
    ]
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json(comments))
    sign_in(client)
    page = client.get("/moderation/facebook-987_1")
    assert page.status_code == 200
    html = page.text
    assert "Nu öppnar det nya badhuset." in html  # the post
    thread = html[html.index('<ol class="thread">') :]
    # The thread, oldest first, this comment marked in words; another post's not there.
    assert thread.index("Bra initiativ!") < thread.index("Jag vet var du bor.")
    assert "Annan tråd" not in html
    assert re.search(
        r'<li class="this" aria-current="true">\s*<p class="meta">'
        r"<strong>Denna kommentar:</strong> Arg Medborgare · allmänheten",
        html,
    )
    assert "Nora kommun · kommunen" in html  # the post's author kind
    # Why: category, rules, evidence.
    assert "<dd>Hot</dd>" in html
    assert "<dd>P5.8</dd>" in html
    assert "<td>idiot</td>" in html
    assert "Eskalerad: brott anmält till säkerhetssamordnaren (P5.8)" in html
    assert re.search(r"2 h (9|10) min kvar", html)


def test_issue_14_every_decision_one_key_and_one_button(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases/facebook-987_1", _json(SOON))
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json([]))
    sign_in(client)
    html = client.get("/moderation/facebook-987_1").text
    buttons = re.findall(
        r'<button type="submit" name="resolution" value="(\w+)" '
        r'data-key="(\d)" aria-keyshortcuts="\d"',
        html,
    )
    assert buttons == [
        ("remove", "1"),
        ("hide", "2"),
        ("keep", "3"),
        ("answer", "4"),
        ("forward", "5"),
        ("correct", "6"),
    ]
    # One keystroke decides: the flag's category and a reason are filled in already.
    assert '<option value="threat" selected>Hot</option>' in html
    assert ">Hot (P5.8)</textarea>" in html
    # Someone who may only read sees no decisions.
    client.post("/signout", data={"csrf_token": csrf_of(client)})
    sign_in(client, "department_head", name="Dora Chef", email="dora@nora.example")
    read_only = client.get("/moderation/facebook-987_1").text
    assert 'name="resolution"' not in read_only
    assert "Du kan läsa ärendet men inte besluta i det." in read_only


def test_issue_14_a_decision_is_the_button_pressed(
    client: TestClient, registry: FakeRegistry
) -> None:
    decided = SOON | {"state": "closed", "resolution": "remove"}
    registry.on("POST", "/cases/facebook-987_1/decision", _json(decided))
    sign_in(client)
    form = {
        "csrf_token": csrf_of(client),
        "key": "k-1",
        "category": "threat",
        "reason": "Olaga hot (P5.8)",
        "reply": "",
        "forward_to.name": "",
        "forward_to.email": "",
    }
    answer = client.post(
        "/moderation/facebook-987_1/decision", data=form | {"resolution": "remove"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/moderation/facebook-987_1?done=decided"
    assert registry.body() == {
        "resolution": "remove",
        "reason": "Olaga hot (P5.8)",
        "category": "threat",
    }
    assert registry.calls[-1].headers["idempotency-key"] == "k-1"
    # Keep: no category (P6: a category is a reason to remove, nothing else).
    client.post("/moderation/facebook-987_1/decision", data=form | {"resolution": "keep"})
    assert registry.body() == {"resolution": "keep", "reason": "Olaga hot (P5.8)"}
    # Forward to a case officer (P5.4).
    officer = {"forward_to.name": "Olle Handläggare", "forward_to.email": "olle@nora.example"}
    client.post(
        "/moderation/facebook-987_1/decision", data=form | officer | {"resolution": "forward"}
    )
    assert registry.body()["forward_to"] == {
        "name": "Olle Handläggare",
        "email": "olle@nora.example",
    }
    # Afterwards the case page says so.
    registry.on("GET", "/cases/facebook-987_1", _json(decided | {"decided_at": NOW.isoformat()}))
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json([]))
    page = client.get("/moderation/facebook-987_1?done=decided").text
    assert "Beslutet är taget." in page
    assert re.search(r'id="case-state">Avgjort<', page)
    assert re.search(r'id="case-resolution">Ta bort, ', page)
    assert 'name="resolution"' not in page


def test_issue_14_P6_refusal_beside_its_field_the_form_kept(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases/facebook-987_0", _json(LATE))
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json([]))
    refusal = {
        "detail": "1 rule broken",
        "errors": [
            {
                "field": "category",
                "rule": "P6",
                "message": {
                    "sv": "'criticism' är inget skäl att ta bort en kommentar (yttrandefrihet).",
                    "en": "'criticism' is no reason to remove a comment (freedom of expression)",
                },
            }
        ],
    }
    registry.on("POST", "/cases/facebook-987_0/decision", _json(refusal, 422))
    sign_in(client)
    form = {
        "csrf_token": csrf_of(client),
        "category": "criticism",
        "reason": "Gillar inte tonen",
        "resolution": "remove",
    }
    page = client.post("/moderation/facebook-987_0/decision", data=form)
    assert page.status_code == 422
    html = page.text
    field = html[html.index('<div class="field invalid">') :]
    assert field.index("<strong>P6:</strong> &#39;criticism&#39; är inget skäl") < field.index(
        'id="f-category"'
    )
    assert 'aria-invalid="true"' in field[: field.index("</select>")]
    assert '<option value="criticism" selected>' in html  # kept as chosen
    assert ">Gillar inte tonen</textarea>" in html
    assert 'id="error-summary"' in html


def test_issue_14_a_decided_case_and_a_platform_failure_said_in_words(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases/facebook-987_0", _json(LATE))
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json({"detail": "no"}, 403))
    conflict = {
        "detail": "conflict",
        "errors": [
            {
                "field": "state",
                "rule": "P5.2",
                "message": {"sv": "Ärendet är redan avgjort.", "en": "the case is decided"},
            }
        ],
    }
    registry.on("POST", "/cases/facebook-987_0/decision", _json(conflict, 409))
    sign_in(client)
    form = {"csrf_token": csrf_of(client), "reason": "Skäl", "resolution": "keep"}
    page = client.post("/moderation/facebook-987_0/decision", data=form)
    assert page.status_code == 409
    assert "P5.2: Ärendet är redan avgjort." in page.text
    assert (
        "Sammanhanget kunde inte hämtas." in page.text
    )  # the context refused: the case still shown
    # 502: the platform did not do it; the case is not decided (README, "The platform").
    registry.on("POST", "/cases/facebook-987_0/decision", _json({"detail": "graph api 500"}, 502))
    failed = client.post("/moderation/facebook-987_0/decision", data=form)
    assert failed.status_code == 502
    assert "Ärendet är inte avgjort; försök igen." in failed.text
    assert ">Skäl</textarea>" in failed.text


def test_issue_14_moderation_forms_need_the_csrf_token(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    for path in ("decision", "claim", "done-by-hand"):
        answer = client.post(f"/moderation/facebook-987_0/{path}", data={"resolution": "keep"})
        assert answer.status_code == 403, path
    assert not any(c.method == "POST" and "/cases/" in c.url.path for c in registry.calls)


def test_issue_14_claim_and_done_by_hand(client: TestClient, registry: FakeRegistry) -> None:
    registry.on("POST", "/cases/facebook-987_0/claim", _json(LATE | {"state": "claimed"}))
    registry.on("POST", "/cases/facebook-987_0/done-by-hand", _json(LATE | {"state": "closed"}))
    sign_in(client)
    token = csrf_of(client)
    claimed = client.post("/moderation/facebook-987_0/claim", data={"csrf_token": token})
    assert claimed.headers["location"] == "/moderation/facebook-987_0?done=claimed"
    by_hand = client.post(
        "/moderation/facebook-987_0/done-by-hand", data={"csrf_token": token, "note": "Dold i Meta"}
    )
    assert by_hand.headers["location"] == "/moderation/facebook-987_0?done=by_hand"
    assert registry.body() == {"note": "Dold i Meta"}


def test_issue_14_moderation_in_english(client: TestClient, registry: FakeRegistry) -> None:
    registry.on("GET", "/cases", _json([SOON]))
    sign_in(client)
    client.get("/lang/en")
    html = client.get("/moderation").text
    assert "<h1>Moderation queue</h1>" in html
    assert re.search(r"2 h (9|10) min left", html)
    assert "Escalated: a crime reported to the security coordinator (P5.8)" in html
