from datetime import date

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def age(birth_date: date, on: date | None = None) -> str:
    """A child's age as staff say it: '8 mo' under two years, '5 y' after."""
    today = on or timezone.localdate()
    months = (
        (today.year - birth_date.year) * 12 + today.month - birth_date.month - (today.day < birth_date.day)
    )
    if months < 24:
        return f"{max(months, 0)} mo"
    return f"{months // 12} y"
