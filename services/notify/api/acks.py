"""Acknowledging an escalation by its signed link, no login needed (owned by acks)."""

from fastapi import APIRouter

router = APIRouter(tags=["acknowledgements"])
