"""The Meta webhook's edges: signature, verification challenge, and mapping to Inbound."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.moderation.meta import (
    describe_refusal,
    map_feed,
    verification_answer,
    verify_signature,
)

SECRET = b"app-secret-for-tests"
PAGE = "1111"
IG = "17841400000000001"
PAGES = {PAGE: "noras.kommun", IG: "noras_kommun"}
WHEN = 1_767_268_800  # 2026-01-01 12:00:00 UTC
SENT = 1_767_268_900


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def page(*changes: dict[str, Any], page_id: str = PAGE, time: Any = SENT) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": page_id, "changes": list(changes)}
    if time is not None:
        entry["time"] = time
    return {"object": "page", "entry": [entry]}


def feed(**value: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "item": "comment",
        "verb": "add",
        "comment_id": "500_700",
        "post_id": "1111_500",
        "parent_id": "1111_500",
        "from": {"id": "42", "name": "Anna Andersson"},
        "message": "Hej! Läs https://example.se/a, och http://x.test/b?c=1.",
        "created_time": WHEN,
    }
    base.update(value)
    return {"field": "feed", "value": {k: v for k, v in base.items() if v is not None}}


def instagram(value: dict[str, Any], field: str = "comments") -> dict[str, Any]:
    entry = {"id": IG, "time": SENT, "changes": [{"field": field, "value": value}]}
    return {"object": "instagram", "entry": [entry]}


IG_COMMENT = {
    "id": "18000000000000001",
    "text": "Snyggt!",
    "from": {"id": "99", "username": "besokare"},
    "media": {"id": "17900000000000001", "media_product_type": "FEED"},
}


# --- signature ----------------------------------------------------------------------------


def test_signature_of_the_raw_body_is_accepted() -> None:
    body = b'{"object":"page","entry":[]}'
    assert verify_signature(SECRET, body, sign(body))
    assert verify_signature(SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


def test_signature_for_another_body_is_refused() -> None:
    body = b'{"object":"page","entry":[]}'
    assert not verify_signature(SECRET, body, sign(b'{"object":"page","entry":[{}]}'))


def test_body_changed_by_one_byte_is_refused() -> None:
    body = b'{"object":"page","entry":[]}'
    header = sign(body)
    changed = body[:-2] + b"}" + body[-1:]
    assert changed != body
    assert len(changed) == len(body)
    assert not verify_signature(SECRET, changed, header)


def test_wrong_secret_is_refused() -> None:
    body = b"{}"
    assert not verify_signature(SECRET, body, sign(body, b"another-secret"))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,
        "sha256=" + "z" * 64,
        "sha256=" + "0" * 63,
        "sha256=" + "0" * 66,
        "0" * 64,
    ],
)
def test_missing_or_malformed_signature_is_refused(header: str | None) -> None:
    assert not verify_signature(SECRET, b"{}", header)


def test_no_app_secret_refuses_everything() -> None:
    assert not verify_signature(b"", b"{}", sign(b"{}", b""))


def test_refusal_says_why_and_only_the_length() -> None:
    body = b'{"message": "secret personal data"}'
    missing = describe_refusal(None, len(body))
    malformed = describe_refusal("sha1=abc", len(body))
    mismatch = describe_refusal(sign(b"other"), len(body))
    unset = describe_refusal(sign(body), len(body), secret_configured=False)
    assert missing.startswith("missing X-Hub-Signature-256")
    assert malformed.startswith("malformed")
    assert "does not match" in mismatch
    assert "META_APP_SECRET" in unset
    for text in (missing, malformed, mismatch, unset):
        assert f"body {len(body)} bytes" in text
        assert "personal" not in text
    assert sign(b"other") not in mismatch


# --- verification challenge ---------------------------------------------------------------


def test_verification_answers_the_challenge() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verification_answer(params, "tok") == "1158201444"


@pytest.mark.parametrize(
    ("params", "token"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "bad", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "tok", "hub.challenge": "1"}, "tok"),
        ({"hub.verify_token": "tok", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, "tok"),
        ({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}, ""),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok"}, "tok"),
        ({"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "<b>"}, "tok"),
    ],
)
def test_verification_refuses_anything_else(params: dict[str, str], token: str) -> None:
    assert verification_answer(params, token) is None


# --- mapping: Facebook Page feed ----------------------------------------------------------


def test_comment_add_is_a_comment() -> None:
    mapped = map_feed(page(feed()), PAGES)
    assert mapped.unmappable == []
    [item] = mapped.items
    assert item.kind == "comment"
    assert item.platform == "facebook"
    assert item.platform_id == "500_700"
    assert item.account == "noras.kommun"
    assert item.post_id == "1111_500"
    assert item.reply_to == ""  # parent is the post itself
    assert item.author is not None
    assert (item.author.id, item.author.name, item.author.is_kommun) == (
        "42",
        "Anna Andersson",
        False,
    )
    assert item.text.startswith("Hej!")
    assert item.created_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert item.created_at.utcoffset() is not None
    assert item.links == ["https://example.se/a", "http://x.test/b?c=1"]


def test_reply_to_a_comment_keeps_its_parent() -> None:
    [item] = map_feed(page(feed(parent_id="500_600")), PAGES).items
    assert item.reply_to == "500_600"


def test_p10_6_page_comment_is_the_kommuns() -> None:
    [item] = map_feed(page(feed(**{"from": {"id": PAGE, "name": "Nora"}})), PAGES).items
    assert item.kind == "comment"
    assert item.author is not None
    assert item.author.is_kommun


def test_comment_with_only_a_photo_has_no_text() -> None:
    [item] = map_feed(page(feed(message=None)), PAGES).items
    assert (item.text, item.links) == ("", [])


def test_iso_created_time_is_accepted_as_utc() -> None:
    [item] = map_feed(page(feed(created_time="2026-01-01T13:00:00+0100")), PAGES).items
    assert item.created_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert item.created_at.tzinfo == UTC


@pytest.mark.parametrize("item", ["post", "status", "photo", "video", "share"])
def test_p10_6_page_post_is_the_kommuns_post(item: str) -> None:
    change = feed(item=item, comment_id=None, parent_id=None, **{"from": {"id": PAGE}})
    [mapped] = map_feed(page(change), PAGES).items
    assert mapped.kind == "post"
    assert mapped.platform_id == "1111_500"
    assert mapped.author is not None
    assert mapped.author.is_kommun


def test_p5_2_visitor_post_is_received_like_a_comment() -> None:
    change = feed(item="status", comment_id=None, parent_id=None)
    [mapped] = map_feed(page(change), PAGES).items
    assert mapped.kind == "comment"
    assert mapped.platform_id == "1111_500"
    assert mapped.post_id == ""
    assert mapped.author is not None
    assert not mapped.author.is_kommun


def test_edited_is_an_edit_with_the_new_text_at_the_change_time() -> None:
    [item] = map_feed(page(feed(verb="edited", message="Ny text")), PAGES).items
    assert item.kind == "edit"
    assert item.platform_id == "500_700"
    assert item.text == "Ny text"
    assert item.created_at == datetime.fromtimestamp(SENT, UTC)


def test_post_edited_is_an_edit_of_the_post() -> None:
    change = feed(item="status", verb="edited", comment_id=None, message="Rättat")
    [item] = map_feed(page(change), PAGES).items
    assert (item.kind, item.platform_id, item.text) == ("edit", "1111_500", "Rättat")


def test_p5_2_remove_is_a_deletion_removed() -> None:
    [item] = map_feed(page(feed(verb="remove", message=None)), PAGES).items
    assert (item.kind, item.how, item.platform_id) == ("delete", "removed", "500_700")


def test_p5_2_hide_is_a_deletion_hidden() -> None:
    [item] = map_feed(page(feed(verb="hide")), PAGES).items
    assert (item.kind, item.how) == ("delete", "hidden")


def test_change_without_entry_time_uses_created_time() -> None:
    [item] = map_feed(page(feed(verb="remove"), time=None), PAGES).items
    assert item.created_at == datetime.fromtimestamp(WHEN, UTC)


def test_several_changes_and_entries_map_each() -> None:
    payload = page(feed(), feed(comment_id="500_701"), feed(verb="share"))
    payload["entry"].append(page(feed(comment_id="500_702"))["entry"][0])
    mapped = map_feed(payload, PAGES)
    assert [i.platform_id for i in mapped.items] == ["500_700", "500_701", "500_702"]
    assert [u.reason for u in mapped.unmappable] == [
        "entry[0].changes[2].value.verb: 'share' is not add, edited, remove or hide"
    ]


def test_retried_delivery_maps_to_the_same_keys() -> None:
    payload = page(feed(), feed(verb="edited"), feed(verb="hide"))
    body = json.dumps(payload).encode()
    first = map_feed(json.loads(body), PAGES).items
    again = map_feed(json.loads(body), PAGES).items
    assert [i.key for i in first] == [i.key for i in again]
    assert len({i.key for i in first}) == 3


def test_two_edits_of_one_comment_are_two_deliveries() -> None:
    [first] = map_feed(page(feed(verb="edited", message="a")), PAGES).items
    [second] = map_feed(page(feed(verb="edited", message="b"), time=SENT + 60), PAGES).items
    assert first.key != second.key
    assert first.comment_id == second.comment_id


# --- mapping: Instagram -------------------------------------------------------------------


def test_instagram_comment_is_a_comment() -> None:
    mapped = map_feed(instagram(IG_COMMENT), PAGES)
    assert mapped.unmappable == []
    [item] = mapped.items
    assert item.kind == "comment"
    assert item.platform == "instagram"
    assert item.platform_id == "18000000000000001"
    assert item.account == "noras_kommun"
    assert item.post_id == "17900000000000001"
    assert item.reply_to == ""
    assert item.author is not None
    assert (item.author.id, item.author.name, item.author.is_kommun) == ("99", "besokare", False)
    assert item.text == "Snyggt!"
    assert item.created_at == datetime.fromtimestamp(SENT, UTC)


def test_instagram_reply_and_live_comment() -> None:
    value = {**IG_COMMENT, "parent_id": "18000000000000000"}
    [item] = map_feed(instagram(value, field="live_comments"), PAGES).items
    assert item.reply_to == "18000000000000000"


def test_p10_6_instagram_account_comment_is_the_kommuns() -> None:
    value = {**IG_COMMENT, "from": {"id": IG, "username": "noras_kommun"}}
    [item] = map_feed(instagram(value), PAGES).items
    assert item.author is not None
    assert item.author.is_kommun


def test_instagram_change_on_the_entry_itself() -> None:
    entry = {"id": IG, "time": SENT, "field": "comments", "value": IG_COMMENT}
    [item] = map_feed({"object": "instagram", "entry": [entry]}, PAGES).items
    assert item.platform_id == "18000000000000001"


def test_instagram_other_field_is_unmappable() -> None:
    [refused] = map_feed(instagram({"media_id": "1"}, field="mentions"), PAGES).unmappable
    assert (
        refused.reason == "entry[0].changes[0].field: 'mentions' is not comments or live_comments"
    )


# --- unmappable ---------------------------------------------------------------------------


def test_unknown_page_is_unmappable() -> None:
    mapped = map_feed(page(feed(), page_id="123"), PAGES)
    assert mapped.items == []
    [refused] = mapped.unmappable
    assert refused.reason == "entry[0].id: page 123 is not configured (moderation.meta_pages)"
    assert refused.change["id"] == "123"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"field": "mention", "value": {}},
            "entry[0].changes[0].field: 'mention' is not feed",
        ),
        (
            feed(verb="share"),
            "entry[0].changes[0].value.verb: 'share' is not add, edited, remove or hide",
        ),
        (
            feed(verb="unhide"),
            "entry[0].changes[0].value.verb: 'unhide' has no inbound kind (it is not mapped)",
        ),
        (
            feed(item="event"),
            "entry[0].changes[0].value.item: 'event' is not comment, post, status, photo, "
            "video, share",
        ),
        (feed(comment_id=None), "entry[0].changes[0].value.comment_id: missing"),
        (feed(post_id=None), "entry[0].changes[0].value.post_id: missing"),
        (feed(message=12), "entry[0].changes[0].value.message: not a string"),
        (feed(**{"from": None}), "entry[0].changes[0].value.from: missing or not an object"),
        (feed(**{"from": {"name": "x"}}), "entry[0].changes[0].value.from.id: missing"),
        (
            feed(created_time="yesterday"),
            "entry[0].changes[0].value.created_time: 'yesterday' is not an ISO 8601 time",
        ),
        (
            feed(created_time="2026-01-01T12:00:00"),
            "entry[0].changes[0].value.created_time: '2026-01-01T12:00:00' has no UTC offset",
        ),
        (
            feed(created_time=10**20),
            f"entry[0].changes[0].value.created_time: {10**20} is out of range",
        ),
        (feed(created_time=True), "entry[0].changes[0].value.created_time: True is not a time"),
        ({"field": "feed", "value": []}, "entry[0].changes[0].value: missing or not an object"),
        (
            feed(comment_id="x" * 201),
            "entry[0].changes[0]: platform_id: String should have at most 200 characters",
        ),
    ],
)
def test_bad_change_is_unmappable_naming_the_field(change: dict[str, Any], reason: str) -> None:
    mapped = map_feed(page(change), PAGES)
    assert mapped.items == []
    [refused] = mapped.unmappable
    assert refused.reason == reason
    assert refused.change == change


def test_missing_time_everywhere_is_unmappable() -> None:
    [refused] = map_feed(page(feed(created_time=None), time=None), PAGES).unmappable
    assert refused.reason == (
        "entry[0].changes[0].value.created_time: missing, and the entry has no time"
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "payload: a list, not a JSON object"),
        ("x", "payload: a str, not a JSON object"),
        (None, "payload: a NoneType, not a JSON object"),
        ({"object": "user", "entry": []}, "object: 'user' is not page or instagram"),
        ({"object": "page"}, "entry: missing or not a list"),
        ({"object": "page", "entry": [1]}, "entry[0]: not an object"),
        ({"object": "page", "entry": [{"time": 1}]}, "entry[0].id: missing or not a string"),
        (
            {"object": "page", "entry": [{"id": PAGE, "messaging": []}]},
            "entry[0].changes: missing or not a list (only changes are mapped)",
        ),
        (
            {"object": "page", "entry": [{"id": PAGE, "time": "soon", "changes": []}]},
            "entry[0].time: 'soon' is not an ISO 8601 time",
        ),
        (
            {"object": "page", "entry": [{"id": PAGE, "changes": ["x"]}]},
            "entry[0].changes[0]: not an object",
        ),
    ],
)
def test_bad_payload_is_unmappable_and_never_raises(payload: Any, reason: str) -> None:
    mapped = map_feed(payload, PAGES)
    assert mapped.items == []
    assert [u.reason for u in mapped.unmappable] == [reason]


def test_links_are_deduplicated_and_trimmed() -> None:
    text = "Se (https://a.se/x) och https://a.se/x! Även HTTPS://B.SE/y; men inte ftp://c.se"
    [item] = map_feed(page(feed(message=text)), PAGES).items
    assert item.links == ["https://a.se/x", "HTTPS://B.SE/y"]


def test_deletion_without_any_time_is_unmappable() -> None:
    [refused] = map_feed(page(feed(verb="hide", created_time=None), time=None), PAGES).unmappable
    assert refused.reason == (
        "entry[0].changes[0].value.created_time: missing, and the entry has no time"
    )


@pytest.mark.parametrize("item", ["reaction", "like"])
def test_reactions_are_ignored_not_unmappable(item: str) -> None:
    change = feed(item=item, reaction_type="like")
    mapped = map_feed(page(change), PAGES)
    assert (mapped.items, mapped.unmappable) == ([], [])
    [ignored] = mapped.ignored
    assert ignored.reason == f"entry[0].changes[0].value.item: {item!r} is not moderated"
    assert ignored.change == change
