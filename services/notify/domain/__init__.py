"""Notify's rules, with no NATS, no MongoDB, no SMTP and no HTTP: who hears what
(routing), in which words (messages), when (quiet hours, retries) and who has
acknowledged (acknowledgements)."""
