"""A local mail sink for `kanalvakt up`: an SMTP server (aiosmtpd) that keeps every
message notify sends in a Maildir under the data dir, so that a developer or a trainer
reads what staff would get without a real mail server. Never used in production:
there SMTP_HOST names the kommun's relay.

    python -m kanalvakt.mailsink --dir .kanalvakt/mail --host 127.0.0.1 --port 2525
"""

import argparse
import mailbox
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the Maildir")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    args.dir.parent.mkdir(parents=True, exist_ok=True)
    mailbox.Maildir(args.dir, create=True)
    controller = Controller(Mailbox(args.dir), hostname=args.host, port=args.port)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stopping.set())
    controller.start()
    try:
        stopping.wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
