"""Hypothesis strategies for what a hostile or careless person may type into a form."""

import datetime as dt

from hypothesis import strategies as st

# Input that has broken forms somewhere: NUL (PostgreSQL refuses it in text), digits that are not ASCII
# (`"²".isdigit()` but `int("²")` fails), numbers too long for `int()` or SQL, the last and first dates
# (a day either side overflows), look-alike and right-to-left characters, markup and SQL.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 40,
    "\t\n\r",
    "0",
    "-1",
    "1e309",
    "NaN",
    "null",
    "²",
    "١٢",
    "\uff10\uff11\uff12",  # fullwidth 012
    "9" * 40,
    "9" * 5000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%s%n",
    "../../etc/passwd",
    "\u202e\u0644\u0627",
    "😀" * 50,
    "ß" * 12,
    "2020-02-30",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "12/31/9999",
    "+1 (202) 555-0143",
    "a@b",
    "x" * 250 + "@example.org",
]


def junk() -> st.SearchStrategy[str]:
    """Any text: the nasty list, any Unicode, NUL inside text, very long strings, numbers, dates."""
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=40),
        st.text(max_size=10).map(lambda text: f"{text}\x00{text}"),  # PostgreSQL stores no NUL
        st.text(min_size=1, max_size=8).map(lambda text: text * 600),
        st.integers().map(str),
        st.dates().map(dt.date.isoformat),
    )


@st.composite
def submissions(draw, valid: dict[str, str], others: dict[str, list[str]] | None = None) -> dict[str, str]:
    """A form submission with up to three fields (often none, often one) spoiled: another value, junk,
    or left out. Shrinks towards the valid submission, so a failure names the fewest fields it needs."""
    others = others or {}
    spoiled = draw(st.sets(st.sampled_from(sorted(valid)), max_size=3), label="spoiled")
    data = dict(valid)
    for name in sorted(spoiled):
        how = draw(st.sampled_from(["other", "junk", "missing"] if others.get(name) else ["junk", "missing"]))
        if how == "other":
            data[name] = draw(st.sampled_from(others[name]), label=name)
        elif how == "junk":
            data[name] = draw(junk(), label=name)
        else:
            del data[name]
    return data


@st.composite
def pin_mangled(draw, code: str) -> str:
    """A PIN as people type it: any case, dashes, spaces or nothing between characters, O for 0, I or
    L for 1."""
    typed = []
    for char in code.replace("-", ""):
        looks_like = {"0": ["0", "O", "o"], "1": ["1", "I", "i", "L", "l"]}.get(char, [char, char.lower()])
        typed.append(draw(st.sampled_from(looks_like)))
        typed.append(draw(st.sampled_from(["", "-", " ", "  ", "_", ".", "\t"])))
    return "".join(typed)
