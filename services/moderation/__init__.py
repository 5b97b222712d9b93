"""Moderation: incoming comments, policy classification, cases, deadlines, escalations."""
