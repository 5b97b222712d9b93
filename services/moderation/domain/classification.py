"""The moderation classifier: a pure rule engine that gives each comment a label, a
category, the policy rules that fired and the words that made them fire (issue 9).

Remove (P5.2, P5.8, P5.9, P7, P10.3, L3): advertising, personal attacks, threats, hate
speech, confidential data, copyright infringement, unlawful depictions of violence, child
sexual abuse material. Answer (P5.3, B2): questions to the kommun, the misguided and
corrections. Keep (P6, B2): criticism, positive, neutral — criticism is never a reason to
remove anything, however harsh, as long as no remove category fires as well.

The words and patterns are configuration: a YAML file per language (the shipped
`wordlists.sv.yaml`), replaced by a kommun's own through `moderation.word_lists`. This
module only knows how to read them: categories made of named groups of words (a stem
with inflection endings, optionally the last or first part of a compound, with
exceptions), multi-word phrases and regular expressions, and `fire` conditions that say
which groups must match together. See the shipped file's header for the format.

Personnummer and samordningsnummer are found by `shared.personnummer`, which checks the
date and the check digit, and are never quoted in evidence (L7).
"""

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.moderation.domain.normalise import (
    Tokens,
    fold,
    normalise_word,
    spellings,
    tokenise,
)
from shared.events import Category, Evidence, Label
from shared.personnummer import find_personnummer, is_samordningsnummer

SHIPPED_WORD_LISTS = "wordlists.sv.yaml"

# The most serious category wins when several fire (issue 9); every fired rule is listed.
PRIORITY: tuple[Category, ...] = (
    "child_abuse_material",
    "threat",
    "hate_speech",
    "unlawful_violence",
    "confidential",
    "personal_attack",
    "copyright",
    "advertising",
    "question",
    "misguided_or_correction",
    "criticism",
    "positive",
    "neutral",
)
LABELS: dict[Category, Label] = {
    "advertising": "remove",  # P5.2
    "confidential": "remove",  # P5.2, P7, P10.3
    "personal_attack": "remove",  # P5.9
    "threat": "remove",  # P5.8, L3 (olaga hot, uppvigling)
    "hate_speech": "remove",  # P5.8, L3 (hets mot folkgrupp)
    "copyright": "remove",  # P5.8, L3
    "unlawful_violence": "remove",  # P5.8, L3 (olaga våldsskildring)
    "child_abuse_material": "remove",  # P5.8, L3 (barnpornografibrott)
    "question": "answer",  # P5.3
    "misguided_or_correction": "answer",  # B2: correct the facts; P5.10
    "criticism": "keep",  # P6
    "positive": "keep",  # B2
    "neutral": "keep",
}
RULES: dict[Category, tuple[str, ...]] = {
    "advertising": ("P5.2",),
    "confidential": ("P5.2", "P7", "P10.3"),
    "personal_attack": ("P5.9",),
    "threat": ("P5.8", "L3"),
    "hate_speech": ("P5.8", "L3"),
    "copyright": ("P5.8", "L3"),
    "unlawful_violence": ("P5.8", "L3"),
    "child_abuse_material": ("P5.8", "L3"),
    "question": ("P5.3",),
    "misguided_or_correction": ("B2",),
    "criticism": ("P6",),
    "positive": ("B2",),
    "neutral": (),
}
# A pseudo-group every `fire` condition may name: how many sentences end in "?".
QUESTION_MARKS = "question_marks"
# The question category's group of rhetorical questions ("hur svårt kan det vara?"): a
# sentence it matches is no question to answer (P5.3) but criticism (P6, B2).
RHETORICAL = "rhetorical"

MIN_HEAD = 2  # letters before a compound's last part: "döds|hot"
MIN_PART = 3  # letters of a compound part itself


class WordListError(ValueError):
    """A word-list file that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Word(_Model):
    """One entry: a stem and the endings it takes, e.g. `hot` + `[et, en, ar, ade]`."""

    stem: str = Field(min_length=1)
    endings: list[str] | None = Field(
        default=None,
        description='Endings, "" for the bare stem; "@name" is a named set of the file. '
        "Default: the group's.",
    )
    compound: bool | None = Field(
        default=None,
        description="May be the last part of a compound (mord|hot). Default: the group's.",
    )
    head: bool = Field(
        default=False, description="May be the first part of a compound (barnporr|bilder)."
    )
    fold: bool = Field(
        default=True, description="Also match it written without å/ä/ö (false: bög is not bog)."
    )
    exceptions: list[str] = Field(
        default_factory=list, description="Words that contain it but are not it (hotell, hotline)."
    )


class Group(_Model):
    """Words, phrases and patterns that count as one kind of signal."""

    words: list[Word | str] = Field(default_factory=list)
    phrases: list[str] = Field(
        default_factory=list,
        description='Words in order; "word*" any ending, "~" up to three words, "^" a '
        'sentence start, "?" a question mark.',
    )
    patterns: list[str] = Field(
        default_factory=list, description="Regular expressions over the lower-cased text."
    )
    case_sensitive: bool = Field(
        default=False, description="Patterns run on the text as written (for names)."
    )
    endings: list[str] = Field(default_factory=lambda: [""])
    compound: bool = False
    tag: str = Field(default="", description="Said first in the evidence, e.g. uppvigling.")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns

    @field_validator("phrases")
    @classmethod
    def _phrase_shape(cls, phrases: list[str]) -> list[str]:
        for phrase in phrases:
            parts = phrase.split()
            words = [p for p in parts if p not in ("^", "~")]
            if not words:
                raise ValueError(f"phrase {phrase!r} has no words")
            if parts[-1] == "~" or parts[parts[0] == "^"] == "~" or "^" in parts[1:]:
                raise ValueError(f"phrase {phrase!r}: '~' goes between words, '^' first")
        return phrases


class CategoryLists(_Model):
    groups: dict[str, Group]
    fire: list[dict[str, Annotated[int, Field(ge=0)]]] = Field(
        default_factory=list,
        description="Any one condition fires the category: each names groups and the "
        "least number of distinct matches (0: must not match). Default: any group.",
    )
    within: Literal["comment", "sentence"] = Field(
        default="comment", description="Where the groups of a condition must match together."
    )
    exceptions: list[str] = Field(
        default_factory=list, description="Phrases whose words never count for this category."
    )

    @model_validator(mode="after")
    def _known_groups(self) -> "CategoryLists":
        for condition in self.fire:
            for name in condition:
                if name not in self.groups and name != QUESTION_MARKS:
                    raise ValueError(f"fire names {name!r}, which is no group of this category")
        return self


class WordLists(_Model):
    """A word-list file (see the shipped wordlists.sv.yaml)."""

    version: Literal[1]
    language: str = "sv"
    endings: dict[str, list[str]] = Field(default_factory=dict)
    categories: dict[Category, CategoryLists]

    @model_validator(mode="after")
    def _known_endings(self) -> "WordLists":
        for category, lists in self.categories.items():
            for name, group in lists.groups.items():
                sets = [group.endings]
                sets += [w.endings for w in group.words if isinstance(w, Word) and w.endings]
                for endings in sets:
                    for ending in endings:
                        if ending.startswith("@") and ending[1:] not in self.endings:
                            raise ValueError(
                                f"categories.{category}.groups.{name}: ending set "
                                f"{ending!r} is not defined under endings"
                            )
        if "neutral" in self.categories:
            raise ValueError("categories.neutral: neutral is what matches nothing; no lists")
        return self


def load_word_lists(path: Path | None = None) -> WordLists:
    """Read and check a word-list file; None: the shipped Swedish one."""
    if path is None:
        source = resources.files("services.moderation").joinpath(SHIPPED_WORD_LISTS)
        name, text = SHIPPED_WORD_LISTS, source.read_text(encoding="utf-8")
    else:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WordListError(f"{name}: cannot read the word lists: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WordListError(f"{name}: not YAML: {exc}") from None
    try:
        return WordLists.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise WordListError(f"{name}: {problems}") from None


@dataclass(frozen=True)
class Classification:
    label: Label
    category: Category
    rules: tuple[str, ...]
    evidence: tuple[Evidence, ...]


# --- compiling -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    category: Category
    group: str
    exceptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Phrase:
    target: _Target
    regex: re.Pattern[str]


@dataclass
class _Hit:
    key: str  # what matched, normalised: distinct keys are counted
    start: int  # span in the comment as written
    end: int
    first: int  # token indexes
    last: int


@dataclass
class _Compiled:
    exact: dict[str, list[_Target]] = field(default_factory=dict)
    tails: dict[str, list[_Target]] = field(default_factory=dict)
    heads: dict[str, list[_Target]] = field(default_factory=dict)
    phrases: dict[str, list[_Phrase]] = field(default_factory=dict)
    star_phrases: dict[str, list[_Phrase]] = field(default_factory=dict)
    patterns: list[tuple[_Target, re.Pattern[str], bool]] = field(default_factory=list)


_GAP = r"(?:[^ .?][^ ]* ){0,3}"
_STAR_KEY = 3  # "word*" phrases are indexed by this many first letters of the word
_EXCEPT = "\0exceptions"  # the group of a category's exception phrases
_NONE: list[_Phrase] = []


def _endings(names: Iterable[str], sets: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for ending in names:
        out.extend(sets[ending[1:]] if ending.startswith("@") else [ending])
    return out


def _phrase(text: str, target: _Target) -> tuple[list[str], bool, _Phrase]:
    """The phrase as a regex over `Tokens.joined`, and the keys its first word is found by
    (with whether they are prefixes)."""
    parts = text.split()
    anchor = parts[0] == "^"
    if anchor:
        parts = parts[1:]
    regex = r"(?<![^ ])" + (r"(?<=[.?] )" if anchor else "")
    keys: list[str] = []
    star = False
    for i, part in enumerate(parts):
        if part == "~":
            regex += _GAP
            continue
        if part == "?":
            variants = {"?"}
            piece = r"\?"
        else:
            stem = normalise_word(part.rstrip("*"))
            variants = spellings(stem)
            piece = "(?:" + "|".join(sorted(map(re.escape, variants), key=len, reverse=True)) + ")"
            if part.endswith("*"):
                piece += r"[^ .?]*"
        if i == 0:
            keys, star = sorted(variants), part.endswith("*")
        regex += piece + " "
    regex = regex[:-1] + r"(?![^ ])"
    return keys, star, _Phrase(target, re.compile(regex))


def _compile(lists: WordLists) -> _Compiled:
    out = _Compiled()

    def add(index: dict[str, list[_Target]], key: str, target: _Target) -> None:
        targets = index.setdefault(key, [])
        if target not in targets:
            targets.append(target)

    def add_phrase(text: str, target: _Target) -> None:
        keys, star, phrase = _phrase(text, target)
        for key in keys:
            if star:
                key = key[:_STAR_KEY]
            index = out.star_phrases if star else out.phrases
            if phrase not in index.setdefault(key, []):
                index[key].append(phrase)

    for category, category_lists in lists.categories.items():
        for name, group in category_lists.groups.items():
            for entry in group.words:
                word = entry if isinstance(entry, Word) else Word(stem=entry)
                exceptions = tuple(normalise_word(e) for e in word.exceptions)
                target = _Target(category, name, exceptions)
                endings = _endings(word.endings or group.endings, lists.endings)
                compound = group.compound if word.compound is None else word.compound
                stem = fold(word.stem.strip())
                for ending in endings:
                    form = normalise_word(stem + ending)
                    for spelling in spellings(form) if word.fold else {form}:
                        add(out.exact, spelling, target)
                        if compound and len(spelling) >= MIN_PART:
                            add(out.tails, spelling, target)
                        if word.head and len(spelling) >= MIN_PART:
                            add(out.heads, spelling, target)
                            add(out.heads, spelling + "s", target)  # linking s: döds|hot
            for text in group.phrases:
                add_phrase(text, _Target(category, name))
            for pattern in group.patterns:
                flags = 0 if group.case_sensitive else re.IGNORECASE
                out.patterns.append(
                    (_Target(category, name), re.compile(pattern, flags), group.case_sensitive)
                )
        for text in category_lists.exceptions:
            add_phrase(text, _Target(category, _EXCEPT))
    return out


# --- classifying -----------------------------------------------------------------------


class Classifier:
    """Word lists compiled once; `classify` is pure and safe to call from any thread."""

    def __init__(self, word_lists: WordLists) -> None:
        self.word_lists = word_lists
        self._c = _compile(word_lists)

    def classify(self, text: str) -> Classification:
        numbers = find_personnummer(text)
        # L7: the numbers are blanked before anything else reads the text, so no word
        # list, phrase or pattern can quote them.
        safe = text
        for start, end in numbers:
            safe = safe[:start] + " " * (end - start) + safe[end:]
        folded = fold(safe)
        tokens = tokenise(folded)
        hits = self._hits(safe, folded, tokens)

        fired: dict[Category, dict[str, list[_Hit]]] = {}
        for category, lists in self.word_lists.categories.items():
            groups = hits.get(category, {})
            if category == "question":
                groups = self._question(groups, tokens, safe, fired)
                if groups:
                    fired[category] = groups
            elif groups and self._fires(lists, groups, tokens):
                fired[category] = groups
        evidence: list[Evidence] = []
        if numbers:
            fired.setdefault("confidential", {})
            kinds = {
                "samordningsnummer" if is_samordningsnummer(text[s:e]) else "personnummer"
                for s, e in numbers
            }
            evidence.append(Evidence(rule="P7", category="confidential", matched=sorted(kinds)))
        if not fired:
            return Classification("keep", "neutral", (), ())
        order = [c for c in PRIORITY if c in fired]
        rules: list[str] = []
        for category in order:
            rules.extend(r for r in RULES[category] if r not in rules)
            evidence.extend(self._evidence(category, fired[category], safe))
        winner = order[0]
        return Classification(LABELS[winner], winner, tuple(rules), tuple(evidence))

    def _hits(
        self, safe: str, folded: str, tokens: Tokens
    ) -> dict[Category, dict[str, list[_Hit]]]:
        c = self._c
        raw: list[tuple[_Target, str, int, int, int, int]] = []  # target, key, tokens, span
        excluded: dict[Category, set[int]] = {}

        def record(target: _Target, key: str, first: int, last: int) -> None:
            raw.append((target, key, first, last, tokens.spans[first][0], tokens.spans[last][1]))

        def lookup(word: str, first: int, last: int) -> None:
            targets = c.exact.get(word)
            if targets:
                for target in targets:
                    record(target, word, first, last)
                return
            if len(word) < MIN_HEAD + MIN_PART:
                return
            for cut in range(MIN_HEAD, len(word) - MIN_PART + 1):  # longest last part first
                targets = c.tails.get(word[cut:])
                if targets:
                    for target in targets:
                        if not any(e in word for e in target.exceptions):
                            record(target, word[cut:], first, last)
                    break
            for cut in range(len(word) - MIN_HEAD, MIN_PART - 1, -1):  # longest first part
                targets = c.heads.get(word[:cut])
                if targets:
                    for target in targets:
                        if not any(e in word for e in target.exceptions):
                            record(target, word[:cut], first, last)
                    break

        joined = tokens.joined
        for i, word in enumerate(tokens.words):
            lookup(word, i, i)
            # Phrases are found by their first word: whole, or its first letters when it
            # takes any ending ("skjut*"); the regex then checks the rest in place.
            candidates = (
                c.phrases.get(word, _NONE)
                + c.star_phrases.get(word[:_STAR_KEY], _NONE)
                + c.star_phrases.get(word[:1], _NONE)
                + c.star_phrases.get(word[:2], _NONE)
            )
            for phrase in candidates:
                matched = phrase.regex.match(joined, tokens.starts[i])
                if matched:
                    last = tokens.token_of_joined(matched.end() - 1)
                    if phrase.target.group == _EXCEPT:
                        excluded.setdefault(phrase.target.category, set()).update(
                            range(i, last + 1)
                        )
                    else:
                        record(phrase.target, matched.group(), i, last)
        for word, start, end in tokens.extra:
            lookup(word, tokens.token_at(start), tokens.token_at(end - 1))
        for target, pattern, case_sensitive in c.patterns:
            for m in pattern.finditer(safe if case_sensitive else folded):
                if m.end() > m.start():
                    first, last = tokens.token_at(m.start()), tokens.token_at(m.end() - 1)
                    raw.append((target, m.group().lower(), first, last, m.start(), m.end()))
        found: dict[Category, dict[str, list[_Hit]]] = {}
        seen: set[tuple[str, str, str, int]] = set()
        for target, key, first, last, start, end in raw:
            if first in excluded.get(target.category, ()):
                continue
            mark = (target.category, target.group, key, start)
            if mark in seen:  # one phrase found by two of its first word's spellings
                continue
            seen.add(mark)
            found.setdefault(target.category, {}).setdefault(target.group, []).append(
                _Hit(key, start, end, first, last)
            )
        return found

    @staticmethod
    def _counts(
        groups: dict[str, list[_Hit]], sentence: int | None, tokens: Tokens
    ) -> dict[str, int]:
        counts = {
            name: len(
                {h.key for h in hits if sentence is None or tokens.sentence[h.first] == sentence}
            )
            for name, hits in groups.items()
        }
        marks = [i for i, w in enumerate(tokens.words) if w == "?"]
        counts[QUESTION_MARKS] = len(
            [i for i in marks if sentence is None or tokens.sentence[i] == sentence]
        )
        return counts

    def _fires(self, lists: CategoryLists, groups: dict[str, list[_Hit]], tokens: Tokens) -> bool:
        if not lists.fire:
            return True
        scopes: list[int | None] = [None]
        if lists.within == "sentence":
            scopes = [*sorted({tokens.sentence[h.first] for hits in groups.values() for h in hits})]
        for scope in scopes:
            counts = self._counts(groups, scope, tokens)
            for condition in lists.fire:
                if all(
                    counts.get(name, 0) >= least if least else counts.get(name, 0) == 0
                    for name, least in condition.items()
                ):
                    return True
        return False

    def _question(
        self,
        groups: dict[str, list[_Hit]],
        tokens: Tokens,
        safe: str,
        fired: dict[Category, dict[str, list[_Hit]]],
    ) -> dict[str, list[_Hit]]:
        """P5.3: a sentence ending in "?" or a phrase that asks ("jag undrar", "hur gör
        jag"), except rhetorical questions, which are criticism (P6, B2: the rager and the
        unhappy citizen are heard, not answered as if they asked)."""
        rhetorical = groups.get(RHETORICAL, [])
        if rhetorical:
            fired.setdefault("criticism", {}).setdefault(RHETORICAL, []).extend(rhetorical)
        skip = {tokens.sentence[h.first] for h in rhetorical} | {
            tokens.sentence[h.last] for h in rhetorical
        }
        asks = {
            name: [h for h in hits if tokens.sentence[h.first] not in skip]
            for name, hits in groups.items()
            if name != RHETORICAL
        }
        asked = {name: hits for name, hits in asks.items() if hits}
        for i, word in enumerate(tokens.words):
            sentence = tokens.sentence[i]
            if word != "?" or sentence in skip:
                continue
            first = next(j for j, s in enumerate(tokens.sentence) if s == sentence)
            if first == i:
                continue  # a lone "?"
            start = tokens.spans[first][0]
            opening = safe[start : tokens.spans[first][1]]
            asked.setdefault(QUESTION_MARKS, []).append(
                _Hit(f"{opening} …?", start, tokens.spans[i][1], first, i)
            )
        return asked

    def _evidence(
        self, category: Category, groups: dict[str, list[_Hit]], safe: str
    ) -> list[Evidence]:
        lists = self.word_lists.categories.get(category)
        rule = RULES[category][0] if RULES[category] else "B2"
        out: list[Evidence] = []
        plain: list[str] = []
        tagged: dict[str, list[str]] = {}
        for name, hits in groups.items():
            for hit in sorted(hits, key=lambda h: h.start):
                words = hit.key if name == QUESTION_MARKS else safe[hit.start : hit.end].strip()
                words = re.sub(r"\s+", " ", words)
                if not words:
                    continue
                group = lists.groups.get(name) if lists else None
                tag = group.tag if group else ""
                bucket = tagged.setdefault(tag, []) if tag else plain
                if words not in bucket:
                    bucket.append(words)
        if plain:
            out.append(Evidence(rule=rule, category=category, matched=plain))
        for tag, quoted in tagged.items():
            out.append(Evidence(rule=rule, category=category, matched=[tag, *quoted]))
        return out


@functools.cache
def classifier_for(path: Path | None) -> Classifier:
    """One compiled classifier per word-list file (None: the shipped Swedish one)."""
    return Classifier(load_word_lists(path))


__all__ = [
    "LABELS",
    "PRIORITY",
    "RULES",
    "Classification",
    "Classifier",
    "WordListError",
    "WordLists",
    "classifier_for",
    "load_word_lists",
]
assert set(PRIORITY) == set(get_args(Category))
