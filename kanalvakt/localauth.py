"""The one rule for the local token secret, shared by `kanalvakt up` and `kanalvakt token`.

Both sign with `AUTH_SECRET` when it is set, and otherwise with the data directory's
`auth-secret` file. Only `kanalvakt up` creates that file (once per data directory); a
`kanalvakt token` that finds neither refuses, so it never signs with a secret no running
system knows (which the services could only answer with 401).
"""

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SECRET_FILE = "auth-secret"  # noqa: S105 (a file name, not a secret)
MIN_LENGTH = 32  # shared.settings.Settings.auth_secret: min_length


class NoSecret(Exception):
    """There is no secret to sign with, or the one given cannot be used."""


@dataclass(frozen=True)
class SigningSecret:
    value: str
    source: str  # "AUTH_SECRET" or the file's path: said to the user, never the value

    def __repr__(self) -> str:  # never print the secret by accident
        return f"SigningSecret(source={self.source!r})"


def signing_secret(data_dir: Path, environ: Mapping[str, str], *, create: bool) -> SigningSecret:
    """AUTH_SECRET if set, else `data_dir/auth-secret`; made only when `create` (up)."""
    given = environ.get("AUTH_SECRET", "")
    if given:
        if len(given) < MIN_LENGTH:
            raise NoSecret(
                f"AUTH_SECRET is set but shorter than {MIN_LENGTH} characters; "
                "set a longer one or unset it to use the data directory's secret"
            )
        return SigningSecret(given, "AUTH_SECRET")
    path = data_dir / SECRET_FILE
    if not path.exists():
        if not create:
            raise NoSecret(
                f"no secret to sign with: AUTH_SECRET is unset and {path} does not exist. "
                f"Run this where `kanalvakt up` runs, pass its --data-dir, or set AUTH_SECRET "
                "to the secret the services use"
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only, never for a moment by others (umask).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as secret_file:
            secret_file.write(secrets.token_urlsafe(48))
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        raise NoSecret(f"{path} holds fewer than {MIN_LENGTH} characters; delete it to make anew")
    return SigningSecret(value, str(path))
