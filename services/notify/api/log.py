"""The delivery log: who was told what, when, how, with what result (owned by acks/log)."""

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
