"""Every parent page in Spanish, on a phone and a tablet, with no English left on it (issue 13).

"No English" is checked against the Spanish catalog itself: no stretch of an English message that the
catalog translates (at least 12 characters between its placeholders and tags) may show on the page.
"""

import datetime as dt
import re
from functools import cache

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import trans_real
from playwright.sync_api import Page, expect

from registration.models import RegistrationPath
from registration.services.accounts import NewAccount, portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.self_registration import (
    ChildDetails,
    self_registration_decline,
    self_registration_submit,
)
from tests.browser.pages import family
from tests.browser.portal.parent import PASSWORD, child_cards, link_in
from tests.browser.portal.test_expired_form import sign_in_in_another_tab
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db(transaction=True)
AT_EACH_SIZE = pytest.mark.parametrize("screen", ["phone", "tablet"], indirect=True)

BORN = dt.date(2019, 4, 17)
MARIA = "maria.c@example.org"
# What is left of a message between its placeholders and tags; shorter stretches ("Email") may be
# the same in both languages or part of a name.
_PIECES = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]*>|\{\w*\}")
MIN_PIECE = 12


@cache
def english_pieces() -> frozenset[str]:
    """The stretches of English that the Spanish catalog translates into something else."""
    pieces = set()
    for key, spanish in trans_real.translation("es")._catalog.items():
        english = key[0] if isinstance(key, tuple) else key.rpartition("\x04")[2]
        if spanish == english:
            continue
        for piece in _PIECES.split(english):
            piece = " ".join(piece.split()).strip(" .,:;")
            if len(piece) >= MIN_PIECE and piece not in spanish:
                pieces.add(piece)
    return frozenset(pieces)


def english_on(page: Page) -> list[str]:
    text = " ".join(page.inner_text("body").split())
    return [piece for piece in english_pieces() if piece in text]


def expect_footer_lines_whole(page: Page) -> None:
    """The phone number and the hours each on one line: never "de / 8 a 17 h"."""
    footer = page.locator("footer")
    line = footer.get_by_role("link", name=re.compile(r"\d{3}-\d{4}")).bounding_box()["height"]
    assert footer.locator(".hours").bounding_box()["height"] < 1.5 * line


class SpanishWalk:
    """Look at each page (screenshot and axe) and check it is in Spanish through and through."""

    def __init__(self, page: Page, audit):
        self.page = page
        self.audit = audit
        self.english: list[str] = []

    def look(self, step: str) -> None:
        expect(self.page.locator("html")).to_have_attribute("lang", "es")
        self.audit.look(self.page, step)
        self.english += [f"{step}: {piece!r}" for piece in english_on(self.page)]
        assert not self.page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        ), f"{step}: the page is wider than the screen"

    def assert_clean(self) -> None:
        assert not self.english, "English on Spanish pages:\n" + "\n".join(self.english)
        self.audit.assert_clean()


def maria_with_amelia(front_desk):
    """María's confirmed Spanish account: Amelia on it with two visits ahead, a request for her brother
    waiting for the practice, and one for her sister declined."""
    link = family("Amelia Castellano", "María Castellano", born=BORN, preferred_language="es")
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    access = pin_redeem(
        code=issued.code,
        child_birth_date=BORN,
        new_account=NewAccount(
            email=MARIA,
            password=PASSWORD,
            first_name="María",
            last_name="Castellano",
            preferred_language="es",
        ),
    )
    portal_account_verify_email(account=access.account)
    soon = timezone.now() + dt.timedelta(days=3)
    AppointmentFactory(patient=link.patient, starts_at=soon, visit_type="Well child", provider="Dra. Patel")
    AppointmentFactory(
        patient=link.patient,
        starts_at=soon + dt.timedelta(days=9),
        visit_type="Sick visit",
        provider="Dr. Ruiz",
    )
    _mateo, sofia = self_registration_submit(
        children=[
            ChildDetails("Mateo", "Castellano", dt.date(2021, 6, 2)),
            ChildDetails("Sofía", "Castellano", dt.date(2022, 8, 9)),
        ],
        account=access.account,
    )
    self_registration_decline(request=sofia, reason="no_match", by=front_desk)
    return access.account.user


def fill_new_account(page: Page) -> None:
    page.get_by_label("Su nombre").fill("Rosa")
    page.get_by_label("Su apellido").fill("Ortega")
    page.get_by_label("Correo electrónico").fill("rosa.o@example.org")
    page.get_by_label("Elija una contraseña").fill(PASSWORD)


@AT_EACH_SIZE
def test_every_parent_page_in_spanish(page: Page, live_server, front_desk, audit, screen, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "password_reset": [(1, 60 * 60, "address")]}
    maria = maria_with_amelia(front_desk)
    other_child = family("Lucía Ortega", "Rosa Ortega", born=BORN)
    pin_issue(
        patient=other_child.patient, contact=other_child.contact, path=RegistrationPath.CHART, by=front_desk
    )
    walk = SpanishWalk(page, audit)
    url = live_server.url

    # A link from a Spanish message opens the portal in Spanish, and the cookie keeps it so.
    page.goto(f"{url}/portal/?lang=es")
    expect(page).to_have_url(f"{url}/portal/")
    walk.look("start")
    expect_footer_lines_whole(page)

    page.get_by_role("link", name="Tengo un PIN").click()
    walk.look("pin")
    page.get_by_role("button", name="Crear la cuenta y ver a mi hijo o hija").click()
    walk.look("pin-empty")
    page.get_by_label("PIN", exact=True).fill("7KQF-X82Z-913P")
    page.get_by_label("Fecha de nacimiento de su hijo o hija").fill("2019-04-18")
    fill_new_account(page)
    page.get_by_role("button", name="Crear la cuenta y ver a mi hijo o hija").click()
    expect(page.get_by_role("alert")).to_contain_text("no coinciden con nuestros registros")
    walk.look("pin-wrong")

    page.goto(f"{url}/portal/sign-up/")
    walk.look("sign-up")
    page.get_by_role("button", name="Crear cuenta", exact=True).click()
    walk.look("sign-up-empty")
    fill_new_account(page)
    child = page.get_by_role("group", name="Niño o niña 1")
    child.get_by_label("Nombre del niño o niña").fill("Lucía")
    child.get_by_label("Apellido del niño o niña").fill("Ortega")
    child.get_by_label("Fecha de nacimiento del niño o niña").fill(BORN.isoformat())
    page.get_by_role("button", name="Crear cuenta", exact=True).click()
    expect(page).to_have_url(re.compile(r"/portal/sign-up/sent/"))
    walk.look("sign-up-sent")
    page.get_by_label("Código", exact=True).fill("000000")
    page.get_by_role("button", name="Escribir el código").click()
    walk.look("enrollment-code-wrong")

    confirm = [m for m in mail.outbox if "rosa.o@example.org" in m.to][-1]
    assert "?lang=es#" in link_in(confirm.body, "/portal/confirm-email/")
    page.goto(link_in(confirm.body, "/portal/confirm-email/"))
    expect(page).to_have_url(f"{url}/portal/confirm-email/")
    walk.look("confirm-email")
    page.get_by_role("button", name="Confirmar mi correo").click()
    expect(page).to_have_url(f"{url}/portal/home/")
    walk.look("home-request-waiting")
    page.get_by_role("button", name="Cerrar sesión").click()

    page.goto(f"{url}/portal/sign-in/")
    walk.look("sign-in")
    page.get_by_label("Correo electrónico").fill(MARIA)
    page.get_by_label("Contraseña", exact=True).fill("not her password at all")
    page.get_by_role("button", name="Iniciar sesión").click()
    walk.look("sign-in-wrong")
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page).to_have_url(f"{url}/portal/home/")
    expect(child_cards(page)).to_contain_text(["Control de niño sano"])
    expect(child_cards(page)).to_contain_text(["Consulta por enfermedad"])
    walk.look("home")
    page.get_by_role("button", name="Cerrar sesión").click()

    page.goto(f"{url}/portal/password-reset/")
    walk.look("password-reset")
    page.get_by_label("Correo electrónico").fill(MARIA)
    page.get_by_role("button", name="Enviar el enlace").click()
    walk.look("password-reset-sent")
    page.goto(f"{url}/portal/password-reset/")
    page.get_by_label("Correo electrónico").fill(MARIA)
    page.get_by_role("button", name="Enviar el enlace").click()
    walk.look("too-many-tries")
    maria.refresh_from_db()  # signing in changed what the token is made of
    uid = urlsafe_base64_encode(force_bytes(maria.pk))
    page.goto(f"{url}/portal/password-reset/{uid}/{default_token_generator.make_token(maria)}/?lang=es")
    walk.look("password-reset-choose")
    page.get_by_label("Contraseña nueva", exact=True).fill("a brand new pass phrase")
    page.get_by_label("Contraseña nueva (confirmación)").fill("a brand new pass phrase")
    page.get_by_role("button", name="Guardar contraseña").click()
    walk.look("password-reset-done")

    page.goto(f"{url}/portal/privacy/")
    walk.look("privacy")
    page.goto(f"{url}/portal/terms/")
    walk.look("terms")
    page.goto(f"{url}/portal/verify/MQ/a-token/")
    walk.look("confirm-link-old")
    page.goto(f"{url}/portal/no-such-page/")
    walk.look("not-found")

    page.goto(f"{url}/portal/sign-up/")
    sign_in_in_another_tab(page, live_server, front_desk)
    page.get_by_role("button", name="Crear cuenta", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Esta página había caducado")
    walk.look("expired")
    page.goto(f"{url}/portal/home/")  # signed in as staff, who have no portal
    walk.look("refused")
    walk.assert_clean()
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert english_on(page), "the check finds English where there is some"
