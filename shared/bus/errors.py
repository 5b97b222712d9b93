"""The one exception a handler raises for input it can never process."""


class InvalidEvent(ValueError):
    """The event is well-formed JSON but breaks a rule: dead-letter it, never retry.

    The message names the field and the rule, e.g. "data.account_id: unknown account".
    """
