"""Names as people type them: one folding for what is stored and what staff search for.

Staff type "lopez" for López, "okeefe" or "o'keefe" for O'Keefe, "garcia" for García-López. PostgreSQL's
UPPER() keeps accents and SQLite's folds ASCII only, so the database cannot be asked to ignore them;
instead each patient stores its name already folded (`Patient.search_name`, `Patient.sort_name`), and
what staff type is folded by the same rule here before it is compared.

Folding: transliterate to ASCII (`anyascii`: ó→o, ß→ss, Ø→O, Ł→L, 王→Wang), upper case, and split into
words at anything that is not a letter or digit. An apostrophe joins (O'KEEFE is OKEEFE); the stored
name also keeps the parts (O, KEEFE), so "keefe" finds O'Keefe too.
"""

import re

from anyascii import anyascii

_APOSTROPHES = re.compile(r"['\u2019\u02bc`\u00b4]")
_NOT_WORD = re.compile(r"[^A-Z0-9']+")

SEARCH_NAME_LENGTH = 500
SORT_NAME_LENGTH = 250


def _words(text: str) -> list[str]:
    """Return the folded words of `text`, apostrophes kept for the caller to join or split."""
    ascii_upper = anyascii(_APOSTROPHES.sub("'", text or "")).upper()
    return [word for word in _NOT_WORD.split(ascii_upper) if word.strip("'")]


def typed_words(text: str) -> list[str]:
    """Return what staff typed as folded words: "O'Keefe-López" -> ["OKEEFE", "LOPEZ"]."""
    return [word.replace("'", "") for word in _words(text)]


def search_name(first_name: str, last_name: str) -> str:
    """Return " WORD WORD ...": each word of the name, so a typed word can match at a word's start."""
    words = []
    for word in _words(f"{first_name} {last_name}"):
        words.append(word.replace("'", ""))
        if "'" in word:
            words.extend(part for part in word.split("'") if part)
    return (" " + " ".join(words))[:SEARCH_NAME_LENGTH]


def folded(text: str) -> str:
    """Return a name folded to its words: "López-García" -> "LOPEZ GARCIA"."""
    return " ".join(typed_words(text))


def sort_name(first_name: str, last_name: str) -> str:
    """Return "LAST FIRST" folded, so López sorts beside Lopez on every database."""
    return f"{folded(last_name)} {folded(first_name)}"[:SORT_NAME_LENGTH]
