"""`kanalvakt moderation …`: moderation's rules from the command line (issue 9).

`classify` reads comments as JSON lines on stdin and writes, line for line and in order,
what the classifier makes of each: label, category, the policy rules that fired and the
words that made them fire. A bad line is reported on stderr with its line number and
answered on stdout with an error line, so outputs stay aligned with inputs.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

moderation_app = typer.Typer(
    help="Moderation: classify comments by the policy's rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _problem(line: str) -> tuple[Any, str, str]:
    """(id, text, problem): the problem is empty when the line is usable."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, "", f"not JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(item, dict):
        return None, "", "not a JSON object"
    item_id = item.get("id")
    text = item.get("text")
    if text is None:
        return item_id, "", "no `text`"
    if not isinstance(text, str):
        return item_id, "", "`text` is not a string"
    return item_id, text, ""


@moderation_app.command()
def classify(
    word_lists: Annotated[
        Path | None,
        typer.Option(
            help="a kommun's word-list YAML file (default: the shipped Swedish lists)",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Classify comments: JSON lines with `text` (and `id`) on stdin, one JSON line each
    on stdout with id, label, category, rules and evidence. Exit 1 if a line was bad."""
    from services.moderation.domain.classification import WordListError, classifier_for

    try:
        classifier = classifier_for(word_lists.resolve() if word_lists else None)
    except WordListError as exc:
        print(f"kanalvakt moderation classify: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    bad = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        item_id, text, problem = _problem(line)
        if problem:
            bad += 1
            print(f"kanalvakt moderation classify: line {number}: {problem}", file=sys.stderr)
            print(json.dumps({"id": item_id, "error": f"line {number}: {problem}"}))
            continue
        result = classifier.classify(text)
        out = {
            "id": item_id,
            "label": result.label,
            "category": result.category,
            "rules": list(result.rules),
            "evidence": [e.model_dump(mode="json") for e in result.evidence],
        }
        print(json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()
    if bad:
        raise typer.Exit(1)
    return 0
