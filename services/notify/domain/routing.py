"""Who hears of an event (issue 11's table; the kommun's `notify.routes`).

Contract (issue 11). The helper building routing fills this in.
"""
