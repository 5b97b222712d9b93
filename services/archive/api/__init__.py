"""The archive's HTTP API, one module per concern: records (records), the diarium
(diarium), holds and culling (culling), snapshots (snapshots), requests for public
records (search)."""

from fastapi import APIRouter

from services.archive.api import culling, diarium, records, search, snapshots

router = APIRouter()
# search first: its /records/search must not be taken for a record id.
for part in (search, records, diarium, culling, snapshots):
    router.include_router(part.router)
