"""A QR code drawn inline as SVG, by segno: it prints with the page and needs no request of its own."""

import segno
from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def qr_svg(text: str) -> str:
    """`text` as a QR code, at the size the stylesheet gives it (a viewBox, no fixed size)."""
    # segno writes the SVG from the code's modules; `text` is encoded in them, never written as markup.
    return mark_safe(segno.make(text, error="m").svg_inline(scale=3, border=2, omitsize=True))  # noqa: S308
