"""Notify: tells the right person at the right time (e-mail, webhooks)."""
