from django import template

from registration.staff.form_tokens import new_form_token

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """A fresh token for a Generate PIN form, so that resubmitting it cannot show a PIN twice."""
    return new_form_token()
