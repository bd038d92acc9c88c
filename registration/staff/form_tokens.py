"""Generate PIN's form tokens: each form carries a fresh one, so that resubmitting it (reload, back)
cannot show a PIN twice. Used by the view that issues PINs and by the templates that draw the forms."""

import secrets


def new_form_token() -> str:
    """Return a fresh token for one Generate PIN form."""
    return secrets.token_hex(16)
