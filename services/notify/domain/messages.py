"""What a notification says, in the recipient's language (Swedish by default, English
per recipient), rendered from Jinja2 templates in services/notify/templates/: a subject,
a short text, the same as HTML, a link to the item.

Contract (issue 11). The helper building routing fills this in: `context_of(event)`
takes only named, non-secret fields of an event (never a comment's text, an author, a
personnummer or a token); `render` makes the Message from that context.
"""
