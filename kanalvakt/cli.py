"""The `kanalvakt` command line: `up`, `run`, `web`, `screenshots`, `token`, `init`, `docs`,
`moderation classify`, `archive verify`, and the registry client (`accounts …`, `absences …`, in
kanalvakt/client.py).

Every error is a message and an exit code, never a traceback: 1 when something failed,
2 when the command line itself was wrong.
"""

import contextlib
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from kanalvakt.archive_cli import archive_app
from kanalvakt.moderation_cli import moderation_app
from shared.principal import Role
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.settings import DEFAULT_HTTP_PORTS, ServiceName

app = typer.Typer(
    name="kanalvakt",
    help="Kanalvakt: a kommun's official social-media accounts, run by its policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(moderation_app, name="moderation")
app.add_typer(archive_app, name="archive")
DataDir = Annotated[Path, typer.Option(help="where `up` keeps its data and the local token secret")]


def _fail(command: str, message: str, code: int = 1) -> typer.Exit:
    print(f"kanalvakt {command}: {message}", file=sys.stderr)
    return typer.Exit(code)


@app.command()
def up(
    data_dir: DataDir = Path(".kanalvakt"),
    host: str = "127.0.0.1",
    nats_port: int = 4222,
    nats_monitor_port: int = 8222,
    store_port: int = 27017,
    smtp_port: Annotated[
        int, typer.Option(help="the local mail sink's SMTP port (unless SMTP_HOST is set)")
    ] = 2525,
    http_port: Annotated[
        int,
        typer.Option(help="first of four consecutive ports: registry, moderation, archive, notify"),
    ] = DEFAULT_HTTP_PORTS[ServiceName.REGISTRY],
    kommun_config: Annotated[
        Path | None,
        typer.Option(
            envvar="KOMMUN_CONFIG",
            help="a kommun's configuration file, or a directory of them, one *.yaml per "
            "kommun, all served (default: ./config/ if it exists, else the reference file "
            "in the package)",
            show_default=False,
        ),
    ] = None,
    default_kommun: Annotated[
        str,
        typer.Option(
            envvar="DEFAULT_KOMMUN",
            help="id of the kommun that tokens without a kommun claim and /public/accounts "
            "belong to (default: the first kommun by file name)",
            show_default=False,
        ),
    ] = "",
    web_port: Annotated[
        int, typer.Option(help="the web interface's port (default: the one after the four)")
    ] = 0,
) -> int:
    """Run NATS, the store, all four services and the web interface on this machine,
    supervised, for every kommun of the configuration."""
    from kanalvakt.up import UpOptions, default_kommun_config, run_up

    ports = {name: http_port + i for i, name in enumerate(ServiceName)}
    return run_up(
        UpOptions(
            data_dir=data_dir,
            host=host,
            nats_port=nats_port,
            nats_monitor_port=nats_monitor_port,
            store_port=store_port,
            smtp_port=smtp_port,
            http_ports=ports,
            kommun_config=kommun_config or default_kommun_config(Path.cwd()),
            default_kommun=default_kommun,
            web_port=web_port,
        )
    )


@app.command()
def web() -> int:
    """Run the web interface (issue 14) on HTTP_HOST:HTTP_PORT (0: 8005), calling the
    services at WEB_REGISTRY_URL and the others; `up` starts it with the rest."""
    from pydantic import ValidationError

    from shared.kommun import KommunConfigError
    from web.app import main as serve

    try:
        return serve()
    except ValidationError as exc:  # the variable's name and what is wrong, no URL
        prefix = "WEB_" if exc.title == "WebSettings" else ""
        problems = "; ".join(
            f"{prefix}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise _fail("web", f"settings: {problems}", 2) from None
    except (KommunConfigError, ValueError) as exc:
        raise _fail("web", str(exc), 2) from None


@app.command()
def screenshots(
    out: Annotated[Path, typer.Option(help="where the PNGs go")] = Path("docs/screenshots"),
) -> int:
    """Start a local stack, visit the web interface's main pages in Chromium and write a
    PNG of each (the README's pictures). Needs the dev install (Playwright)."""
    from web.screenshots import ScreenshotError, take_screenshots

    try:
        for path in take_screenshots(out.resolve()):
            print(f"wrote {path}")
    except ScreenshotError as exc:
        raise _fail("screenshots", str(exc)) from None
    return 0


@app.command()
def run(service: Annotated[ServiceName, typer.Argument(help="which service")]) -> int:
    """Run one service against NATS_URL and MONGODB_URL (what a Kubernetes pod runs)."""
    import uvicorn
    from pydantic import ValidationError

    from kanalvakt.catalog import parts_of
    from shared.kommun import KommunConfigError
    from shared.logs import configure_logging
    from shared.service import build_service
    from shared.settings import Settings

    try:
        settings = Settings(service=service)
    except ValidationError as exc:
        raise _fail(f"run {service.value}", f"settings: {exc}", 2) from None
    configure_logging(settings.service.value, settings.log_level, settings.log_format)
    try:
        built = build_service(parts_of(settings.service), settings)
    except (KommunConfigError, ValueError) as exc:
        raise _fail(f"run {service.value}", str(exc), 2) from None
    config = uvicorn.Config(
        built, host=settings.http_host, port=settings.port, log_config=None, lifespan="on"
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutdown
        uvicorn.Server(config).run()
    return 0


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="who the token is for")],
    role: Annotated[list[Role], typer.Option(help="repeat for more roles")],
    name: str = "",
    email: Annotated[str, typer.Option(help="an administrator's address (sign-off)")] = "",
    department: Annotated[str, typer.Option(help="a department head's förvaltning")] = "",
    kommun: Annotated[
        str,
        typer.Option(
            metavar="ID",
            help="the kommun the token acts for (its kommun.id); without it, the "
            "deployment's default kommun",
        ),
    ] = "",
    ttl: Annotated[int, typer.Option(help="seconds")] = 8 * 3600,
    data_dir: DataDir = Path(".kanalvakt"),
) -> int:
    """Mint a local token, signed as `up` signs: AUTH_SECRET if set, else the data dir's."""
    from kanalvakt.localauth import NoSecret, signing_secret
    from shared.auth import mint_token
    from shared.kommun import KOMMUN_ID_PATTERN
    from shared.settings import Settings

    if kommun and not re.fullmatch(KOMMUN_ID_PATTERN, kommun):
        raise _fail(
            "token",
            f"--kommun {kommun!r} is not a kommun id: lower-case letters and digits, "
            "words joined by single hyphens (e.g. vasterby), as in the kommun file's kommun.id",
            2,
        )
    try:
        secret = signing_secret(data_dir.resolve(), os.environ, create=False)
    except NoSecret as exc:
        raise _fail("token", str(exc)) from None
    settings = Settings()
    print(
        mint_token(
            secret.value,
            sub,
            role,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            name=name,
            email=email,
            department=department,
            kommun=kommun,
            ttl_seconds=ttl,
        )
    )
    return 0


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="where to write kommun.yaml")],
) -> int:
    """Write a copy of the reference configuration for a kommun to edit (never overwrites).

    Set its kommun.id, then start with KOMMUN_CONFIG=DIR/kommun.yaml (or `kanalvakt up
    --kommun-config …`). DIR may hold one file per kommun: KOMMUN_CONFIG=DIR serves them all.
    """
    target = directory / REFERENCE_KOMMUN_CONFIG.name
    if target.exists():
        raise _fail("init", f"{target} exists already; nothing written")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REFERENCE_KOMMUN_CONFIG, target)
    except OSError as exc:
        raise _fail("init", f"cannot write {target}: {exc}") from None
    print(f"wrote {target}")
    # The copy keeps the reference kommun's id: a kommun must not share it with another.
    print("Edit it, first kommun.id: your kommun's short lower-case id (e.g. vasterby).")
    print(f"Then: KOMMUN_CONFIG={target} kanalvakt up")
    print(
        f"{directory} may hold several kommun files, one per kommun, each with its own "
        f"kommun.id: KOMMUN_CONFIG={directory} kanalvakt up serves them all."
    )
    return 0


@app.command()
def docs(root: Path = Path(".")) -> int:
    """Regenerate docs/asyncapi.yaml and docs/events.md."""
    from kanalvakt.docs import write_docs

    for path in write_docs(root):
        print(f"wrote {path}")
    return 0


def _add_client() -> None:
    from kanalvakt.client import add_commands

    add_commands(app)


_add_client()


def main(argv: list[str] | None = None) -> int:
    """The console entry point; tests call it with `argv` and read the exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="kanalvakt", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # a wrong command line: usage and the reason
        show = getattr(exc, "show", None)
        if show is None:
            print(f"kanalvakt: {exc}", file=sys.stderr)
        else:
            show()
        return int(getattr(exc, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        print("kanalvakt: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback; KANALVAKT_DEBUG=1 shows one
        if os.environ.get("KANALVAKT_DEBUG"):
            raise
        print(f"kanalvakt: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0
