"""PIN codes: making them, reading what a person typed, and checking them without storing them.

A PIN is 12 characters of Crockford's base32 (60 random bits), shown as `7KQF-X82Z-913P`. The first
group is stored as typed so the row can be found; the other eight characters (40 bits) are kept only
as a salted hash made by Django's password hashers.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    check_password,
    is_password_usable,
    make_password,
)
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O or U
LENGTH = 12
GROUP = 4
# People misread these; Crockford's decoding maps them to the digit they look like.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\t")


class PinFormatError(ValueError):
    """What was typed cannot be a PIN at all (wrong length or characters)."""


@dataclass(frozen=True)
class PinParts:
    lookup: str
    secret: str

    @property
    def display(self) -> str:
        code = self.lookup + self.secret
        return "-".join(code[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def pin_code_new() -> PinParts:
    """Draw a new random PIN."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return PinParts(lookup=code[:GROUP], secret=code[GROUP:])


def pin_parse(typed: str) -> PinParts:
    """Read a PIN as a person typed it: any case, with or without dashes and spaces, O for 0, I or L for 1."""
    code = typed.upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(code) != LENGTH:
        raise PinFormatError(_("A PIN has 12 letters and digits, like 7KQF-X82Z-913P."))
    if any(char not in ALPHABET for char in code):
        raise PinFormatError(
            _("That PIN has a character PINs never use. Check it against the slip or message.")
        )
    return PinParts(lookup=code[:GROUP], secret=code[GROUP:])


class PinHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane): 17.5 ms a hash or a check on the 2-core
    VM, idle (issue 17), against 96-102 ms for a password (Django's Argon2id: 100 MiB, 2 passes, 8 lanes).

    A PIN's secret part has 40 random bits and lives two weeks, so it needs less stretching than a
    chosen password; a day's "Register all" issues hundreds at once. Hashes verify with the ordinary
    argon2 hasher, since Argon2 records its parameters in the hash.
    """

    memory_cost = 19456
    time_cost = 2
    parallelism = 1


def _hasher():
    return import_string(settings.PIN_HASHER)()


def pin_secret_hash(parts: PinParts) -> str:
    return make_password(parts.secret, hasher=_hasher())


# A PIN row whose code is not drawn yet: a welcome message's, until the message is claimed for sending.
# The lookup is empty (a typed PIN's never is), so no typed code finds the row, and the secret hash is
# Django's unusable-password marker ("!" and random characters), which no secret matches. Made without
# hashing: nothing is spent on a code nobody will see.
PIN_NOT_DRAWN_LOOKUP = ""


def pin_secret_not_drawn() -> str:
    """Return a secret hash that no code matches, for a PIN row whose code is not drawn yet."""
    return make_password(None)


def pin_secret_matches(parts: PinParts, secret_hash: str) -> bool:
    if not is_password_usable(secret_hash):
        pin_secret_dummy_check(parts)  # as long as a real check: a row not drawn yet is not told apart
        return False
    return check_password(parts.secret, secret_hash)


def pin_secret_dummy_check(parts: PinParts) -> None:
    """Spend the time a real check takes, so a PIN that does not exist is not answered faster."""
    make_password(parts.secret, hasher=_hasher())


def pin_link(page_url: str, code: str) -> str:
    """The PIN page's address with the PIN after '#', which browsers never send to a server: the page's
    own script fills it in (static/js/pin_from_link.js). Without dashes, so that a message written for
    people shows the PIN, as they read it, once."""
    return f"{page_url}#pin={code.replace('-', '')}"
