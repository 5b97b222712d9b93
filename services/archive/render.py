"""HTML → PDF/A-3b, for archived documents (P10.5, L8).

PDF/A so the file stays readable without outside resources: every font is embedded
(DejaVu, from Debian's fonts-dejavu-core, named in archive.css as "DejaVu Sans"). Rendering
is CPU-heavy: callers in async code run `pdf_a` with `asyncio.to_thread`.
"""

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import HTML  # type: ignore[import-untyped]  # ships no type hints

TEMPLATES = Path(__file__).parent / "templates"


def pdf_a(html: str) -> bytes:
    """The HTML rendered as PDF/A-3b; relative links (archive.css) resolve in the templates."""
    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf(pdf_variant="pdf/a-3b")
    return pdf


@cache
def templates() -> Environment:
    """The archive's Jinja2 templates (services/archive/templates), autoescaped: the text of
    posts and comments is the public's, never markup."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
