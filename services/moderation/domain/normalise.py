"""Comment text as the word lists see it: lower case, foreign diacritics folded, leetspeak
read, repeated letters collapsed, cut into tokens that point back at the words as written.

Two rules keep the matching honest:

- The text keeps å, ä and ö. Folding them would turn "hör" into "hor" and "bög"-free text
  into a slur; instead each *word-list entry* also matches its own folded spellings
  ("jävla" matches "javla" and "jaevla"), unless the entry says `fold: false`.
- Every change to the text before tokenising keeps its length, so a token's span in the
  normalised text is its span in the comment, and evidence quotes the words as written.
"""

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

_SWEDISH = "åäö"


def _fold_table() -> dict[int, str]:
    """One character for one: lower-case Latin letters with diacritics to their base letter,
    except å, ä, ö; Danish/Norwegian ø and æ to ö and ä."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code).lower()
        if len(char) != 1 or char in _SWEDISH:
            continue
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            table[code] = base
            table[ord(char)] = base
    table.update({ord("ø"): "ö", ord("æ"): "ä", ord("Ø"): "ö", ord("Æ"): "ä"})
    for code in (ord("Å"), ord("Ä"), ord("Ö"), ord("å"), ord("ä"), ord("ö")):
        table.pop(code, None)
    # Typographic apostrophes and dashes, so "dm:a" and "cp–unge" split like ASCII ones.
    table.update({ord("’"): "'", ord("–"): "-", ord("—"): "-"})
    return table


_FOLD = _fold_table()
# Leetspeak, read only inside a token that also has letters: "h0t", "1d10t", "j@vla"; a
# number alone ("2024", an invoice number) stays a number.
_LEET = str.maketrans({"0": "o", "3": "e", "1": "i", "4": "a", "@": "a", "$": "s", "5": "s"})
_LEET_CHARS = frozenset("0134@$5")
# Words, and sentence ends as their own tokens ("?" apart, for questions, P5.3). A full
# stop between digits ("07.15") or inside a web address is no sentence end.
_TOKEN = re.compile(r"[\w@$]+|[.!?…]+(?=\s|$)|\n")
# Letters written apart to slip past a list: "h o t", "i.d.i.o.t".
_SPACED = re.compile(r"(?<![\w@$])(?:[^\W\d_][ .*_-]){2,}[^\W\d_](?![\w@$])")
_REPEATS = re.compile(r"([^\W\d_])\1+")
_TO_ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o"})
_TO_DIGRAPH = str.maketrans({"å": "a", "ä": "ae", "ö": "oe"})


def fold(text: str) -> str:
    """Lower case and foreign diacritics folded, same length as the text."""
    lowered = text.lower()
    if len(lowered) != len(text):  # e.g. "İ" lowers to two characters: keep one
        lowered = "".join(char.lower()[:1] for char in text)
    return lowered.translate(_FOLD)


def skeleton(word: str) -> str:
    """A word with every run of one letter collapsed: "hoooot" and "hot", "fittta" and
    "fitta" meet as "hot" and "fita". Word lists are compared in this form too."""
    return _REPEATS.sub(r"\1", word)


def read_leet(token: str) -> str:
    if token.isalpha() or _LEET_CHARS.isdisjoint(token) or not any(c.isalpha() for c in token):
        return token
    return token.translate(_LEET)


def normalise_word(word: str) -> str:
    """A word-list entry as tokens of a comment are normalised."""
    return skeleton(read_leet(fold(word.strip())))


def spellings(word: str) -> set[str]:
    """An entry's word and the ways it is written without å, ä, ö: "jävla", "javla",
    "jaevla" (all as skeletons)."""
    return {word, skeleton(word.translate(_TO_ASCII)), skeleton(word.translate(_TO_DIGRAPH))}


@dataclass(frozen=True)
class Tokens:
    """A comment cut into normalised tokens.

    `joined` is ". " followed by the tokens joined by single spaces, so phrases are matched
    as one string and "^" (sentence start) is the position after ". " or "? ".
    """

    words: list[str]
    spans: list[tuple[int, int]]  # in the comment as written
    starts: list[int]  # where each token starts in `joined`
    sentence: list[int]  # the sentence each token is in
    joined: str
    extra: list[tuple[str, int, int]]  # letters written apart, joined: (word, start, end)
    span_starts: list[int]

    def token_at(self, offset: int) -> int:
        """The token that holds, or is last before, this offset of the comment."""
        return max(0, bisect_right(self.span_starts, offset) - 1)

    def token_of_joined(self, offset: int) -> int:
        """The token that holds this offset of `joined`."""
        return max(0, bisect_right(self.starts, offset) - 1)


def tokenise(folded: str) -> Tokens:
    """Tokens of a folded comment (see `fold`)."""
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    sentence: list[int] = []
    current = 0
    for m in _TOKEN.finditer(folded):
        token = m.group()
        if token[0] in ".!?…\n":
            token = "?" if "?" in token else "."
            sentence.append(current)
            current += 1
        else:
            token = read_leet(token)
            sentence.append(current)
        words.append(token)
        spans.append(m.span())
    joined = skeleton(". " + " ".join(words))
    words = joined[2:].split(" ") if words else []
    starts: list[int] = []
    offset = 2
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    extra = []
    for m in _SPACED.finditer(folded):
        letters = "".join(c for c in m.group() if c.isalpha())
        extra.append((skeleton(letters), m.start(), m.end()))
    return Tokens(words, spans, starts, sentence, joined, extra, [s for s, _ in spans])
