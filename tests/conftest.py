"""Session fixtures: a real nats-server with JetStream and a real MongoDB wire-protocol
store, started on free ports from the installed wheels and stopped at the end.

Set MONGODB_URL to run everything against a real MongoDB instead of nx-27017.
"""

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kanalvakt.processes import free_port, start_nats, start_store, stop
from shared.ids import new_id
from shared.store import Document, connect
from tests.helpers import ROOT

__all__ = ["ROOT"]
HOST = "127.0.0.1"


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = start_nats(tmp_path_factory.mktemp("nats"), HOST, port, free_port())
    yield f"nats://{HOST}:{port}"
    stop(proc)


@pytest.fixture(scope="session")
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("MONGODB_URL")
    if external:
        yield external
        return
    port = free_port()
    proc = start_store(tmp_path_factory.mktemp("store"), HOST, port)
    yield f"mongodb://{HOST}:{port}"
    stop(proc)


@pytest.fixture(scope="session")
async def mongo_client(mongodb_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = connect(mongodb_url)
    yield client
    await client.close()


@pytest.fixture
async def db(mongo_client: AsyncMongoClient[Document]) -> AsyncIterator[AsyncDatabase[Document]]:
    """A database of its own for each test, dropped afterwards."""
    name = f"kvtest_{new_id().lower()}"
    yield mongo_client[name]
    await mongo_client.drop_database(name)
