from django import forms, template

register = template.Library()


@register.inclusion_tag("_error_summary.html")
def error_summary(*forms_or_formsets):
    """List every field error at the top of a long form, each linking to its field (on a phone the
    first error may be far below the button that was pressed)."""
    items = []
    for candidate in forms_or_formsets:
        if candidate is None:
            continue
        each = candidate.forms if isinstance(candidate, forms.BaseFormSet) else [candidate]
        for form in each:
            for name, errors in form.errors.items():
                if name in form.fields:
                    items.append((form[name].auto_id, form[name].label, " ".join(errors)))
    return {"items": items}
