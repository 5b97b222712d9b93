"""The Meta webhook on real NATS: what cannot be mapped is dead-lettered with its reason,
once however often Meta sends it; what can is taken; a bad signature changes nothing."""

import hashlib
import hmac
import json
from pathlib import Path

import yaml
from pydantic import SecretStr

from tests.helpers import REFERENCE
from tests.integration.moderation.harness import moderation

SECRET = "meta-test-secret"
PAGE = "424242"


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


async def test_p5_2_an_unmappable_change_is_dead_lettered_with_its_reason(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    config = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    config["moderation"] = {"meta_pages": {PAGE: "norakommunnaringsliv"}}
    kommun_file = tmp_path / "nora.yaml"
    kommun_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    marker = f"share-{tmp_path.name}"
    change = {"field": "feed", "value": {"item": "share", "verb": "add", "post_id": marker}}
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "changes": [change]}]}).encode()
    async with moderation(
        nats_url, mongodb_url, kommun_config=kommun_file, meta_app_secret=SecretStr(SECRET)
    ) as mod:
        forged = await mod.client.post(
            "/webhooks/meta/nora", content=body, headers=_signed(body, "x")
        )
        assert forged.status_code == 401
        assert await mod.dead_letters("comment.received", marker.encode()) == []
        for _ in range(2):  # Meta retries: one dead letter
            taken = await mod.client.post(
                "/webhooks/meta/nora", content=body, headers=_signed(body)
            )
            assert taken.status_code == 200, taken.text
            assert taken.json()["dead_lettered"] == 1
        [(headers, _)] = await mod.dead_letters("comment.received", marker.encode())
        assert headers["Kanalvakt-Dlq-Reason"].startswith("entry[0].changes[0]")
        unknown = await mod.client.post("/webhooks/meta/okand", content=body, headers=_signed(body))
        assert unknown.status_code == 404
