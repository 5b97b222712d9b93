"""Kanalvakt's web interface (issue 14): server-rendered pages over the services' APIs.

A thin adapter: no database, no NATS. Every page calls the services' HTTP APIs with the
signed-in person's own token (web.services) and renders a Jinja2 template.
"""
