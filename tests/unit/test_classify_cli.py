"""`kanalvakt moderation classify` (issue 9): JSON lines in, one JSON line out per input and
in order; a bad line is named on stderr by its number, answered with an error line, and
the run goes on and ends with exit code 1."""

import io
import json
from pathlib import Path

import pytest

from kanalvakt.cli import main


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: str, *args: str
) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code = main(["moderation", "classify", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_p5_8_p6_classify_writes_one_line_per_comment_in_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
        for i, t in [
            ("c1", "Jag vet var du bor."),
            ("c2", "Vilket idiotiskt beslut, politikerna borde avgå!"),
            ("c3", "När öppnar badet?"),
        ]
    )
    code, out, err = _run(monkeypatch, capsys, lines)
    assert (code, err) == (0, "")
    assert [(o["id"], o["label"], o["category"]) for o in out] == [
        ("c1", "remove", "threat"),
        ("c2", "keep", "criticism"),
        ("c3", "answer", "question"),
    ]
    assert out[0]["rules"] == ["P5.8", "L3"]
    assert out[0]["evidence"] == [
        {"rule": "P5.8", "category": "threat", "matched": ["vet var du bor"]}
    ]


def test_l7_classify_never_echoes_the_personnummer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(monkeypatch, capsys, '{"text": "Mitt pnr: 850312-1231"}\n')
    assert code == 0
    assert out[0]["category"] == "confidential"
    assert out[0]["id"] is None
    assert "1231" not in json.dumps(out)


def test_bad_lines_are_named_answered_in_order_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = '{"id": "a", "text": "Tack!"}\nnot json\n{"id": "b"}\n[1]\n{"id": "c", "text": 5}\n'
    lines += '{"id": "d", "text": "Hej"}\n'
    code, out, err = _run(monkeypatch, capsys, lines)
    assert code == 1
    assert [o["id"] for o in out] == ["a", None, "b", None, "c", "d"]
    assert [("error" in o) for o in out] == [False, True, True, True, True, False]
    assert "line 2: not JSON" in err
    assert "line 3: no `text`" in err
    assert "line 4: not a JSON object" in err
    assert "line 5: `text` is not a string" in err
    assert "Traceback" not in err


def test_classify_takes_a_kommuns_word_lists(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lists = tmp_path / "ord.yaml"
    lists.write_text(
        "version: 1\ncategories:\n  advertising:\n    groups:\n      g:\n"
        "        words: [torgrea]\n",
        encoding="utf-8",
    )
    code, out, _ = _run(monkeypatch, capsys, '{"text": "torgrea!"}\n', "--word-lists", str(lists))
    assert (code, out[0]["category"]) == (0, "advertising")

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\ncategories: {}\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code = main(["moderation", "classify", "--word-lists", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.yaml: version" in err
    assert "Traceback" not in err
