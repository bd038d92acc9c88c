"""An email address shown to someone who may not own it: enough to recognise, not to learn."""

from django import template

register = template.Library()


@register.filter
def masked_email(email: str) -> str:
    """maria.c@example.org -> m•••@example.org: the first letter and the domain."""
    local, at, domain = email.partition("@")
    return f"{local[:1]}•••{at}{domain}" if at else "•••"
