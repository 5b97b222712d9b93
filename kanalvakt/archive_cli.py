"""`kanalvakt archive …`: the archive's checks from the command line (issue 10).

`verify` re-checks every account's hash chain link by link and every record against the
facts its chain keeps (P3.7b, L6), reading the archive's database directly: the same
MONGODB_URL, MONGODB_DATABASE and KOMMUN_CONFIG the archive service runs with. It exits 1
and names the first broken link of each broken account (a changed fact or record, a
tombstone no culling log and chained culling fact prove, a chain that ends before its
head anchor); a progress bar shows a long run. It only reads: records an unfinished cull
has begun to remove are counted as being culled, not broken.
"""

import asyncio
import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shared.kommun import KommunConfigError, load_kommuner
from shared.settings import ServiceName, Settings

archive_app = typer.Typer(
    help="Archive: verify that nothing kept was changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@archive_app.command()
def verify(
    kommun: Annotated[
        str | None,
        typer.Option(help="one kommun's archive (default: every configured kommun)"),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
) -> int:
    """Verify the archive's hash chains and records. Exit 1 when anything was changed
    (the first broken link of each account named), 0 when everything holds."""
    settings = Settings(service=ServiceName.ARCHIVE)
    try:
        kommuner = load_kommuner(settings.kommun_config, settings.default_kommun)
    except KommunConfigError as exc:
        print(f"kanalvakt archive verify: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if kommun is not None and kommun not in kommuner.ids:
        known = ", ".join(sorted(kommuner.ids))
        print(f"kanalvakt archive verify: --kommun: {kommun!r} is not configured ({known})")
        raise typer.Exit(2)
    ids = [kommun] if kommun else sorted(kommuner.ids)
    broken = asyncio.run(_verify(settings, ids, progress))
    raise typer.Exit(1 if broken else 0)


async def _verify(settings: Settings, kommuner: list[str], show: bool) -> bool:
    from pymongo.errors import PyMongoError

    from services.archive.handlers.verify import verify as verify_store
    from services.archive.store import ArchiveStore
    from shared.store import connect

    client = connect(settings.mongodb_url)
    db = client[settings.database_name]
    broken = False
    try:
        stores = [ArchiveStore(db, k) for k in kommuner]
        total = sum([await store.chain.count() for store in stores])
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeRemainingColumn(), disable=not show, transient=True) as bar:
            task = bar.add_task("verifying", total=total)
            reports = []
            for store in stores:
                bar.update(task, description=f"verifying {store.kommun}")
                reports.append(await verify_store(store, lambda n: bar.advance(task, n)))
    except PyMongoError as exc:
        print(f"kanalvakt archive verify: the store at MONGODB_URL: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        await client.close()
    for report in reports:
        summary = f"{report.accounts} accounts, {report.entries} entries, {report.records} records"
        culling = ""
        if report.being_culled:
            # An unfinished cull (P10.2): finished by the next cull run or periodic check.
            culling = f"; {len(report.being_culled)} records being culled by an unfinished run"
        if report.ok:
            print(f"{report.kommun}: intact ({summary}){culling}")
            continue
        broken = True
        print(f"{report.kommun}: BROKEN ({summary}){culling}")
        for account_id, link in report.broken:
            print(f"  account {account_id}: first broken link {link}")
    return broken
