"""Form widgets for staff pages that draw many choices."""

from django import forms
from django.template.loader import get_template
from django.utils.safestring import SafeString


class InlineSelect(forms.Select):
    """A select whose options are drawn in its own template (templates/staff/widgets/select.html), the
    same HTML as Django's, which includes a template per option: the audit trail's 50 actions and its
    staff users cost ~5 ms a page that way."""

    template_name = "staff/widgets/select.html"

    def _render(self, template_name, context, renderer=None) -> SafeString:
        # The site's template engine (the form renderer's own finds only Django's widget templates),
        # stripped as the renderer strips.
        return SafeString(get_template(template_name).render(context).strip())
