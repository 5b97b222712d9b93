"""diarium: routes come here."""

from fastapi import APIRouter

router = APIRouter()
