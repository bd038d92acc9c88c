"""PIN codes: what they look like, how typed codes are read, and how the secret part is stored."""

import re

import pytest

from registration.pin_codes import (
    ALPHABET,
    PIN_NOT_DRAWN_LOOKUP,
    PinFormatError,
    PinParts,
    pin_code_new,
    pin_parse,
    pin_secret_hash,
    pin_secret_matches,
    pin_secret_not_drawn,
)

CROCKFORD = "0-9A-HJKMNP-TV-Z"
DISPLAY = re.compile(rf"^[{CROCKFORD}]{{4}}-[{CROCKFORD}]{{4}}-[{CROCKFORD}]{{4}}$")
LENGTH_MESSAGE = "A PIN has 12 letters and digits, like 7KQF-X82Z-913P."
CHARACTER_MESSAGE = "That PIN has a character PINs never use. Check it against the slip or message."


def test_alphabet_is_crockford_base32_without_lookalikes():
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_generated_pin_is_twelve_characters_shown_in_three_groups_of_four():
    parts = pin_code_new()

    assert DISPLAY.match(parts.display), parts.display
    assert len(parts.lookup) == 4
    assert len(parts.secret) == 8
    assert parts.display.replace("-", "") == parts.lookup + parts.secret


def test_generated_pins_are_random():
    codes = [pin_code_new().display for _ in range(2000)]

    assert len(set(codes)) == len(codes)
    # 24,000 draws from 32 characters: every character turns up, in every position group.
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)
    assert len({code[:4] for code in codes}) > 1900


@pytest.mark.parametrize(
    "typed",
    [
        "7KQF-X82Z-913P",
        "7kqf-x82z-913p",
        "7KqF-x82Z-913p",
        "7KQFX82Z913P",
        "7kqfx82z913p",
        "7KQF X82Z 913P",
        "  7KQF  X82Z-913P ",
        "7KQF\tX82Z\t913P",
        "7KQF_X82Z.913P",
    ],
)
def test_parse_accepts_any_case_with_or_without_dashes_and_spaces(typed):
    assert pin_parse(typed) == PinParts(lookup="7KQF", secret="X82Z913P")


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("OOOO-0000-0000", "000000000000"),
        ("oooo-0000-0000", "000000000000"),
        ("IIII-1111-1111", "111111111111"),
        ("iiii-1111-1111", "111111111111"),
        ("LLLL-1111-1111", "111111111111"),
        ("llll-1111-1111", "111111111111"),
        ("7KQF-X82Z-9I3P", "7KQFX82Z913P"),
        ("7KQF-X82Z-9L3P", "7KQFX82Z913P"),
        ("7KQF-X8ZZ-O13P", "7KQFX8ZZ013P"),
    ],
)
def test_parse_reads_o_as_zero_and_i_or_l_as_one(typed, read_as):
    parts = pin_parse(typed)

    assert parts.lookup + parts.secret == read_as


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "7KQF-X82Z-913", "7KQF-X82Z-913PP", "7KQF-X82Z", "7KQF-X82Z-913P-7KQF", "7KQF/X82Z/913P"],
)
def test_parse_refuses_the_wrong_length(typed):
    with pytest.raises(PinFormatError, match=re.escape(LENGTH_MESSAGE)):
        pin_parse(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "7KQF-X82Z-913U",
        "UUUU-X82Z-913P",
        "7KQF-X82Z-91!P",
        "7KQF-X8#Z-913P",
        "7KQF-X82Z-913Ö",
        "7KQF-X82Z-913+",
    ],
)
def test_parse_refuses_characters_pins_never_use(typed):
    with pytest.raises(PinFormatError, match=re.escape(CHARACTER_MESSAGE)):
        pin_parse(typed)


def test_pin_format_error_is_a_value_error():
    """Forms can treat a malformed PIN like any other invalid value."""
    assert issubclass(PinFormatError, ValueError)


def test_stored_hash_is_not_the_secret_and_does_not_contain_it():
    parts = pin_code_new()

    stored = pin_secret_hash(parts)

    assert stored != parts.secret
    assert parts.secret.lower() not in stored.lower()
    assert parts.lookup + parts.secret not in stored


def test_hashes_of_one_secret_differ_because_they_are_salted():
    parts = pin_code_new()

    assert pin_secret_hash(parts) != pin_secret_hash(parts)


def test_hash_matches_the_secret_however_it_was_typed():
    parts = pin_code_new()
    stored = pin_secret_hash(parts)

    assert pin_secret_matches(pin_parse(parts.display.lower().replace("-", " ")), stored)


def test_hash_does_not_match_another_secret():
    parts = pin_code_new()
    stored = pin_secret_hash(parts)
    other = PinParts(lookup=parts.lookup, secret="0" * 8 if parts.secret != "0" * 8 else "1" * 8)

    assert not pin_secret_matches(other, stored)


def test_a_pin_row_whose_code_is_not_drawn_yet_matches_nothing_typed():
    """A welcome message's PIN row, until the message is sent: no typed code finds it or matches it."""
    parts = pin_code_new()
    not_drawn = pin_secret_not_drawn()

    assert len(parts.lookup) == 4 and len(PIN_NOT_DRAWN_LOOKUP) != 4, "a typed PIN's lookup is never it"
    assert not pin_secret_matches(parts, not_drawn)
    assert not pin_secret_matches(PinParts(lookup=parts.lookup, secret=""), not_drawn)
    assert pin_secret_not_drawn() != not_drawn, "random, like an unusable password"
