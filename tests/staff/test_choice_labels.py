"""The staff tables' choice labels (registration.staff.labels, issue 17) say what get_FOO_display() says,
in the active language, for every choice and for a value that is none of them."""

from django.utils import translation

from patients.models import PatientContact
from registration.models import AuditEvent
from registration.staff.labels import choice_label


def test_labels_are_get_display_in_each_language():
    checked = 0
    for language in ("en", "es"):
        with translation.override(language):
            for action in [*AuditEvent.Action.values, "no-such-action"]:
                event = AuditEvent(action=action)
                assert choice_label(event, "action") == event.get_action_display()
                checked += 1
            for relationship in PatientContact.Relationship.values:
                link = PatientContact(relationship=relationship)
                assert choice_label(link, "relationship") == link.get_relationship_display()
                checked += 1
    mother = PatientContact(relationship=PatientContact.Relationship.MOTHER)
    with translation.override("es"):
        spanish = choice_label(mother, "relationship")
    with translation.override("en"):
        english = choice_label(mother, "relationship")
    print(f"{checked} labels checked; mother: {english} / {spanish}")
    assert english == "Mother" and spanish != english
