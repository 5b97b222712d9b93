"""Notify's HTTP API, one module per concern: the delivery log (log), acknowledging an
escalation (acks)."""

from fastapi import APIRouter

from services.notify.api import acks, log

router = APIRouter()
for part in (log, acks):
    router.include_router(part.router)
