"""Who acts: the caller as the domain sees them. Pure: no FastAPI, no JWT.

`shared.auth` turns a verified token into a Principal at the HTTP edge; domain code
reads only this module, so the policy's rules are testable without a web framework.
"""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Roles of the policy (POLICY.md, "Roles"); tokens carry these values."""

    COMMUNICATOR = "communicator"  # driftansvarig
    ADMINISTRATOR = "administrator"  # kontoansvarig
    UNIT_HEAD = "unit_head"  # enhetschef
    DEPARTMENT_HEAD = "department_head"  # förvaltningschef
    INFORMATION_OFFICER = "information_officer"  # informationsansvarig
    SECURITY_COORDINATOR = "security_coordinator"  # säkerhetssamordnare
    REGISTRAR = "registrar"  # diarium
    ARCHIVIST = "archivist"
    OPERATIONS = "operations"
    CONNECTOR = "connector"  # a system that delivers posts and comments to moderation


@dataclass(frozen=True)
class Principal:
    subject: str
    name: str
    roles: frozenset[Role]
    email: str = ""
    department: str = ""  # a department head's förvaltning (P2.1 sign-off)
    # The kommun the caller acts for: everything they read or write is that kommun's.
    kommun: str = ""
