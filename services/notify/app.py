"""Builds the notify service: what `kanalvakt run notify` serves."""

from services.notify.api import router
from services.notify.handlers import events
from services.notify.handlers.acks import climb_forever
from services.notify.handlers.delivery import deliver_forever
from services.notify.handlers.routing import route_waiting_forever
from services.notify.store import NotifyStore
from shared.service import ServiceParts

PARTS = ServiceParts(
    title="Kanalvakt notify",
    events=events,
    make_store=NotifyStore,
    api=router,
    background=[deliver_forever, climb_forever, route_waiting_forever],
)
