"""What a flow costs the store is counted per service and command
(kanalvakt_store_commands_total), so a storm can report store writes per comment
(bench/storm.py, issue 13) and Grafana can show what loads MongoDB."""

from prometheus_client import REGISTRY

from shared.ids import new_id
from shared.store import connect


def _count(service: str, command: str) -> float:
    labels = {"service": service, "command": command}
    return REGISTRY.get_sample_value("kanalvakt_store_commands_total", labels) or 0.0


async def test_every_command_a_service_sends_is_counted_by_name(mongodb_url: str) -> None:
    service = f"test{new_id().lower()[-6:]}"
    client = connect(mongodb_url, service=service)
    try:
        coll = client[f"kvtest_{service}"]["things"]
        await coll.insert_many([{"_id": "a"}, {"_id": "b"}])
        await coll.update_one({"_id": "a"}, {"$set": {"n": 1}})
        assert await coll.find_one({"_id": "a"}) == {"_id": "a", "n": 1}
        await client.drop_database(f"kvtest_{service}")
    finally:
        await client.close()
    assert _count(service, "insert") == 1  # one round trip for the batch
    assert _count(service, "update") == 1
    assert _count(service, "find") == 1
    assert _count(service, "other") >= 1  # dropDatabase, handshakes: bounded, not named
    assert _count("", "insert") == 0  # a client without a service counts nothing
