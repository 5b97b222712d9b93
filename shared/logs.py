"""Structured logs: JSON in production, readable lines locally.

Every record passes through `redact`: no personnummer (L7), written plainly or URL-encoded
in a request line (`19121212%2D1212`), and no token reaches a log.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime

from shared.personnummer import mask_personnummer

_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_SECRET_PARAM = re.compile(r"(?i)((?:token|password|secret)=)[^&\s]+")
# An acknowledge link's token is its whole authority (P5.6): no log keeps it (the web
# part's and notify's access logs both see the link).
_LINK_TOKEN = re.compile(r"(/acknowledge/)[^\s?#\"/]+")


def redact(text: str) -> str:
    text = _JWT.sub("[token]", text)
    text = _BEARER.sub(r"\1[redacted]", text)
    text = _SECRET_PARAM.sub(r"\1[redacted]", text)
    text = _LINK_TOKEN.sub(r"\1[token]", text)
    return mask_personnummer(text)


class _Redacting(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return redact(super().formatMessage(record))

    def formatException(self, ei: object) -> str:
        return redact(super().formatException(ei))  # type: ignore[arg-type]


class JsonFormatter(_Redacting):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            _Redacting(f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Let uvicorn's and FastStream's loggers go through the redacting handler too.
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "faststream"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class OutageLog:
    """Says once that something stopped working and once that it works again, however
    often it is tried in between: an outage is two log lines, not one a try."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self.failing = False

    def failed(self, exc: BaseException, then: str) -> None:
        if not self.failing:
            self._log.warning("%s failed (%r); %s", self._what, exc, then)
        self.failing = True

    def works(self) -> None:
        if self.failing:
            self._log.warning("%s works again", self._what)
        self.failing = False
