"""Workarounds for the pinned FastStream/nats-py versions, each with how to tell it is gone.

FastStream 0.7.8's pull loop suppresses `nats.errors.TimeoutError` around `fetch()`, but
nats-py 2.16 raises the builtin `TimeoutError` (its parent class) when a batch fetch's
own deadline runs out with nothing found (about one idle poll in ten here). Each such
poll kills the consume task, FastStream's supervisor restarts it and logs an error.
Pointing the module's name at the builtin class makes the existing `suppress` catch
both. tests/unit/test_configuration.py fails once FastStream catches the builtin itself,
so the patch can go.
"""

import builtins

from faststream.nats.subscriber.usecases import stream_pull_subscriber


def patch_pull_timeout() -> None:
    setattr(stream_pull_subscriber, "TimeoutError", builtins.TimeoutError)  # noqa: B010
