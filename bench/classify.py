"""The moderation classifier on one core, against the floor cost of touching every text
(issue 9).

    .venv/bin/python bench/classify.py                      # 50,000 comments
    .venv/bin/python bench/classify.py --comments 200000 --repeat 3

Comments are drawn (seeded) from the shared development set and tests/data's labelled set,
then, in one process and one thread:
1. CEILING: each text lower-cased and scanned once by one compiled regex (the tokeniser's),
   the least any classifier must do to read every text;
2. PATH: `classifier_for(None).classify(text)` with the shipped Swedish word lists, as
   moderation calls it; compiling the lists happens before the clock starts.

Printed: both rates, the ratio path/ceiling and whether the path holds issue 9's target
of 5,000 comments/s. With --repeat, the medians. Nothing here is asserted.
"""

import argparse
import json
import random
import re
import time

from _local import ROOT, code_under_test, load_average, median

from services.moderation.domain.classification import classifier_for

TARGET = 5_000
SETS = (ROOT.parent / "shared/data/comments-dev.jsonl", ROOT / "tests/data/comments-labelled.jsonl")
_FLOOR = re.compile(r"[\w@$]+|[.!?…]+(?=\s|$)|\n")


def comments(n: int, seed: int = 9) -> list[str]:
    texts = [
        json.loads(line)["text"]
        for path in SETS
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(seed)
    return [rng.choice(texts) for _ in range(n)]


def ceiling(texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        _FLOOR.findall(text.lower())
    return len(texts) / (time.perf_counter() - start)


def path(texts: list[str]) -> float:
    classify = classifier_for(None).classify
    start = time.perf_counter()
    for text in texts:
        classify(text)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"code: {code_under_test()}")
    for path_ in SETS:
        print(f"data: {path_}")
    texts = comments(args.comments)
    classifier_for(None)  # compile the word lists outside the clock
    ceilings, paths = [], []
    for run in range(args.repeat):
        ceilings.append(ceiling(texts))
        paths.append(path(texts))
        print(f"run {run + 1}: ceiling {ceilings[-1]:,.0f}/s, path {paths[-1]:,.0f}/s")
    c, p = median(ceilings), median(paths)
    print(load_average())
    print(f"comments: {len(texts):,} (one core, one thread)")
    print(f"ceiling (lower-case + one regex): {c:,.0f} comments/s")
    print(f"path (classify):                  {p:,.0f} comments/s")
    print(f"ratio path/ceiling:               {p / c:.3f}")
    verdict = "holds" if p >= TARGET else "MISSED"
    print(f"target ≥ {TARGET:,} comments/s:       {verdict}")


if __name__ == "__main__":
    main()
