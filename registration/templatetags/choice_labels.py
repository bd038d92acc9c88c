from django import template

from registration.staff.labels import choice_label

register = template.Library()


@register.filter
def label(instance, field_name: str) -> str:
    """`{{ event|label:"action" }}`: what `event.get_action_display` says, at a fraction of its cost."""
    return choice_label(instance, field_name)
