"""The `kanalvakt` command line."""

import argparse
import contextlib
import os
import sys
from pathlib import Path

from shared.settings import DEFAULT_HTTP_PORTS, ServiceName, Settings


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from kanalvakt.catalog import parts_of
    from shared.kommun import KommunConfigError
    from shared.logs import configure_logging
    from shared.service import build_service
    from shared.settings import Settings

    settings = Settings(service=ServiceName(args.service))
    configure_logging(settings.service.value, settings.log_level, settings.log_format)
    try:
        app = build_service(parts_of(settings.service), settings)
    except (KommunConfigError, ValueError) as exc:
        print(f"kanalvakt run {args.service}: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.port, log_config=None, lifespan="on"
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutdown
        uvicorn.Server(config).run()
    return 0


def _up(args: argparse.Namespace) -> int:
    from kanalvakt.up import UpOptions, run_up

    base = args.http_port
    ports = {name: base + i for i, name in enumerate(ServiceName)}
    return run_up(
        UpOptions(
            data_dir=args.data_dir,
            host=args.host,
            nats_port=args.nats_port,
            nats_monitor_port=args.nats_monitor_port,
            store_port=args.store_port,
            http_ports=ports,
            kommun_config=args.kommun_config,
        )
    )


def _token(args: argparse.Namespace) -> int:
    from kanalvakt.up import local_secret
    from shared.auth import mint_token
    from shared.principal import Role
    from shared.settings import Settings

    settings = Settings()
    secret = (
        settings.auth_secret.get_secret_value()
        if settings.auth_secret
        else local_secret(args.data_dir)
    )
    try:
        roles = [Role(r) for r in args.role]
    except ValueError as exc:
        known = ", ".join(r.value for r in Role)
        print(f"kanalvakt token: --role: {exc}; known roles: {known}", file=sys.stderr)
        return 2
    print(
        mint_token(
            secret,
            args.sub,
            roles,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            name=args.name,
            email=args.email,
            department=args.department,
            ttl_seconds=args.ttl,
        )
    )
    return 0


def _docs(args: argparse.Namespace) -> int:
    from kanalvakt.docs import write_docs

    for path in write_docs(args.root):
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kanalvakt", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run NATS, the store and all four services on this machine")
    up.add_argument("--data-dir", type=Path, default=Path(".kanalvakt"))
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--nats-port", type=int, default=4222)
    up.add_argument("--nats-monitor-port", type=int, default=8222)
    up.add_argument("--store-port", type=int, default=27017)
    up.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORTS[ServiceName.REGISTRY],
        help="first of four consecutive ports: registry, moderation, archive, notify",
    )
    up.add_argument(
        "--kommun-config",
        type=Path,
        default=Path(os.environ.get("KOMMUN_CONFIG", "") or Settings().kommun_config),
    )
    up.set_defaults(func=_up)

    run = sub.add_parser("run", help="run one service against NATS_URL and MONGODB_URL")
    run.add_argument("service", choices=[s.value for s in ServiceName])
    run.set_defaults(func=_run)

    token = sub.add_parser("token", help="mint a local token (AUTH_SECRET or the data dir's)")
    token.add_argument("--sub", required=True, help="who the token is for")
    token.add_argument("--role", action="append", required=True, help="repeat for more roles")
    token.add_argument("--name", default="")
    token.add_argument("--email", default="", help="an administrator's address (sign-off)")
    token.add_argument("--department", default="", help="a department head's förvaltning")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="seconds")
    token.add_argument("--data-dir", type=Path, default=Path(".kanalvakt"))
    token.set_defaults(func=_token)

    from kanalvakt.client import add_commands

    add_commands(sub)

    docs = sub.add_parser("docs", help="regenerate docs/asyncapi.yaml and docs/events.md")
    docs.add_argument("--root", type=Path, default=Path("."))
    docs.set_defaults(func=_docs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code
