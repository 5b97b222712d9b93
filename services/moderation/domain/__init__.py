"""Moderation's domain: pure rules, no NATS, no MongoDB, no HTTP.

`inbound` (what connectors deliver), `classification` (the policy's word lists and
patterns), `calendar` (deadlines counted in monitored hours), `accounts` (what moderation
holds each account to), `cases` (a flagged comment's case, its decisions and audit trail).
"""
