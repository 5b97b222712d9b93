"""The platform connectors moderation acts through, built once per configuration.

The connectors themselves (the Meta Graph API, and "by hand" where there is none) are in
services.moderation.connector; this keeps one instance per configuration, so that
handlers, routes and the sweep share one HTTP client per process.
"""

import logging
from typing import Any

from services.moderation.connector import (
    META_PLATFORMS,
    ActionRequest,
    ActionResult,
    ByHand,
    Connectors,
    PlatformAction,
    TokensFileError,
    connectors_from_settings,
)
from shared.settings import Settings

__all__ = ["ActionRequest", "ActionResult", "PlatformAction", "connectors"]

log = logging.getLogger("kanalvakt.moderation.platform")

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
        try:
            _built[key] = connectors_from_settings(settings)
        except TokensFileError as exc:
            # Moderation goes on; every platform action says on its case why it is by hand.
            log.error("platform actions are by hand: %s", exc)
            _built[key] = Connectors(dict.fromkeys(META_PLATFORMS, ByHand(str(exc))))
    return _built[key]
