"""What must never be written into free text the kommun keeps or shows: a password (P3.5)
or a personnummer or samordningsnummer (L7, P7).

Pure functions, no I/O: domain steps call them and refuse with the rule's ID.

P3.5 says the system keeps *where* credentials are deposited and *when*, never the
password itself. Saying where a password is kept is fine ("lösenordet finns i
kassaskåpet hos kommunchefen", "password kept in KeePass"); writing its value is not
("lösenord: Hemligt123", "pwd=abc", "password is hunter2", "PIN 4711"). `password_in`
tells them apart this way:

1. A keyword, Swedish or English, as a word of its own: lösenord(et/en), losenord,
   lösen, password, passwd, passphrase, passcode, pwd, pw, pin, pin-kod/pinkod(en),
   pin code, kod(en), code (not zip, postal, post or area code). A short qualifier may
   come between the keyword and a `:` or `=` ("kod till kassaskåpet: 4711").
2. Then how the value is given:
   - `key=value`: any value is a password.
   - `:`, a dash, or the verbs är, var, blir, lyder, is, was: the next word is a password
     unless it is a placeholder (`****`), a word that describes where or how it is kept
     (se, i, hos, finns, kassaskåpet, in, kept, stored, safe, the names of common
     password managers …), or a plain word that starts a phrase ("Lösenord: IT-avdelningen
     har det"). A word that looks like a secret (a digit, a symbol, lower then upper
     case), a quoted word and a plain word that stands alone ("lösenord: sommar") are
     passwords.
   - Nothing in between ("PIN 4711", "lösenord Hemligt123"): only a word that looks
     like a secret is a password; "lösenordet finns …" is not.

A safe's code is a code: "i kassaskåpet, kod 4711" is refused too, since the code opens
the way to the credentials. What this misses (a password after a longer phrase, with no
keyword at all) is what no wording rule can catch; staff are told the rule (P3.5) when
they are refused, which is what keeps it.
"""

import re

from shared.personnummer import find_personnummer

_KEYWORD = re.compile(
    r"""(?<!\w)(?:
        l[öo]senord(?:et|en)? | l[öo]sen
      | pin[- ]?kod(?:en)? | pin[- ]?code | pin
      | kod(?:en)?
      | (?<!zip\ )(?<!postal\ )(?<!post\ )(?<!area\ )code
      | passw(?:or)?ds? | passphrase | passcode | pwd | pw
    )(?!\w)""",
    re.IGNORECASE | re.VERBOSE,
)
# "lösenord till Facebook-kontot: …", "password for the admin account = …"
_QUALIFIER = re.compile(
    r"\s+(?:för|till|på|i|for|to|of|on)(?:\s+[^\s:=,;]+){1,3}?(?=\s*[:=])", re.IGNORECASE
)
_ASSIGN = re.compile(r"\s*=")
_STATE = re.compile(r"\s*:|\s+[-–—](?=\s)|\s+(?:är|var|blir|lyder|is|was)(?!\w)", re.IGNORECASE)
_VALUE = re.compile(r"\s*(?P<quote>[\"'“”‘’«»]?)(?P<token>[^\s]+)(?P<rest>[ \t]*(?P<next>\S?))")
_BARE = re.compile(r"[ \t]+(?P<token>[^\s]+)")

_EDGE_PUNCTUATION = ".,;:!?)]}\"'“”‘’«»"
_PLACEHOLDER = re.compile(r"^(?:[*.\-–—…?_]*|[xX]{3,})$")  # "****", "xxxx"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# First words that say where or how the password is kept, not what it is.
_KEPT = _words(
    """
    se i hos på finns förvaras ligger lagras sparas sparat sparad deponerat deponerad
    deponerades lämnat lämnad lämnades lämnas överlämnat överlämnad inlämnat inlämnad
    enligt via inte ej okänt känt hemligt hemlig sekretess samma bytt ändrat nytt nya
    den det en ett kassaskåpet kassaskåp kassaskåpets valvet kuvert kuvertet förseglat
    förseglad informationsansvarig informationsansvariga kommunchefen
    see in at on with kept stored held deposited handed given available located not
    unknown known secret confidential same changed the a an sealed envelope safe vault
    keepass keepassxc 1password bitwarden vaultwarden lastpass dashlane passwordstate
    """
)


def _looks_secret(word: str) -> bool:
    """A digit, a symbol, or a lower-case letter followed by an upper-case one."""
    if any(c.isdigit() for c in word):
        return True
    if any(not c.isalnum() and c not in "-'’." for c in word):
        return True
    seen_lower = False
    for c in word:
        if c.islower():
            seen_lower = True
        elif c.isupper() and seen_lower:
            return True
    return False


def _given(text: str, at: int, strict: bool) -> bool:
    """Whether a password value follows an assignment ending at `at`."""
    m = _VALUE.match(text, at)
    if m is None:
        return False
    raw = m["token"]
    word = raw.strip(_EDGE_PUNCTUATION)
    if not word or _PLACEHOLDER.match(word):
        return False
    if strict:
        return True
    if word.casefold() in _KEPT:
        return False
    if m["quote"] or _looks_secret(word):
        return True
    ends_clause = raw != raw.rstrip(_EDGE_PUNCTUATION) or not m["next"]
    return ends_clause  # "lösenord: sommar" — but "lösenord: IT-avdelningen har det" is prose


def password_in(text: str) -> bool:
    """Whether the text writes out a password, PIN or code (P3.5), not only where it is."""
    for keyword in _KEYWORD.finditer(text):
        at = keyword.end()
        if qualifier := _QUALIFIER.match(text, at):
            at = qualifier.end()
        if assign := _ASSIGN.match(text, at):
            if _given(text, assign.end(), strict=True):
                return True
            continue
        if state := _STATE.match(text, at):
            if _given(text, state.end(), strict=False):
                return True
            continue
        bare = _BARE.match(text, at)
        if bare is not None:
            word = bare["token"].strip(_EDGE_PUNCTUATION)
            if word and word.casefold() not in _KEPT and _looks_secret(word):
                return True
    return False


def personnummer_in(text: str) -> bool:
    """Whether the text holds a valid personnummer or samordningsnummer (L7, P7)."""
    return bool(find_personnummer(text))
