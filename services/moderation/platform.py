"""The platform connectors moderation acts through, built once per configuration.

The connectors themselves (the Meta Graph API, and "by hand" where there is none) are in
services.moderation.connector; this keeps one instance per configuration, so that
handlers, routes and the sweep share one HTTP client per process.
"""

from typing import Any

from services.moderation.connector import (
    ActionRequest,
    ActionResult,
    Connectors,
    PlatformAction,
    connectors_from_settings,
)
from shared.settings import Settings

__all__ = ["ActionRequest", "ActionResult", "PlatformAction", "connectors"]

_built: dict[tuple[Any, ...], Connectors] = {}


def connectors(settings: Settings) -> Connectors:
    key = (
        settings.meta_page_tokens_file,
        settings.meta_graph_url,
        settings.meta_graph_version,
        settings.connector_timeout_seconds,
        settings.connector_attempts,
    )
    if key not in _built:
        _built[key] = connectors_from_settings(settings)
    return _built[key]
