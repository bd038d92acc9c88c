"""The parent's language, end to end: links that carry it, the portal that honours it, and a choice
made in the browser that signing in keeps (issue 13)."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from patients.models import FamilyContact
from registration.messaging.parent_emails import parent_email_deliver
from registration.models import AgeMilestone, ParentAccountEmail, WelcomeMessage
from registration.services.welcome_invites import welcome_invite
from tests.factories import FamilyContactFactory, PatientContactFactory

PASSWORD = "a long enough pass phrase"
COOKIE = settings.LANGUAGE_COOKIE_NAME
SPANISH = FamilyContact.Language.SPANISH
LINK = re.compile(r"""https?://[^\s"'<>]+""")


def spanish_link() -> object:
    return PatientContactFactory(contact=FamilyContactFactory(preferred_language=SPANISH))


# ---------------------------------------------------------------- links carry the language


@pytest.mark.django_db
def test_the_welcome_email_and_text_link_to_the_portal_in_the_contacts_language(
    staff, django_capture_on_commit_callbacks, sent_text
):
    by_email, by_text = spanish_link(), spanish_link()
    with django_capture_on_commit_callbacks(execute=True):
        welcome_invite(
            patient=by_email.patient,
            contact=by_email.contact,
            channel="email",
            address=by_email.contact.email,
            by=staff,
        )
        text = welcome_invite(
            patient=by_text.patient,
            contact=by_text.contact,
            channel="sms",
            address=str(by_text.contact.cell_phone),
            by=staff,
        )

    [email] = mail.outbox
    html = email.alternatives[0][0]
    links = LINK.findall(email.body) + re.findall(r'href="([^"]+)"', html)
    assert links and all("/portal/pin/?lang=es#pin=" in found for found in links), links
    assert "/portal/pin/?lang=es" in sent_text(WelcomeMessage.objects.get(pk=text.pk))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(ParentAccountEmail.Kind))
def test_account_emails_link_to_the_portal_in_the_accounts_language(make_portal_account, kind):
    account = make_portal_account(preferred_language=SPANISH)
    # An access-change notice is about a birthday of a child the account sees.
    milestone = (
        AgeMilestone.objects.create(
            patient=account.accesses.get().patient,
            kind=AgeMilestone.Kind.MAJORITY,
            due_on=timezone.localdate(),
        )
        if kind == ParentAccountEmail.Kind.ACCESS_CHANGE
        else None
    )
    email = ParentAccountEmail.objects.create(
        account=account, kind=kind, milestone=milestone, queued_at=timezone.now()
    )

    parent_email_deliver(email)

    links = LINK.findall(mail.outbox[-1].body)
    assert links and all(re.search(r"/portal/[^\s]*\?lang=es(#|$)", found) for found in links), links


# ---------------------------------------------------------------- the portal honours `lang`


@pytest.mark.django_db
def test_a_link_with_lang_opens_the_page_in_it_and_remembers_it(client):
    response = client.get(reverse("portal:pin-start") + "?lang=es")

    # The same page without `lang` (the browser keeps the link's #fragment across the redirect).
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:pin-start")
    assert response.cookies[COOKIE].value == "es"
    page = client.get(response["Location"])
    assert '<html lang="es"' in page.content.decode()
    assert "Regístrese con su PIN" in page.content.decode()


@pytest.mark.django_db
def test_lang_is_taken_out_of_the_address_and_the_rest_kept(client):
    response = client.get(reverse("portal:sign-in") + "?next=/portal/home/&lang=es")

    assert response["Location"] == reverse("portal:sign-in") + "?next=%2Fportal%2Fhome%2F"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["fr", "xx", "", "es-es-es", "<script>"])
def test_a_language_the_portal_is_not_offered_in_is_ignored(client, code):
    response = client.get(reverse("portal:start"), {"lang": code})

    assert response["Location"] == reverse("portal:start")
    assert COOKIE not in response.cookies
    assert '<html lang="en"' in client.get(response["Location"]).content.decode()


@pytest.mark.django_db
def test_a_form_posted_to_an_address_with_lang_is_not_redirected(client):
    """Only a link (a GET) is redirected: a redirect would drop what a form sent."""
    response = client.post(
        reverse("portal:sign-in") + "?lang=es", {"username": "x@example.org", "password": "x"}
    )

    assert response.status_code == 200
    assert COOKIE not in response.cookies


# ---------------------------------------------------------------- signing in keeps a choice


def _sign_in(client, account):
    return client.post(reverse("portal:sign-in"), {"username": account.user.email, "password": PASSWORD})


@pytest.mark.django_db
def test_a_language_picked_before_signing_in_is_kept_after_it(client, make_portal_account):
    account = make_portal_account(password=PASSWORD)  # English
    client.post(reverse("set_language"), {"language": "es", "next": reverse("portal:sign-in")})

    response = _sign_in(client, account)

    assert response["Location"] == reverse("portal:home")
    assert COOKIE not in response.cookies  # the parent's choice stands
    assert '<html lang="es"' in client.get(reverse("portal:home")).content.decode()
    account.refresh_from_db()
    assert account.preferred_language == "en"  # the account's choice, for messages, is untouched


@pytest.mark.django_db
def test_without_a_choice_signing_in_applies_the_accounts_language(client, make_portal_account):
    account = make_portal_account(password=PASSWORD, preferred_language=SPANISH)
    client.cookies[COOKIE] = "en"  # e.g. from a link, or the browser's own language: not a choice here

    response = _sign_in(client, account)

    assert response.cookies[COOKIE].value == "es"
    assert '<html lang="es"' in client.get(reverse("portal:home")).content.decode()


@pytest.mark.django_db
def test_signing_out_ends_the_choice(client, make_portal_account):
    account = make_portal_account(password=PASSWORD, preferred_language=SPANISH)
    client.post(reverse("set_language"), {"language": "en", "next": reverse("portal:sign-in")})
    _sign_in(client, account)
    client.post(reverse("portal:sign-out"))

    assert _sign_in(client, account).cookies[COOKIE].value == "es"


# ---------------------------------------------------------------- visit types


@pytest.mark.parametrize(
    ("ehr", "spanish"),
    [
        ("Well child", "Control de niño sano"),
        ("WELL-CHILD  visit", "Control de niño sano"),
        ("sick visit", "Consulta por enfermedad"),
        ("Follow-up", "Consulta de seguimiento"),
        ("Asthma check", "Asthma check"),  # unknown: the EHR's words, as they are
    ],
)
def test_visit_types_read_in_the_parents_language(ehr, spanish):
    template = Template("{% load visit_types %}{{ ehr|visit_type }}")
    with translation.override("es"):
        assert template.render(Context({"ehr": ehr})) == spanish
    with translation.override("en"):
        assert template.render(Context({"ehr": ehr})) == ehr  # the practice's own wording
