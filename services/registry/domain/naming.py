"""Account names and addresses (P4.2, P4.3, B1.2): pure checks, each returning a reason
or None. What counts as the kommun's name is configuration (KommunConfig.kommun.handle).
"""

import re
from urllib.parse import urlsplit

from shared.kommun import HandleNaming

# Where each platform's official accounts live. Mastodon and other are federated or open.
PLATFORM_HOSTS: dict[str, frozenset[str]] = {
    "facebook": frozenset({"facebook.com", "www.facebook.com"}),
    "instagram": frozenset({"instagram.com", "www.instagram.com"}),
    "x": frozenset({"x.com", "www.x.com", "twitter.com", "www.twitter.com"}),
    "youtube": frozenset({"youtube.com", "www.youtube.com"}),
    "linkedin": frozenset({"linkedin.com", "www.linkedin.com", "se.linkedin.com"}),
    "tiktok": frozenset({"tiktok.com", "www.tiktok.com"}),
}

# Facebook addresses that are not a page of its own, readable without logging in (P4.3).
_FACEBOOK_NOT_A_PAGE = re.compile(
    r"^/(groups|people|events|profile\.php|pg|watch|marketplace|login|share|permalink\.php)(/|$)",
    re.IGNORECASE,
)
_FACEBOOK_PAGE = re.compile(r"^/[A-Za-z0-9.\-]{5,}/?$")


def normalise_handle(handle: str) -> str:
    """Lower case, without @ and separators: 'Ort_Kommun.Kultur' → 'ortkommunkultur'."""
    return re.sub(r"[\s@._\-]", "", handle.casefold())


def handle_problem(handle: str, naming: HandleNaming) -> str | None:
    """P4.2: a handle may not abbreviate the kommun's name (e.g. '<ort>km' for '<ort>kommun…')."""
    h = normalise_handle(handle)
    if any(h.startswith(normalise_handle(full)) for full in naming.accepted):
        return None
    short = normalise_handle(naming.short)
    if not h.startswith(short):
        return None
    rest = h[len(short) :]
    for abbreviation in sorted(naming.abbreviations, key=len, reverse=True):
        if rest.startswith(normalise_handle(abbreviation)):
            return f"abbreviates the kommun's name: write {naming.accepted[0]!r} in full"
    return None


def host_problem(platform: str, url: str) -> str | None:
    """B1.2: the address must be on the platform's own site."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must start with https://"
    hosts = PLATFORM_HOSTS.get(platform)
    if hosts is not None and (parts.hostname or "") not in hosts:
        return f"{parts.hostname} is not a {platform} address ({', '.join(sorted(hosts))})"
    if platform == "mastodon" and not parts.path.startswith("/@"):
        return "a Mastodon account's address is https://<server>/@<name>"
    return None


def facebook_page_problem(url: str) -> str | None:
    """P4.3: a Facebook page of its own, readable without logging in, linkable."""
    parts = urlsplit(url)
    if _FACEBOOK_NOT_A_PAGE.match(parts.path) or parts.query:
        return "is not a public Facebook page address (https://www.facebook.com/<pagename>)"
    if not _FACEBOOK_PAGE.match(parts.path):
        return "needs the page's own name: https://www.facebook.com/<pagename>"
    return None
