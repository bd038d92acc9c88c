"""Dates on pages in the formats of portalreg/formats, where a named format alone does not say it."""

from django import template
from django.utils.formats import date_format

register = template.Library()


@register.filter
def weekday_date(day) -> str:
    """The day a list is for, as a heading: "Monday, Nov 30, 2026"."""
    return f"{date_format(day, 'l')}, {date_format(day, 'DATE_FORMAT')}"
