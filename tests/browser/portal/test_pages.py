"""The portal's other pages on a phone (390x844): Spanish, signing in and out, resetting a password."""

import datetime as dt
import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from registration.models import RegistrationPath
from registration.services.accounts import NewAccount
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from tests.browser.pages import family
from tests.browser.portal.parent import (
    EMAIL_CONFIRMED,
    PASSWORD,
    as_typed_by_a_parent,
    child_cards,
    confirm_email,
    enter_pin,
    expect_check_your_email,
    expect_home,
    fill_new_account,
    link_in,
    open_confirm_link,
)

pytestmark = pytest.mark.django_db(transaction=True)

BORN = dt.date(2019, 4, 17)


def a_registered_parent(front_desk, *, email="maria.c@example.org"):
    """Maria's user: her account sees Amelia (made by redeeming a PIN, as parents do). Its email is not
    confirmed yet: it cannot sign in until it is. The 'confirm your email' the redemption sent is not in
    `mail.outbox`: Maria never opened it."""
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    access = pin_redeem(
        code=issued.code,
        child_birth_date=BORN,
        new_account=NewAccount(email=email, password=PASSWORD, first_name="Maria", last_name="Castellano"),
    )
    mail.outbox.clear()
    return access.account.user


def test_spanish(page: Page, live_server, front_desk, audit):
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("button", name="Español").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenido al portal de pacientes de Maple Street Pediatrics"
    )
    expect(page.get_by_role("button", name="English")).to_be_visible()
    audit.look(page, "start-es")
    page.get_by_role("link", name="Tengo un PIN").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Regístrese con su PIN")
    expect(page.get_by_label("Idioma de los mensajes")).to_have_value("es")  # messages in her language too
    audit.look(page, "pin-es")
    page.get_by_role("button", name="Crear la cuenta y ver a mi hijo o hija").click()
    expect(page.get_by_label("PIN", exact=True)).to_have_accessible_description(
        re.compile("Este campo es obligatorio")
    )
    audit.look(page, "pin-field-errors-es")

    page.get_by_label("PIN", exact=True).press_sequentially(as_typed_by_a_parent(issued.code))
    page.get_by_label("Fecha de nacimiento de su hijo o hija").fill("2019-04-18")
    page.get_by_label("Su nombre").fill("María")
    page.get_by_label("Su apellido").fill("Castellano")
    page.get_by_label("Correo electrónico").fill("maria.c@example.org")
    page.get_by_label("Elija una contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Crear la cuenta y ver a mi hijo o hija").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Ese PIN y esa fecha de nacimiento no coinciden con nuestros registros. "
        "Revise ambos y vuelva a intentarlo, o pida un PIN nuevo a la consulta. "
        "Le quedan 4 intentos antes de que este PIN se bloquee."
    )
    expect(page.locator("html")).to_have_attribute("lang", "es")
    audit.look(page, "pin-errors-es")

    page.goto(f"{live_server.url}/portal/sign-up/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Crear una cuenta")
    expect(page.get_by_role("group", name="Sobre usted")).to_be_visible()
    audit.look(page, "sign-up-es")
    page.get_by_role("button", name="Crear cuenta", exact=True).click()
    expect(page.get_by_label("Correo electrónico")).to_have_accessible_description(
        re.compile("Este campo es obligatorio")
    )
    audit.look(page, "sign-up-errors-es")

    page.goto(f"{live_server.url}/portal/sign-in/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    audit.look(page, "sign-in-es")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    audit.assert_clean()


def test_sign_in_sign_out_and_password_reset(page: Page, live_server, front_desk, audit):
    a_registered_parent(front_desk)
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("link", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("Email")).to_be_focused()
    audit.look(page, "sign-in")
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That email and password don't match an account")
    expect(page.get_by_label("Password")).to_have_value("")
    audit.look(page, "sign-in-errors")
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The right password, but the email is not confirmed: no way in until it is.
    expect(page.get_by_role("alert")).to_contain_text(
        "Confirm your email first: open the link we sent you when you signed up. "
        "No message? We can send it again."
    )
    expect(page).to_have_url(re.compile(r"/portal/sign-in/$"))
    audit.look(page, "sign-in-unconfirmed")
    page.get_by_role("link", name="Send the link again").click()
    expect_check_your_email(page)
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_role("button", name="Send the link again").click()
    expect(page.get_by_role("status")).to_have_text(
        "If that address has an account waiting to be confirmed, we have sent the link again."
    )
    (confirm,) = mail.outbox
    assert confirm.to == ["maria.c@example.org"]

    # Not the browser that made the account: the link alone is not enough, the password is asked.
    open_confirm_link(page, confirm)
    password = page.get_by_label("Password", exact=True)
    audit.look(page, "confirm-email-password")
    page.get_by_role("button", name="Confirm my email").click()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile("That isn't this account's password."))
    audit.look(page, "confirm-email-errors")
    password.fill(PASSWORD)
    page.get_by_role("button", name="Confirm my email").click()
    expect_home(page, "Maria")
    expect(page.get_by_role("status")).to_have_text(EMAIL_CONFIRMED)
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    audit.look(page, "home")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/portal/")
    mail.outbox.clear()

    # Confirmed: signing in works.
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("Maria.C@example.org ")  # as a phone keyboard may capitalise it
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect_home(page, "Maria")
    expect(child_cards(page).get_by_role("heading", level=3)).to_have_text("Amelia Castellano")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.goto(f"{live_server.url}/portal/home/")
    expect(page).to_have_url(re.compile(r"/portal/sign-in/\?next=/portal/home/$"))

    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    audit.look(page, "password-reset")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Email")).to_have_accessible_description(re.compile("This field is required."))
    audit.look(page, "password-reset-errors")

    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect(page).to_have_url(f"{live_server.url}/portal/password-reset/sent/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    audit.look(page, "reset-sent")
    for_nobody = page.locator("main").inner_text()
    assert mail.outbox == []

    page.goto(f"{live_server.url}/portal/password-reset/")
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_role("button", name="Send the link").click()
    expect(page).to_have_url(f"{live_server.url}/portal/password-reset/sent/")
    assert page.locator("main").inner_text() == for_nobody  # the same answer, account or not
    audit.look(page, "reset-sent-known", axe=False)
    (reset,) = mail.outbox
    assert reset.to == ["maria.c@example.org"]

    page.goto(link_in(reset.body, "/portal/password-reset/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    audit.look(page, "reset-confirm")
    new_password = "lantern harbor quiet morning"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password confirmation").fill(new_password)
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password saved")
    audit.look(page, "reset-done")
    page.get_by_role("link", name="Sign in").last.click()
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Sign in").click()
    expect_home(page, "Maria")
    audit.assert_clean()


def test_confirmation_message_after_registering(page: Page, live_server, front_desk, audit):
    """The messages after registering with a PIN, audited without the known-issue filter: "<child> is
    linked to your new account..." on "Check your email", then "...your email address is confirmed." on
    the home page."""
    link = family("Amelia Castellano", "Maria Castellano", born=BORN)
    issued = pin_issue(patient=link.patient, contact=link.contact, path=RegistrationPath.CHART, by=front_desk)
    page.goto(f"{live_server.url}/portal/pin/")
    enter_pin(page, issued.code, BORN)
    fill_new_account(page, first="Maria", last="Castellano", email="maria.c@example.org")
    page.get_by_role("button", name="Create account and see my child").click()
    expect_check_your_email(page)
    expect(page.get_by_role("status")).to_have_text(
        "Amelia is linked to your new account. Confirm your email to see them."
    )
    audit.look(page, "check-email-with-message", known_issues=False)
    (confirm,) = mail.outbox
    confirm_email(page, confirm)
    expect_home(page, "Maria")
    audit.look(page, "home-with-message", known_issues=False)
    audit.assert_clean()


def test_sign_in_error_names_the_email_the_page_asks_for(page: Page, live_server):
    page.goto(f"{live_server.url}/portal/sign-in/")
    page.get_by_label("Email").fill("maria.c@example.org")
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "That email and password don't match an account", timeout=2000
    )


def test_skip_link_in_spanish(page: Page, live_server):
    page.context.add_cookies([{"name": "django_language", "value": "es", "url": live_server.url}])
    page.goto(f"{live_server.url}/portal/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).not_to_have_text("Skip to content", timeout=1000)


def test_new_password_rules_are_read_with_the_field(page: Page, live_server, front_desk):
    user = a_registered_parent(front_desk)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    page.goto(f"{live_server.url}/portal/password-reset/{uid}/{token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.get_by_label("New password", exact=True)).to_have_accessible_description(
        re.compile("at least 15 characters"), timeout=1000
    )
