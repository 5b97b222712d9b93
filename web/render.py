"""Pages rendered from web/templates, each with what the base layout needs: the
person's language, the CSRF token for its forms, who is signed in."""

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from web.i18n import LANGUAGES, lang_of, other, t
from web.security import CSRF_FIELD, Csrf

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
SWEDEN = ZoneInfo("Europe/Stockholm")


def _when(value: object) -> str:
    """An API time (ISO 8601) as staff read it: Swedish time, to the minute."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(SWEDEN)
    return moment.strftime("%Y-%m-%d %H:%M")


def _pairs(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _named(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(value, name) choices; a value without a name of its own shows as itself."""
    return [(value, name or value) for value, name in items]


def _labels(
    values: Iterable[str], text: Callable[[str], str], prefix: str
) -> list[tuple[str, str]]:
    return [(v, text(prefix + v)) for v in values]


environment.filters |= {
    "when": _when,
    "zip_self": _pairs,
    "named": _named,
    "labels": _labels,
    "states_of": lambda values, text: _labels(values, text, "state."),
    # An id in one of our paths, escaped as in an API path (services.part): never a
    # query, a fragment or further segments.
    "part": lambda value: quote(str(value), safe=""),
}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    csrf: Csrf = request.app.state.csrf
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def text(key: str, **values: object) -> str:
        return t(key, lang, **values)

    context.setdefault("errors", {})
    context.setdefault("values", {})
    html = environment.get_template(template).render(
        request=request,
        t=text,
        lang=lang,
        other_lang=other(lang),
        languages=LANGUAGES,
        switch_url=f"/lang/{other(lang)}?next={quote(here, safe='')}",
        csrf_field=CSRF_FIELD,
        csrf_token=csrf.token_for(request),
        user=context.pop("user", None),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    csrf.ensure_cookie(request, response)
    return response
