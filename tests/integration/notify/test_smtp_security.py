"""E-mail over a secured SMTP session, as a kommun's relay asks (issue 11): STARTTLS on
587 and implicit TLS on 465, each with AUTH, the server's certificate checked against
the CA in SMTP_CA_FILE (a kommun's internal CA); a server with a certificate from
another CA is refused, so nothing is sent in the clear or to an impostor."""

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from kanalvakt.processes import free_port
from services.notify.domain.notifications import Status
from tests.helpers import account_created
from tests.integration.notify.harness import HOST, Mailbox, _Handler, notify

USER, PASSWORD = "kanalvakt", "relay-password-for-a-test"
INFORMATIONSANSVARIG = "kommunchef@nora.example"


@dataclass
class Certificate:
    cert: Path
    key: Path


def _certificate(tmp: Path, name: str) -> Certificate:
    """A self-signed certificate for 127.0.0.1: its own CA, as an internal CA would be."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"smtp test {name}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(tmp / f"{name}.pem", tmp / f"{name}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@contextmanager
def relay(certificate: Certificate, implicit: bool) -> Iterator[tuple[int, Mailbox]]:
    """A relay that demands TLS (STARTTLS, or TLS from the first byte) and AUTH."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    mailbox = Mailbox()
    port = free_port()
    tls: dict[str, Any] = (
        # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS from the start.
        {"ssl_context": context, "auth_require_tls": False}
        if implicit
        else {"tls_context": context, "require_starttls": True}
    )
    server = Controller(
        _Handler(mailbox),
        hostname=HOST,
        port=port,
        authenticator=_authenticate,
        auth_required=True,
        **tls,
    )
    server.start()
    try:
        yield port, mailbox
    finally:
        server.stop()


# aiosmtpd warns of AUTH without STARTTLS; under implicit TLS the whole session is TLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_issue_11_email_goes_over_tls_with_auth_to_a_relay_the_ca_vouches_for(
    nats_url: str, mongodb_url: str, tmp_path: Path, security: str
) -> None:
    certificate = _certificate(tmp_path, "relay")
    with relay(certificate, implicit=security == "tls") as (port, mailbox):
        async with notify(
            nats_url,
            mongodb_url,
            tmp_path,
            smtp_port=port,
            smtp_security=security,
            smtp_username=USER,
            smtp_password=SecretStr(PASSWORD),
            smtp_ca_file=certificate.cert,
        ) as n:
            await n.publish(account_created())

            async def arrived() -> bool:
                return bool(mailbox.to(INFORMATIONSANSVARIG))

            await n.until(arrived, what=f"the plan's e-mail over {security}")
            [mail] = mailbox.to(INFORMATIONSANSVARIG)
            assert mail["Message-ID"]


async def test_issue_11_a_relay_whose_certificate_no_trusted_ca_signed_gets_nothing(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    impostor, trusted = _certificate(tmp_path, "impostor"), _certificate(tmp_path, "trusted")
    with relay(impostor, implicit=False) as (port, mailbox):
        async with notify(
            nats_url,
            mongodb_url,
            tmp_path,
            smtp_port=port,
            smtp_security="starttls",
            smtp_username=USER,
            smtp_password=SecretStr(PASSWORD),
            smtp_ca_file=trusted.cert,
        ) as n:
            created = account_created()
            await n.publish(created)

            async def tried() -> bool:
                found = await n.deps.store.notifications.repo.find({"event_id": created.id})
                return any(
                    v.item.address == INFORMATIONSANSVARIG and v.item.attempts for v in found
                )

            await n.until(tried, what="a first attempt at the impostor relay")
            found = await n.deps.store.notifications.repo.find({"event_id": created.id})
            [note] = [v.item for v in found if v.item.address == INFORMATIONSANSVARIG]
            assert note.status in (Status.PENDING, Status.FAILED)  # retried, never sent
            assert not note.attempts[0].ok
            assert "certificate" in note.attempts[0].detail.lower()
            assert mailbox.messages == []
