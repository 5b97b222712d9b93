"""Issue 14, moderation's pages in-process, against a stand-in moderation API: the queue
by deadline with the time left (B1 item 7, P5.3) and escalations marked (P5.8), a case
with its comment in context and why it was flagged, and the decisions (P5.2–P5.4, P5.9,
P5.10, P6) with their keys and the API's refusals beside their fields."""

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from shared.auth import mint_token
from shared.ids import new_id
from shared.principal import Role
from tests.helpers import ROOT, plan_json
from tests.web.conftest import FakeRegistry, WebStack, check_accessibility, csrf_of, sign_in
from tests.web.test_web_browser import People, sign_in_as, tab_to, visit
from web.pages import moderation
from web.settings import WebSettings

NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def _pages_read_the_same_now(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cases are made at import; the suite reaches these tests minutes later.
    monkeypatch.setattr(moderation, "_now", lambda: NOW)


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
    assert "Försenad med 30 min" in html
    assert "2 h 10 min kvar" in html
    assert re.search(r"1 d (2|3) h kvar", html)
    # The escalation in words (not colour only), once in the list and counted on top.
    assert html.count("Eskalerad: brott anmält till säkerhetssamordnaren (P5.8)") == 1
    assert "Eskalerade ärenden i kön: 1" in html
    assert re.search(
        r'<li class="case escalated">\s*<h2><a href="/moderation/facebook-987_1"', html
    )
    assert 'href="/moderation" aria-current="page"' in html  # the nav link
    assert registry.calls[-1].headers["authorization"].startswith("Bearer ")


def test_issue_14_an_id_in_a_link_is_one_path_segment(
    client: TestClient, registry: FakeRegistry
) -> None:
    # Ids come from the APIs: one with `?`, `#` or `/` still links to its own page.
    odd = SOON | {"id": "x?y#z/w"}
    registry.on("GET", "/cases", _json([odd]))
    sign_in(client)
    html = client.get("/moderation").text
    assert 'href="/moderation/x%3Fy%23z%2Fw"' in html
    assert 'href="/moderation/x?y' not in html


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
    assert "2 h 10 min kvar" in html


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
    # A 502 with only a `detail`: said in its own words, the form kept.
    registry.on("POST", "/cases/facebook-987_0/decision", _json({"detail": "graph api 500"}, 502))
    failed = client.post("/moderation/facebook-987_0/decision", data=form)
    assert failed.status_code == 502
    assert "graph api 500" in failed.text
    assert ">Skäl</textarea>" in failed.text


# The platform's reason, as services/moderation/handlers.py's PlatformFailed gives it.
PLATFORM_REFUSED = {
    "detail": "platform: the platform did not do it (P5.2)",
    "errors": [
        {
            "field": "platform",
            "rule": "P5.2",
            "message": {
                "sv": "Plattformen utförde inte åtgärden: Graph API 403: (#200) Permissions "
                "error. Ärendet är inte avgjort; försök igen eller gör det för hand.",
                "en": "the platform did not do it: Graph API 403: (#200) Permissions error; "
                "the case is not decided, try again or do it by hand",
            },
        }
    ],
}


def test_issue_14_P5_2_a_platform_refusal_shows_its_reason_beside_the_decisions(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases/facebook-987_0", _json(LATE))
    registry.on("GET", "/accounts/01JACCOUNT/comments", _json([]))
    registry.on("POST", "/cases/facebook-987_0/decision", _json(PLATFORM_REFUSED, 502))
    sign_in(client)
    form = {"csrf_token": csrf_of(client), "reason": "Hot", "resolution": "hide"}
    page = client.post("/moderation/facebook-987_0/decision", data=form)
    assert page.status_code == 502
    html = page.text
    decisions = html[
        html.index('id="f-resolution"') : html.index("</fieldset>", html.index('id="f-resolution"'))
    ]
    assert (
        "<strong>P5.2:</strong> Plattformen utförde inte åtgärden: Graph API 403: (#200) "
        "Permissions error." in decisions
    )
    assert 'href="#f-resolution"' in html  # the summary leads there
    assert ">Hot</textarea>" in html  # the form kept
    assert "tjänsten svarade inte" not in html  # not "unavailable"
    client.get("/lang/en")
    english = client.post("/moderation/facebook-987_0/decision", data=form).text
    assert "the platform did not do it: Graph API 403: (#200) Permissions error" in english


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(
            502,
            text="<html><body>502 Bad Gateway</body></html>",
            headers={"content-type": "text/html"},
        ),
        httpx.Response(502),
        httpx.Response(504),
        httpx.Response(503, json={"detail": "the store did not answer"}),
    ],
    ids=["502-proxy-page", "502-empty", "504-empty", "503-problem"],
)
def test_issue_14_a_proxy_502_or_a_503_is_unavailable(
    client: TestClient, registry: FakeRegistry, answer: httpx.Response
) -> None:
    registry.on("GET", "/cases/facebook-987_0", _json(LATE))
    registry.on("POST", "/cases/facebook-987_0/decision", lambda request: answer)
    sign_in(client)
    form = {"csrf_token": csrf_of(client), "reason": "Hot", "resolution": "hide"}
    page = client.post("/moderation/facebook-987_0/decision", data=form)
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "Bad Gateway" not in page.text


def test_issue_14_a_failed_connection_is_unavailable(
    client: TestClient, registry: FakeRegistry
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    registry.on("GET", "/cases", refuse)
    sign_in(client)
    page = client.get("/moderation")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"


def _next_of(answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    location = httpx.URL(answer.headers["location"])
    assert location.path == "/signin"
    return str(location.params["next"])


def test_issue_14_an_api_401_on_a_get_signs_in_and_comes_back_to_the_page(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("GET", "/cases", _json({"detail": "expired"}, 401))
    sign_in(client)
    gone = client.get("/moderation?mine=1")
    assert _next_of(gone) == "/moderation?mine=1"  # not /accounts
    form = {
        "csrf_token": csrf_of(client),
        "next": "/moderation?mine=1",
        "kommun": "nora",
        "name": "Anna Andersson",
        "role": "communicator",
    }
    back = client.post("/signin/local", data=form)
    assert back.headers["location"] == "/moderation?mine=1"


def test_issue_14_an_old_session_cookie_on_a_get_comes_back_to_the_page(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    client.app.state.sessions.seconds = -10  # type: ignore[attr-defined]  # every cookie too old
    assert _next_of(client.get("/moderation/facebook-987_0")) == "/moderation/facebook-987_0"
    assert not any(c.url.path.startswith("/cases") for c in registry.calls)


def test_issue_14_an_expired_session_on_a_post_comes_back_to_the_form_s_page(
    client: TestClient, registry: FakeRegistry
) -> None:
    registry.on("POST", "/cases/facebook-987_0/decision", _json({"detail": "expired"}, 401))
    sign_in(client)
    form = {"csrf_token": csrf_of(client), "reason": "Hot", "resolution": "hide"}
    path = "/moderation/facebook-987_0/decision"
    # The Referer on this site: that page, query and all.
    here = "https://testserver/moderation/facebook-987_0?done=claimed"
    assert _next_of(client.post(path, data=form, headers={"referer": here})) == (
        "/moderation/facebook-987_0?done=claimed"
    )
    # No Referer, or another site's: the form's own page, never the other site.
    assert _next_of(client.post(path, data=form)) == "/moderation/facebook-987_0"
    elsewhere = "https://evil.example/moderation/x"
    answer = client.post(path, data=form, headers={"referer": elsewhere})
    assert _next_of(answer) == "/moderation/facebook-987_0"
    # The session cookie too old on a POST: the same.
    client.app.state.sessions.seconds = -10  # type: ignore[attr-defined]
    assert _next_of(client.post(path, data=form)) == "/moderation/facebook-987_0"


@pytest.mark.parametrize(
    "outside",
    [
        "https://evil.example/accounts",
        "//evil.example/accounts",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_issue_14_an_outside_next_is_refused(client: TestClient, outside: str) -> None:
    page = client.get("/signin", params={"next": outside})
    nexts = re.findall(r'name="next" value="([^"]*)"', page.text)
    assert nexts
    assert set(nexts) == {"/accounts"}
    form = {
        "csrf_token": csrf_of(client),
        "next": outside,
        "kommun": "nora",
        "name": "Anna Andersson",
        "role": "communicator",
    }
    assert client.post("/signin/local", data=form).headers["location"] == "/accounts"
    assert client.get("/lang/en", params={"next": outside}).headers["location"] == "/accounts"


def test_issue_14_an_id_from_the_url_stays_one_path_segment_of_the_api_call(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    client.get("/moderation/x%3Fmine%3Dtrue%23")
    call = registry.calls[-1]
    assert call.url.raw_path == b"/cases/x%3Fmine%3Dtrue%23"
    assert not call.url.params


def test_issue_14_every_web_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, field in WebSettings.model_fields.items():
        variable = f"WEB_{name.upper()}"
        assert re.search(rf"^\| `{variable}` \| [^|]+ \| [^|]+ \|$", readme, re.M), variable
        assert field.description, variable


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
    assert "2 h 10 min left" in html
    assert "Escalated: a crime reported to the security coordinator (P5.8)" in html


# In a real browser: Debian's Chromium against the session's `kanalvakt up`.

CONNECTOR_HANDLE = f"norakommun{new_id().lower()[-8:]}"
THREAT = "Jag ska döda dig, jag vet var du bor."


@pytest.fixture
def moderators(browser: Browser, web_stack: WebStack) -> Iterator[People]:
    found = People(browser, web_stack.web)
    yield found
    for context in found.contexts:
        context.close()
    assert not found.errors, found.errors


def _flagged_comment(web_stack: WebStack) -> str:
    """A registered account, its post and a threat under it, delivered through
    moderation's /ingest with a connector's token as a connector does; the case's id
    once moderation has opened it."""
    args = list(web_stack.proc.args)  # type: ignore[arg-type]
    secret = (Path(args[args.index("--data-dir") + 1]) / "auth-secret").read_text().strip()
    registry_port = int(web_stack.registry.rsplit(":", 1)[1])
    moderation = f"http://127.0.0.1:{registry_port + 1}"  # the port after the registry's

    def headers(role: Role, sub: str) -> dict[str, str]:
        token = mint_token(
            secret, sub, [role], issuer="kanalvakt-local", audience="kanalvakt", name=sub
        )
        return {"Authorization": f"Bearer {token}"}

    plan = plan_json(handle=CONNECTOR_HANDLE, url=f"https://www.facebook.com/{CONNECTOR_HANDLE}")
    with httpx.Client(timeout=10) as client:
        created = client.post(
            f"{web_stack.registry}/accounts",
            json=plan,
            headers=headers(Role.COMMUNICATOR, "cecilia"),
        )
        assert created.status_code == 201, created.text
        account_id = created.json()["id"]
        staff = headers(Role.COMMUNICATOR, "e2e")
        _until(
            lambda: (
                client.get(f"{moderation}/accounts/{account_id}", headers=staff).status_code == 200
            ),
            "moderation watches the account",
        )
        post_id, comment_pid = f"{new_id().lower()}", f"{new_id().lower()}_1"
        now = datetime.now(UTC).isoformat()
        items = [
            {
                "kind": "post",
                "platform": "facebook",
                "platform_id": post_id,
                "account": CONNECTOR_HANDLE,
                "author": {"id": "page", "name": "Nora kommun", "is_kommun": True},
                "text": "Nu öppnar det nya badhuset på lördag.",
                "created_at": now,
            },
            {
                "kind": "comment",
                "platform": "facebook",
                "platform_id": comment_pid,
                "account": CONNECTOR_HANDLE,
                "post_id": post_id,
                "author": {"id": "5550001", "name": "Arg Medborgare"},
                "text": THREAT,
                "created_at": now,
            },
        ]
        taken = client.post(
            f"{moderation}/ingest", json=items, headers=headers(Role.CONNECTOR, "connector")
        )
        assert taken.status_code == 202, taken.text
        case_id = f"facebook-{comment_pid}"
        _until(
            lambda: client.get(f"{moderation}/cases/{case_id}", headers=staff).status_code == 200,
            "a case for the threat",
        )
    return case_id


def _until(check: Callable[[], bool], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {within:.0f}s")


def test_issue_14_a_flagged_comment_seen_in_the_queue_and_decided_by_keyboard(
    web_stack: WebStack, moderators: People
) -> None:
    case_id = _flagged_comment(web_stack)
    page = moderators.new()
    sign_in_as(page, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
    # The queue: the threat, its time left, marked as escalated in words.
    visit(page, "/moderation")
    item = page.locator("li.case", has=page.locator(f'a[href="/moderation/{case_id}"]'))
    expect(item).to_contain_text(THREAT)
    expect(item).to_contain_text(re.compile(r"kvar|Försenad med"))
    expect(item).to_contain_text("Eskalerad: brott anmält till säkerhetssamordnaren (P5.8)")
    # Keyboard only from here: Tab to the case, Enter, then the decision's key.
    tab_to(page, CONNECTOR_HANDLE)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONNECTOR_HANDLE)
    check_accessibility(page)
    expect(page.locator("blockquote.post-text")).to_have_text(
        "Nu öppnar det nya badhuset på lördag."
    )
    expect(page.locator("ol.thread li.this")).to_contain_text("Arg Medborgare · allmänheten")
    expect(page.locator("#why")).to_be_visible()
    expect(page.locator("section[aria-labelledby=why]")).to_contain_text("Hot")
    page.keyboard.press("1")  # Ta bort: the flag's category and reason are filled in
    expect(page.get_by_text("Beslutet är taget.")).to_be_visible()
    expect(page.locator("#case-resolution")).to_contain_text("Ta bort")
    # No Page token in `up`: the removal waits to be done by hand, never skipped.
    expect(page.locator("#case-state")).to_have_text("Beslutat, görs för hand")
    check_accessibility(page)
    visit(page, "/moderation")
    expect(page.locator(f'a[href="/moderation/{case_id}"]')).to_have_count(0)
