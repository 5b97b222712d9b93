"""The web part's foundation (issue 14), in-process: CSRF, cookies, CSP, language,
sign-in, the API's errors as readable pages, the plan form's rule-coded errors."""

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.auth import mint_token
from shared.principal import Role
from shared.settings import Settings
from tests.helpers import CONFIG_DIR, SECRET
from tests.web.conftest import SESSION_SECRET, FakeRegistry, csrf_of, sign_in
from web.app import create_app
from web.security import CSRF_COOKIE
from web.session import OIDC_COOKIE, SESSION_COOKIE
from web.settings import WebSettings

ACCOUNT = {
    "id": "01JACCOUNT",
    "kommun": "nora",
    "state": "submitted",
    "created_by": "anna@nora.example",
    "created_at": "2026-11-26T10:00:00Z",
    "plan": {
        "handle": "norakommunbibliotek",
        "platform": "instagram",
        "url": "https://www.instagram.com/norakommunbibliotek",
        "department": "Bildningsförvaltningen",
        "unit": "Biblioteket",
        "purpose": "Berätta om bibliotekets program och öppettider.",
        "audience": "Boende i Nora",
        "administrators": [
            {"name": "Anna A", "email": "anna@nora.example", "phone": "0587-81200"},
            {"name": "Bo B", "email": "bo@nora.example", "phone": "0587-81201"},
        ],
        "monitoring": {"days": ["mon"], "start": "08:00:00", "end": "17:00:00"},
        "hours_per_week": 4,
    },
    "signatures": [],
    "history": [{"at": "2026-11-26T10:00:00Z", "by": "anna", "action": "submitted", "details": {}}],
}


def _violation(field: str, rule: str, sv: str, en: str) -> dict[str, object]:
    return {"field": field, "rule": rule, "message": {"sv": sv, "en": en}}


def test_issue_14_csrf_refused_without_or_with_a_wrong_token(client: TestClient) -> None:
    form = {"kommun": "nora", "name": "Anna", "role": "communicator"}
    without = client.post("/signin/local", data=form)
    assert without.status_code == 403
    assert "säkerhetskoden saknas eller stämmer inte" in without.text
    assert SESSION_COOKIE not in without.headers.get("set-cookie", "")

    token = csrf_of(client)
    other = "1" if token.endswith("0") else "0"  # always another token than the cookie's
    wrong = client.post("/signin/local", data=form | {"csrf_token": token[:-1] + other})
    assert wrong.status_code == 403
    # A pair made up by an attacker (cookie and field equal, but not signed here).
    client.cookies.set(CSRF_COOKIE, "forged.0000", domain="testserver")
    forged = client.post("/signin/local", data=form | {"csrf_token": "forged.0000"})
    assert forged.status_code == 403

    client.cookies.delete(CSRF_COOKIE)
    good = client.post("/signin/local", data=form | {"csrf_token": csrf_of(client)})
    assert good.status_code == 303


def test_issue_14_csrf_checked_on_every_form_route_and_by_header(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    for path in ("/accounts/new", "/accounts/x/sign", "/accounts/x/credentials", "/signout"):
        assert client.post(path, data={"a": "b"}).status_code == 403, path
    # A script sends the token as a header (web/static/kanalvakt.js).
    registry.on("POST", "/accounts/x/signatures", lambda r: httpx.Response(200, json=ACCOUNT))
    answer = client.post(
        "/accounts/x/sign",
        data={"role": "department_head"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert answer.status_code == 303


def test_issue_14_cookie_flags(client: TestClient) -> None:
    page = client.get("/signin")
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith(CSRF_COOKIE + "=")
    for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/"):
        assert flag in csrf_cookie
    assert "Domain" not in csrf_cookie  # __Host-: this host only

    form = {"csrf_token": csrf_of(client), "kommun": "nora", "name": "Anna", "role": "communicator"}
    answer = client.post("/signin/local", data=form)
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    for flag in ("Secure", "HttpOnly", "SameSite=lax", "Path=/", "Max-Age="):
        assert flag in session
    # The token is sealed: no JWT is readable in the cookie. (Not "eyJ" alone: a sealed
    # cookie's random letters hold it about once in 250 sign-ins.)
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.", session)

    language = client.get("/lang/en").headers["set-cookie"]
    assert all(flag in language for flag in ("Secure", "HttpOnly", "SameSite=lax"))


def test_issue_14_csp_and_security_headers_on_every_response(client: TestClient) -> None:
    answers = [
        client.get("/signin"),
        client.get("/accounts"),  # a redirect to the sign-in
        client.get("/static/kanalvakt.css"),
        client.get("/static/kanalvakt.js"),
        client.get("/nowhere"),
        client.post("/signin/local", data={}),  # refused: 403
        client.get("/healthz"),
    ]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[0].headers["cache-control"] == "no-store"
    # No inline script or style in a page: the CSP would block them.
    page = answers[0].text
    assert "<script>" not in page
    assert "<style" not in page
    assert " style=" not in page


def test_issue_14_swedish_by_default_english_by_choice(client: TestClient) -> None:
    page = client.get("/signin")
    assert '<html lang="sv">' in page.text
    assert "Logga in" in page.text
    assert "Hoppa till innehållet" in page.text

    switch = client.get("/lang/en", params={"next": "/signin"})
    assert switch.status_code == 303
    assert switch.headers["location"] == "/signin"
    page = client.get("/signin")
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text
    assert "Skip to content" in page.text
    assert 'href="/lang/sv' in page.text  # and back

    # The language link never sends anyone to another site.
    for elsewhere in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        answer = client.get("/lang/sv", params={"next": elsewhere})
        assert answer.headers["location"] == "/accounts"


def test_issue_14_sign_in_required(client: TestClient, registry: FakeRegistry) -> None:
    for path in ("/accounts", "/accounts/new", "/accounts/x", "/absences"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin?next=" + path.replace("/", "%2F")
    assert registry.calls == []  # nothing asked of the API without a person

    # A session whose token expired is no session.
    client.cookies.set(SESSION_COOKIE, "not-a-sealed-session", domain="testserver")
    assert client.get("/accounts").status_code == 303


def test_issue_14_api_called_with_the_persons_own_token(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(
        client,
        "department_head",
        name="Förvaltningschef bildning",
        email="fc.bildning@nora.example",
        department="Bildningsförvaltningen",
    )
    answer = client.get("/accounts", params={"department": "Bildningsförvaltningen"})
    assert answer.status_code == 200
    call = registry.calls[-1]
    assert call.url.params["department"] == "Bildningsförvaltningen"
    claims = jwt.decode(
        call.headers["authorization"].removeprefix("Bearer "),
        SECRET,
        algorithms=["HS256"],
        audience="kanalvakt",
    )
    assert claims["roles"] == ["department_head"]
    assert claims["department"] == "Bildningsförvaltningen"
    assert claims["kommun"] == "nora"


def test_issue_14_configured_people_sign_in_with_their_role(
    client: TestClient, registry: FakeRegistry
) -> None:
    page = client.get("/signin").text
    assert "Kommunchef" in page
    assert "Förvaltningschef KS" in page
    form = {"csrf_token": csrf_of(client), "person": "nora:0"}  # Nora's informationsansvarig
    assert client.post("/signin/local", data=form).status_code == 303
    client.get("/accounts")
    token = registry.calls[-1].headers["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="kanalvakt")
    assert claims["roles"] == ["information_officer"]
    assert claims["email"] == "kommunchef@nora.example"


def test_issue_14_api_error_becomes_a_readable_page(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    registry.on(
        "POST",
        "/accounts/x/signatures",
        lambda r: httpx.Response(
            403,
            json={
                "detail": "role: only the head of X approves (P2.1)",
                "errors": [
                    _violation(
                        "role",
                        "P2.1",
                        "Bara förvaltningschefen kan godkänna.",
                        "only the head approves",
                    )
                ],
            },
        ),
    )
    registry.on("GET", "/accounts/x", lambda r: httpx.Response(200, json=ACCOUNT | {"id": "x"}))
    answer = client.post(
        "/accounts/x/sign", data={"csrf_token": csrf_of(client), "role": "department_head"}
    )
    assert answer.status_code == 403
    assert "P2.1:" in answer.text
    assert "Bara förvaltningschefen kan godkänna." in answer.text

    registry.on(
        "GET", "/accounts/gone", lambda r: httpx.Response(404, json={"detail": "account_id: gone"})
    )
    answer = client.get("/accounts/gone")
    assert answer.status_code == 404
    assert "Det finns inget med den adressen." in answer.text

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    registry.on("GET", "/accounts", down)
    answer = client.get("/accounts")
    assert answer.status_code == 503
    assert "Tjänsten svarar inte just nu" in answer.text
    assert "Traceback" not in answer.text
    assert "ConnectError" not in answer.text


def test_issue_14_plan_errors_beside_their_fields_with_rule_ids(
    client: TestClient, registry: FakeRegistry
) -> None:
    """P3.1, P4.2, B1: the API's refusals shown beside the field each names, in Swedish,
    with the rule ID; the form keeps what was typed."""
    sign_in(client)
    registry.on(
        "POST",
        "/accounts",
        lambda r: httpx.Response(
            422,
            json={
                "detail": "…",
                "errors": [
                    _violation(
                        "handle", "P4.2", "Kontonamnet 'norakn' förkortar kommunens namn.", "…"
                    ),
                    _violation(
                        "administrators",
                        "P3.1",
                        "Kontot måste ha minst två administratörer som kan logga in.",
                        "…",
                    ),
                    _violation(
                        "administrators.0.email", "B1", "E-postadressen 'bo@' har fel format.", "…"
                    ),
                ],
            },
        ),
    )
    form = {
        "csrf_token": csrf_of(client),
        "handle": "norakn",
        "platform": "instagram",
        "administrators.1.name": "Bo B",  # the first row left empty: the API sees one
        "administrators.1.email": "bo@",
        "monitoring.days": ["mon", "tue"],
        "hours_per_week": "2,5",
    }
    page = client.post("/accounts/new", data=form)
    assert page.status_code == 422
    sent = registry.body()
    assert sent["administrators"] == [{"name": "Bo B", "email": "bo@", "phone": ""}]
    assert sent["hours_per_week"] == 2.5
    assert sent["monitoring"]["days"] == ["mon", "tue"]
    html = page.text
    assert "<strong>P4.2:</strong> Kontonamnet" in html
    assert "<strong>P3.1:</strong> Kontot måste ha minst två" in html
    # The API's administrators.0 is the form's second row: the error stands beside it.
    row = html.index('id="f-administrators-1-email"')
    error = html.rindex("E-postadressen &#39;bo@&#39; har fel format.")  # not the summary's
    assert html.rindex('for="f-administrators-1-email"') < error < row
    assert 'aria-invalid="true"' in html[error : row + 200]
    assert 'value="norakn"' in html  # kept as typed
    assert 'id="error-summary"' in html


def test_issue_14_oidc_code_flow_with_pkce(registry: FakeRegistry) -> None:
    """Production sign-in: the code flow with PKCE (S256) and state; the access token
    verified as the APIs verify it, and carried to them."""
    issuer = "https://idp.example/realms/kommun"
    settings = Settings(
        auth_secret=SecretStr(SECRET),
        auth_issuer=issuer,
        kommun_config=CONFIG_DIR,
        default_kommun="nora",
    )
    web = WebSettings(session_secret=SecretStr(SESSION_SECRET), oidc_client_id="kanalvakt-web")
    seen: dict[str, str] = {}
    registry.on(
        "GET",
        "/realms/kommun/.well-known/openid-configuration",
        lambda r: httpx.Response(
            200,
            json={
                "authorization_endpoint": f"{issuer}/auth",
                "token_endpoint": f"{issuer}/token",
            },
        ),
    )

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        token = mint_token(SECRET, "anna", [Role.COMMUNICATOR], issuer=issuer, audience="kanalvakt")
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer"})

    registry.on("POST", "/realms/kommun/token", token_endpoint)
    app = create_app(settings, web, transport=httpx.MockTransport(registry))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        assert "Logga in med kommunens inloggning" in client.get("/signin").text
        assert "Personer i konfigurationen" not in client.get("/signin").text  # no local
        go = client.get("/signin/oidc", params={"next": "/accounts"})
        assert go.status_code == 303
        target = urlparse(go.headers["location"])
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        assert target.path == "/realms/kommun/auth"
        assert query["code_challenge_method"] == "S256"
        assert query["client_id"] == "kanalvakt-web"
        assert query["redirect_uri"] == "https://testserver/signin/callback"

        wrong = client.get("/signin/callback", params={"code": "c", "state": "other"})
        assert wrong.status_code == 400
        assert "state" in wrong.text

        back = client.get("/signin/callback", params={"code": "c0de", "state": query["state"]})
        assert back.status_code == 303
        assert back.headers["location"] == "/accounts"
        digest = hashlib.sha256(seen["code_verifier"].encode()).digest()
        assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == query["code_challenge"]
        assert seen["code"] == "c0de"
        assert seen["grant_type"] == "authorization_code"
        assert OIDC_COOKIE not in client.cookies
        assert client.get("/accounts").status_code == 200
        assert registry.calls[-1].headers["authorization"].startswith("Bearer ey")

        # Local sign-in is off in production: nothing is minted.
        form = {
            "csrf_token": csrf_of(client),
            "kommun": "nora",
            "name": "X Y",
            "role": "communicator",
        }
        assert client.post("/signin/local", data=form).status_code == 400


@pytest.mark.parametrize("path", ["/signin", "/accounts/new"])
def test_issue_14_pages_have_landmarks_and_skip_link(client: TestClient, path: str) -> None:
    sign_in(client)
    html = client.get(path).text
    assert '<a class="skip" href="#main">' in html
    assert '<main id="main"' in html
    assert "<header" in html
    assert "<footer" in html
    assert '<meta name="viewport"' in html


def test_issue_14_kanalvakt_web_names_a_missing_session_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kanalvakt.cli import main

    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)
    assert main(["web"]) == 2
    assert "kanalvakt web: settings: WEB_SESSION_SECRET: Field required" in capsys.readouterr().err


def test_issue_14_register_pages_keep_their_filters(
    client: TestClient, registry: FakeRegistry
) -> None:
    """P10.1: the register a page at a time; the next page keeps the filters."""
    sign_in(client)
    link = '<http://registry/accounts?state=active&after=01JB&limit=100>; rel="next"'
    registry.on(
        "GET", "/accounts", lambda r: httpx.Response(200, json=[ACCOUNT], headers={"Link": link})
    )
    page = client.get("/accounts", params={"department": "Gata och park", "state": "active"})
    assert page.status_code == 200
    assert ACCOUNT["plan"]["handle"] in page.text  # type: ignore[index]
    assert 'href="/accounts?department=Gata+och+park&amp;state=active&amp;after=01JB"' in page.text
    assert registry.calls[-1].url.params["department"] == "Gata och park"


def test_issue_14_absence_with_substitute_sent_in_swedish_time(
    client: TestClient, registry: FakeRegistry
) -> None:
    """P3.3, P5.1: an absence and its substitute; the times typed are Swedish time, and
    a refusal stands beside its field."""
    sign_in(client, "information_officer")
    registry.on("GET", "/absences", lambda r: httpx.Response(200, json=[]))
    registry.on(
        "POST",
        "/absences",
        lambda r: httpx.Response(
            422,
            json={
                "detail": "…",
                "errors": [_violation("substitute.email", "input", "Ogiltigt värde.", "bad")],
            },
        ),
    )
    form = {
        "csrf_token": csrf_of(client),
        "person.name": "Alva Administratör",
        "person.email": "alva@nora.example",
        "starts_at": "2026-07-01T08:00",
        "ends_at": "2026-07-21T17:00",
        "substitute.name": "Bertil",
        "substitute.email": "bertil@",
    }
    page = client.post("/absences", data=form)
    assert page.status_code == 422
    sent = registry.body(-2)  # the POST; the page then read the list again
    assert sent["starts_at"] == "2026-07-01T08:00:00+02:00"  # summer time in Sweden
    assert sent["substitute"] == {"name": "Bertil", "email": "bertil@"}
    html = page.text
    assert html.rindex("Ogiltigt värde.") < html.index('id="f-substitute-email"')
    assert 'value="bertil@"' in html


# Drafts, amendments, departures and closing (issue 14; P3.1, P3.6, P5.5)


def _account(state: str, **more: object) -> dict[str, object]:
    return ACCOUNT | {"id": "a1", "state": state} | more


def _plan_form(**changes: object) -> dict[str, object]:
    """The plan form filled in as ACCOUNT's plan says."""
    form: dict[str, object] = {
        "handle": "norakommunbibliotek",
        "platform": "instagram",
        "url": "https://www.instagram.com/norakommunbibliotek",
        "department": "Bildningsförvaltningen",
        "unit": "Biblioteket",
        "purpose": "Berätta om bibliotekets program och öppettider.",
        "audience": "Boende i Nora",
        "administrators.0.name": "Anna A",
        "administrators.0.email": "anna@nora.example",
        "administrators.0.phone": "0587-81200",
        "administrators.1.name": "Bo B",
        "administrators.1.email": "bo@nora.example",
        "administrators.1.phone": "0587-81201",
        "update_frequency.posts": "2",
        "update_frequency.per": "week",
        "monitoring.days": ["mon", "fri"],
        "monitoring.start": "08:00",
        "monitoring.end": "17:00",
        "hours_per_week": "4",
    }
    return form | changes


def test_issue_14_p3_6_draft_saved_resumed_and_submitted(
    client: TestClient, registry: FakeRegistry
) -> None:
    """A plan saved as a draft (POST ?draft=true), marked as one in the register and on
    its page, resumed in the form filled in from the plan, saved again and submitted
    (PUT plan, then POST submit)."""
    sign_in(client)
    draft = _account(
        "draft",
        history=[{"at": "2026-11-26T10:00:00Z", "by": "anna", "action": "drafted", "details": {}}],
    )
    registry.on("POST", "/accounts", lambda r: httpx.Response(201, json=draft))
    form = _plan_form(csrf_token=csrf_of(client), key="k1", action="draft")
    answer = client.post("/accounts/new", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/accounts/a1?done=drafted"
    call = registry.calls[-1]
    assert (call.method, call.url.path, call.url.params["draft"]) == ("POST", "/accounts", "true")
    assert call.headers["idempotency-key"] == "k1"
    sent = registry.body()
    assert sent["handle"] == "norakommunbibliotek"
    assert sent["administrators"][1] == {
        "name": "Bo B",
        "email": "bo@nora.example",
        "phone": "0587-81201",
    }
    assert sent["monitoring"]["days"] == ["mon", "fri"]

    # Marked as a draft in the register, with a way back to it.
    registry.on("GET", "/accounts", lambda r: httpx.Response(200, json=[draft]))
    register = client.get("/accounts").text
    assert '<span class="state state-draft">Utkast</span>' in register
    assert 'href="/accounts/a1/plan">Fortsätt utkastet' in register

    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=draft))
    page = client.get("/accounts/a1?done=drafted").text
    assert "Utkastet är sparat. Det är inte inlämnat." in page
    assert "Utkast, inte inlämnat" in page
    assert 'href="/accounts/a1/plan"' in page
    assert "Utkast sparat" in page  # the history

    # Resumed: the form as the plan says, its buttons submit or save again.
    resumed = client.get("/accounts/a1/plan").text
    assert "<h1>Fortsätt utkastet: norakommunbibliotek</h1>" in resumed
    assert 'action="/accounts/a1/plan"' in resumed
    assert 'name="administrators.1.email" type="email" value="bo@nora.example"' in resumed
    assert 'name="hours_per_week" type="text" value="4"' in resumed  # 4, not 4.0
    assert 'value="mon" checked' in resumed
    assert 'value="tue" checked' not in resumed  # the plan's days, not the defaults'
    assert 'value="17:00"' in resumed  # HH:MM, not 17:00:00
    assert 'name="action" value="submit"' in resumed
    assert 'name="action" value="draft"' in resumed

    calls = len(registry.calls)
    submitted = _account("submitted")
    registry.on("PUT", "/accounts/a1/plan", lambda r: httpx.Response(200, json=draft))
    registry.on("POST", "/accounts/a1/submit", lambda r: httpx.Response(200, json=submitted))
    form = _plan_form(csrf_token=csrf_of(client), key="k2", action="submit", audience="Alla")
    answer = client.post("/accounts/a1/plan", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/accounts/a1?done=created"
    made = [(c.method, c.url.path) for c in registry.calls[calls:]]
    assert made == [("PUT", "/accounts/a1/plan"), ("POST", "/accounts/a1/submit")]
    assert json.loads(registry.calls[calls].content)["audience"] == "Alla"
    assert registry.calls[-1].content == b""

    # Saved again as a draft: only the PUT.
    calls = len(registry.calls)
    form = _plan_form(csrf_token=csrf_of(client), action="draft")
    answer = client.post("/accounts/a1/plan", data=form)
    assert answer.headers["location"] == "/accounts/a1?done=drafted"
    assert [c.method for c in registry.calls[calls:]] == ["PUT"]


def test_issue_14_p3_6_draft_submitted_from_its_page(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client)
    registry.on(
        "POST", "/accounts/a1/submit", lambda r: httpx.Response(200, json=_account("submitted"))
    )
    answer = client.post("/accounts/a1/submit", data={"csrf_token": csrf_of(client), "key": "k"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/accounts/a1?done=created"
    assert registry.calls[-1].headers["idempotency-key"] == "k"

    refusal = {
        "detail": "state: only a draft can be submitted",
        "errors": [_violation("state", "P3.6", "Bara ett utkast kan lämnas in.", "only a draft")],
    }
    registry.on("POST", "/accounts/a1/submit", lambda r: httpx.Response(409, json=refusal))
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("draft")))
    page = client.post("/accounts/a1/submit", data={"csrf_token": csrf_of(client)})
    assert page.status_code == 409
    assert '<p class="error" id="err-f-state-1"><strong>P3.6:</strong> Bara ett utkast' in page.text


@pytest.mark.parametrize(
    ("reapproval", "done", "text"),
    [
        (True, "reapproval", "alla fyra måste signera på nytt (P3.6)"),
        (False, "amended", "Den behöver inga nya signeringar."),
    ],
)
def test_issue_14_p3_6_amend_a_live_plan(
    client: TestClient, registry: FakeRegistry, reapproval: bool, done: str, text: str
) -> None:
    """An active account's plan amended from its page: the form filled in as the plan
    is; the API's answer says whether all four must sign again (P2.1, P3.6)."""
    sign_in(client, "administrator", email="anna@nora.example")
    active = _account("active")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=active))
    page = client.get("/accounts/a1").text
    assert 'href="/accounts/a1/plan" data-key="e">Ändra planen' in page
    form_page = client.get("/accounts/a1/plan").text
    assert "<h1>Ändra verksamhetsplanen: norakommunbibliotek</h1>" in form_page
    assert 'name="action" value="amend">Spara ändringarna' in form_page
    assert 'value="draft"' not in form_page  # a live plan is no draft
    assert 'value="Berätta om bibliotekets program och öppettider."' not in form_page
    assert ">Berätta om bibliotekets program och öppettider.</textarea>" in form_page

    state = "submitted" if reapproval else "active"
    entry = {
        "at": "2026-11-27T09:00:00Z",
        "by": "anna",
        "action": "amended",
        "details": {"fields": ["purpose"], "reapproval_required": reapproval},
    }
    after = _account(state, history=[*ACCOUNT["history"], entry])  # type: ignore[list-item]
    registry.on("PUT", "/accounts/a1/plan", lambda r: httpx.Response(200, json=after))
    purpose = "Berätta om bibliotekets program, nyheter och öppettider."
    form = _plan_form(csrf_token=csrf_of(client), key="k3", action="amend", purpose=purpose)
    answer = client.post("/accounts/a1/plan", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/accounts/a1?done={done}"
    call = registry.calls[-1]
    assert (call.method, call.url.path) == ("PUT", "/accounts/a1/plan")
    assert call.headers["idempotency-key"] == "k3"
    assert registry.body()["purpose"] == purpose
    assert registry.body()["update_frequency"] == {"posts": 2, "per": "week"}

    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=after))
    shown = client.get(f"/accounts/a1?done={done}").text
    assert text in shown
    assert ("Planen ändrad: purpose (nya signeringar krävs)" in shown) is reapproval


def test_issue_14_p3_6_amendment_refused_beside_its_fields(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client, "administrator")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("active")))
    refusal = {
        "detail": "…",
        "errors": [
            _violation(
                "administrators",
                "P3.1",
                "Kontot måste ha minst två administratörer som kan logga in.",
                "at least two",
            )
        ],
    }
    registry.on("PUT", "/accounts/a1/plan", lambda r: httpx.Response(422, json=refusal))
    form = _plan_form(csrf_token=csrf_of(client), key="k4", action="amend")
    del (
        form["administrators.1.name"],
        form["administrators.1.email"],
        form["administrators.1.phone"],
    )
    page = client.post("/accounts/a1/plan", data=form)
    assert page.status_code == 422
    html = page.text
    assert "<strong>P3.1:</strong> Kontot måste ha minst två" in html
    assert html.index("<strong>P3.1:</strong>") > html.index('id="f-administrators"')
    assert 'value="anna@nora.example"' in html  # kept as typed
    assert 'value="k4"' not in html  # a new key for the corrected plan
    assert 'action="/accounts/a1/plan"' in html

    # Closing: the plan is not changed any more; the form says so before anyone types.
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("closing")))
    page = client.get("/accounts/a1/plan")
    assert page.status_code == 409
    assert "<strong>P5.5:</strong> Kontot håller på att stängas" in page.text


def test_issue_14_p5_5_close_an_account(client: TestClient, registry: FakeRegistry) -> None:
    """Closing started with a reason (POST closing), then confirmed (POST closed), by a
    role the API allows; its refusals beside the field."""
    sign_in(client, "department_head", department="Bildningsförvaltningen")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("active")))
    page = client.get("/accounts/a1").text
    assert 'action="/accounts/a1/closing"' in page
    assert '<label for="f-reason">Skäl' in page
    assert 'action="/accounts/a1/closed"' not in page  # not before the closing starts

    closing_entry = {
        "at": "2026-11-27T09:00:00Z",
        "by": "fc",
        "action": "closing",
        "details": {"reason": "Biblioteket slutar med Instagram."},
    }
    closing = _account("closing", history=[*ACCOUNT["history"], closing_entry])  # type: ignore[list-item]
    registry.on("POST", "/accounts/a1/closing", lambda r: httpx.Response(200, json=closing))
    form = {
        "csrf_token": csrf_of(client),
        "key": "k5",
        "reason": "Biblioteket slutar med Instagram.",
    }
    answer = client.post("/accounts/a1/closing", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/accounts/a1?done=closing"
    assert registry.body() == {"reason": "Biblioteket slutar med Instagram."}
    assert registry.calls[-1].headers["idempotency-key"] == "k5"

    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=closing))
    page = client.get("/accounts/a1?done=closing").text
    assert "Kontot ska stängas. Bekräfta när det är stängt på plattformen." in page
    assert "<dd>Biblioteket slutar med Instagram.</dd>" in page
    assert 'action="/accounts/a1/closed"' in page
    assert 'action="/accounts/a1/closing"' not in page
    assert 'href="/accounts/a1/plan"' not in page  # nothing to amend any more

    registry.on(
        "POST", "/accounts/a1/closed", lambda r: httpx.Response(200, json=_account("closed"))
    )
    answer = client.post("/accounts/a1/closed", data={"csrf_token": csrf_of(client), "key": "k6"})
    assert answer.headers["location"] == "/accounts/a1?done=closed"
    call = registry.calls[-1]
    assert (call.method, call.url.path, call.content) == ("POST", "/accounts/a1/closed", b"")


def test_issue_14_p5_5_closing_refused_beside_the_reason(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client, "administrator")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("active")))
    too_short = {
        "detail": "…",
        "errors": [_violation("reason", "input", "Texten är för kort.", "String too short")],
    }
    registry.on("POST", "/accounts/a1/closing", lambda r: httpx.Response(422, json=too_short))
    page = client.post("/accounts/a1/closing", data={"csrf_token": csrf_of(client), "reason": "x"})
    assert page.status_code == 422
    html = page.text
    error = html.rindex("Texten är för kort.")
    assert html.index('<label for="f-reason">') < error < html.index('id="f-reason"')
    assert ">x</textarea>" in html

    # The API's role check names no rule: it is said in words beside the field.
    forbidden = {"detail": "this needs one of the roles: administrator, unit_head"}
    registry.on("POST", "/accounts/a1/closing", lambda r: httpx.Response(403, json=forbidden))
    page = client.post(
        "/accounts/a1/closing", data={"csrf_token": csrf_of(client), "reason": "Slut"}
    )
    assert page.status_code == 403
    assert "Det kräver en av rollerna: Kontoansvarig (administratör), Enhetschef." in page.text
    assert page.text.rindex("Det kräver en av rollerna") < page.text.index('id="f-reason"')


def test_issue_14_p5_5_closing_offered_only_to_roles_that_may(
    client: TestClient, registry: FakeRegistry
) -> None:
    sign_in(client, "communicator")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("active")))
    page = client.get("/accounts/a1").text
    assert 'action="/accounts/a1/closing"' not in page
    assert 'action="/accounts/a1/departures"' not in page
    assert "informationsansvarig, förvaltnings- och enhetschefer kan stänga kontot" in page
    assert 'href="/accounts/a1/plan"' in page  # a communicator may amend (EDITORS)


def test_issue_14_p3_1_an_administrator_leaves(client: TestClient, registry: FakeRegistry) -> None:
    sign_in(client, "information_officer")
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("active")))
    page = client.get("/accounts/a1").text
    assert '<option value="bo@nora.example">Bo B (bo@nora.example)</option>' in page

    registry.on(
        "POST", "/accounts/a1/departures", lambda r: httpx.Response(200, json=_account("active"))
    )
    form = {"csrf_token": csrf_of(client), "key": "k7", "email": "bo@nora.example"}
    answer = client.post("/accounts/a1/departures", data=form)
    assert answer.headers["location"] == "/accounts/a1?done=departure"
    assert registry.body() == {"email": "bo@nora.example"}

    left = _account("active", departed=["bo@nora.example"])
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=left))
    page = client.get("/accounts/a1?done=departure").text
    assert "Att administratören slutar är registrerat." in page
    assert "Bo B (bo@nora.example) – har slutat" in page
    assert '<option value="bo@nora.example">' not in page  # cannot leave twice

    refusal = {
        "detail": "…",
        "errors": [
            _violation("email", "P3.1", "x@nora.example är inte administratör för kontot.", "…")
        ],
    }
    registry.on("POST", "/accounts/a1/departures", lambda r: httpx.Response(422, json=refusal))
    page = client.post("/accounts/a1/departures", data=form | {"email": "x@nora.example"})
    assert page.status_code == 422
    html = page.text
    assert html.rindex("<strong>P3.1:</strong> x@nora.example") < html.index('id="f-email"')


@pytest.mark.parametrize(
    "field",
    ["operators.5000.name", "administrators.50.email", "operators." + "9" * 5000 + ".name"],
    ids=["far-row", "first-row-beyond", "5000-digits"],
)
@pytest.mark.parametrize("path", ["/accounts/new", "/accounts/a1/plan"])
def test_issue_14_review_a_row_number_beyond_the_limit_is_refused_not_looped_over(
    client: TestClient, registry: FakeRegistry, field: str, path: str
) -> None:
    """A posted field name's row number sizes no loop and no page (`operators.100000000.
    name` once looped 10^8 times): beyond the form's 50 rows it is a 422 naming the field
    and the limit, the form shown again without it, and nothing sent to the API."""
    sign_in(client)
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("draft")))
    sent = len(registry.calls)
    form = _plan_form(**{field: "Eve", "operators.1.name": "Olle O"}) | {
        "csrf_token": csrf_of(client)
    }
    page = client.post(path, data=form)
    assert page.status_code == 422, page.text[:500]
    assert "Formuläret har för många rader. Högst 50 rader går att skicka." in page.text
    assert f"({field})" in page.text  # the error summary names the field
    assert 'value="Olle O"' in page.text  # the rows in range are kept
    assert page.text.count('id="f-operators-') < 40  # no row made for the far one
    assert all(c.method == "GET" for c in registry.calls[sent:])


def test_issue_14_review_an_id_from_the_url_is_one_segment_of_the_registry_path(
    client: TestClient, registry: FakeRegistry
) -> None:
    """An account id with `?` or `%` (as `a%3Fb%25c` in the page's URL) reaches the
    registry as one escaped path segment: it adds no query and no other path."""
    sign_in(client, "information_officer")
    weird = "a?b%c"
    escaped = "/accounts/a%3Fb%25c"
    account = _account("draft", id=weird)
    registry.on("GET", "/accounts/a.b%c", lambda r: httpx.Response(200, json=account))
    registry.on("PUT", "/accounts/a.b%c/plan", lambda r: httpx.Response(200, json=account))
    for action in ("submit", "departures", "closing", "closed"):
        registry.on(
            "POST", f"/accounts/a.b%c/{action}", lambda r: httpx.Response(200, json=account)
        )
    form = {"csrf_token": csrf_of(client), "email": "bo@nora.example", "reason": "Slut nu"}
    for action in ("submit", "departures", "closing", "closed"):
        answer = client.post(f"{escaped}/{action}", data=form)
        assert answer.status_code == 303, (action, answer.text[:300])
        assert registry.calls[-1].url.raw_path == f"{escaped}/{action}".encode()
        assert answer.headers["location"].startswith(f"{escaped}?done=")
    answer = client.post(f"{escaped}/plan", data=_plan_form() | {"csrf_token": csrf_of(client)})
    assert answer.status_code == 303
    assert registry.calls[-1].url.raw_path == f"{escaped}/plan".encode()
    page = client.get(f"{escaped}/plan")
    assert f'action="{escaped}/plan"' in page.text


def test_issue_14_review_p5_5_a_closed_plan_said_in_the_persons_language(
    client: TestClient, registry: FakeRegistry
) -> None:
    """P5.5: the plan of an account being closed cannot change, said from web/i18n.py in
    Swedish, or in English for whoever chose it, with the rule."""
    sign_in(client)
    registry.on("GET", "/accounts/a1", lambda r: httpx.Response(200, json=_account("closing")))
    page = client.get("/accounts/a1/plan")
    assert page.status_code == 409
    assert "Planen kan inte ändras längre." in page.text
    client.get("/lang/en")
    page = client.get("/accounts/a1/plan")
    assert "Its plan cannot be changed any more." in page.text
    assert "P5.5" in page.text


def test_issue_14_review_one_by_field_for_every_page() -> None:
    """The API's errors by field: one function (services.by_field), which ApiError and
    the plan form's row mapping use too."""
    from web.pages.accounts import errors_by_field
    from web.services import ApiError, FieldError, by_field

    errors = [
        FieldError("a", "P1", "ett", "one"),
        FieldError("operators.0.email", "P3.1", "två", "two"),
        FieldError("a", "P2", "tre", "three"),
    ]
    assert by_field(errors) == {"a": [errors[0], errors[2]], "operators.0.email": [errors[1]]}
    assert ApiError(422, "", errors).by_field() == by_field(errors)
    mapped = errors_by_field(errors, {"operators": [1]})
    assert [e.field for e in mapped["operators.1.email"]] == ["operators.1.email"]
    assert mapped["a"] == [errors[0], errors[2]]
