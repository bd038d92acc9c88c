"""Who may do what: every URL pattern of the project, and what each role gets from it.

`test_least_privilege.py` walks the project's URL patterns and fails on any pattern missing here, so a
new page or endpoint must be classified before it ships. Keys are the URL's name (`namespace:name`);
unnamed patterns and whole included sites (the Django admin, the email provider's webhook) by their route.

An expectation is a status and, for a redirect, where it goes. Those marked `refused` must also leave
every table of the database as it was.
"""

from dataclasses import dataclass

ANONYMOUS = "anonymous"
PARENT = "parent"  # the parent of the child the URLs' ids belong to
OTHER_PARENT = "other parent"  # a parent of another family's child
FRONT_DESK = "front desk"
ADMIN = "admin"  # a practice admin, with the Django admin's staff and superuser flags, as seed_demo makes
ROLES = (ANONYMOUS, PARENT, OTHER_PARENT, FRONT_DESK, ADMIN)
PARENTS = (PARENT, OTHER_PARENT)
STAFF = (FRONT_DESK, ADMIN)


@dataclass(frozen=True)
class Expect:
    status: int
    location: str | None = None  # for a redirect: how its Location starts
    refused: bool = False

    def __str__(self) -> str:
        return f"{self.status}→{self.location}" if self.location else str(self.status)


def allowed(status: int, location: str | None = None) -> Expect:
    return Expect(status, location)


def redirect(location: str) -> Expect:
    return Expect(302, location)


STAFF_SIGN_IN = Expect(302, "/staff/sign-in/?next=", refused=True)
PORTAL_SIGN_IN = Expect(302, "/portal/sign-in/?next=", refused=True)
ADMIN_SIGN_IN = Expect(302, "/admin/login/?next=", refused=True)
FORBIDDEN = Expect(403, refused=True)
METHOD_NOT_ALLOWED = Expect(405, refused=True)  # state changes are POST only, for everyone
BAD_WEBHOOK_AUTH = Expect(400, refused=True)  # anymail's answer to missing or wrong basic auth
OK = allowed(200)


def everyone(expect: Expect) -> dict[str, Expect]:
    return dict.fromkeys(ROLES, expect)


def staff_only(expect: Expect) -> dict[str, Expect]:
    """Front desk and admins; parents are refused, and anonymous users sent to the staff sign-in."""
    return {ANONYMOUS: STAFF_SIGN_IN, PARENT: FORBIDDEN, OTHER_PARENT: FORBIDDEN} | dict.fromkeys(
        STAFF, expect
    )


def practice_admin_only(expect: Expect) -> dict[str, Expect]:
    return staff_only(expect) | {FRONT_DESK: FORBIDDEN}


@dataclass(frozen=True)
class Rule:
    get: dict[str, Expect]
    post: dict[str, Expect] | None = None  # only for endpoints that change state


TABLE: dict[str, Rule] = {
    # ---------------------------------------------------------------- the site's root and language
    "home": Rule(get=everyone(redirect("/portal/"))),
    "set_language": Rule(get=everyone(redirect("/")), post=everyone(redirect("/portal/"))),
    # ---------------------------------------------------------------- staff site
    "staff:sign-in": Rule(
        get=everyone(OK),
        # Each role posts its own credentials (anonymous: an unknown account).
        post=dict.fromkeys((ANONYMOUS, *PARENTS), OK) | dict.fromkeys(STAFF, redirect("/staff/")),
    ),
    "staff:sign-out": Rule(get=everyone(METHOD_NOT_ALLOWED), post=everyone(redirect("/staff/sign-in/"))),
    "staff:dashboard": Rule(get=staff_only(OK)),
    "staff:statistics": Rule(get=staff_only(OK)),
    "staff:access-changes": Rule(get=staff_only(OK)),
    "staff:self-registrations": Rule(get=staff_only(OK)),
    # GET: the confirmation, which changes nothing; POST: the run starts, and its page is shown.
    "staff:register-all": Rule(get=staff_only(OK), post=staff_only(redirect("/staff/register-all/"))),
    "staff:register-all-run": Rule(get=staff_only(OK)),
    "staff:register-all-progress": Rule(get=staff_only(OK)),
    "staff:patient-search": Rule(get=staff_only(OK)),
    "staff:patient-chart": Rule(get=staff_only(OK)),
    "staff:pin-generate": Rule(get=everyone(METHOD_NOT_ALLOWED), post=staff_only(OK)),
    "staff:welcome-send": Rule(get=staff_only(OK), post=staff_only(redirect("/staff/messages/"))),
    "staff:appointment": Rule(get=staff_only(OK)),
    # The chart's Access panel: restrictions and a parent's access kept past majority, admins only.
    "staff:restriction-new": Rule(
        get=practice_admin_only(OK), post=practice_admin_only(redirect("/staff/patients/"))
    ),
    "staff:restriction-lift": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=practice_admin_only(redirect("/staff/patients/"))
    ),
    "staff:restriction-document": Rule(get=practice_admin_only(OK)),
    "staff:access-basis": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=practice_admin_only(redirect("/staff/patients/"))
    ),
    # The patient's own account: the page for every staff member; an empty address is refused by the
    # service with its reason (409), an empty choice by the form (400).
    "staff:teen-account": Rule(get=staff_only(OK), post=staff_only(allowed(409))),
    "staff:teen-parent-level": Rule(get=everyone(METHOD_NOT_ALLOWED), post=staff_only(allowed(400))),
    "staff:welcome-message": Rule(get=staff_only(OK)),
    "staff:welcome-resend": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=staff_only(redirect("/staff/messages/"))
    ),
    "staff:reconcile": Rule(get=staff_only(OK)),
    "staff:authenticate": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=staff_only(redirect("/staff/patients/"))
    ),
    "staff:decline": Rule(get=everyone(METHOD_NOT_ALLOWED), post=staff_only(redirect("/staff/requests/"))),
    "staff:reopen": Rule(get=everyone(METHOD_NOT_ALLOWED), post=staff_only(redirect("/staff/requests/"))),
    "staff:add-to-existing-account": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=staff_only(redirect("/staff/requests/"))
    ),
    "staff:duplicates": Rule(get=practice_admin_only(OK)),
    "staff:disable-duplicate": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=practice_admin_only(redirect("/staff/duplicates/"))
    ),
    "staff:reenable-account": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=practice_admin_only(redirect("/staff/duplicates/"))
    ),
    "staff:audit": Rule(get=practice_admin_only(OK)),
    # Posting without a file: the admin gets the form back with its error, everyone else is refused.
    "staff:import": Rule(get=practice_admin_only(OK), post=practice_admin_only(OK)),
    # A run is seen only by the admin who started it (another admin gets 404: test_ehr_import_page.py).
    "staff:import-help": Rule(get=practice_admin_only(OK)),
    "staff:import-run": Rule(get=practice_admin_only(OK)),
    "staff:import-progress": Rule(get=practice_admin_only(OK)),
    "staff:import-confirm": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=practice_admin_only(redirect("/staff/import/"))
    ),
    # The EHR feed: its state, and a message's text (health information; each reading audited).
    "staff:feed": Rule(get=practice_admin_only(OK)),
    "staff:feed-message": Rule(get=practice_admin_only(OK)),
    # ---------------------------------------------------------------- parent portal
    "portal:start": Rule(
        get={ANONYMOUS: OK} | dict.fromkeys(PARENTS, redirect("/portal/home/")) | dict.fromkeys(STAFF, OK)
    ),
    # Holding a live PIN and the child's date of birth is what grants access, whoever is signed in.
    # A signed-in parent adds the child; anyone else makes an account, which signs in once its email is
    # confirmed (issue 12).
    "portal:pin-start": Rule(
        get=everyone(OK),
        post={ANONYMOUS: redirect("/portal/sign-up/sent/")}
        | dict.fromkeys(PARENTS, redirect("/portal/home/"))
        | dict.fromkeys(STAFF, redirect("/portal/sign-up/sent/")),
    ),
    "portal:sign-up": Rule(
        get=everyone(OK),
        post={ANONYMOUS: redirect("/portal/sign-up/sent/")}
        | dict.fromkeys(PARENTS, redirect("/portal/home/"))
        | dict.fromkeys(STAFF, redirect("/portal/sign-up/sent/")),
    ),
    "portal:sign-up-sent": Rule(get=everyone(OK)),
    # "Send the link again": the same answer for any address, whoever asks.
    "portal:verify-resend": Rule(
        get=everyone(METHOD_NOT_ALLOWED), post=everyone(redirect("/portal/sign-up/sent/"))
    ),
    # The page the emailed link opens. Its key is in the #fragment, never sent; confirming takes the key
    # and the account's password (issue 12): a key that is not valid is refused, whoever sends it.
    "portal:verify-email": Rule(get=everyone(OK), post=everyone(Expect(400, refused=True))),
    # Links in the old form, whose key went through access logs: refused, for a new link.
    "portal:verify-email-old": Rule(get=everyone(Expect(400, refused=True))),
    # A code from the contact on file: for the parent's own account (a wrong one is refused, and says
    # so on the page), and the account this browser made; anyone else is sent to sign in.
    "portal:enrollment-code": Rule(
        get=everyone(METHOD_NOT_ALLOWED),
        post={ANONYMOUS: redirect("/portal/sign-in/")}
        | dict.fromkeys(PARENTS, allowed(400))  # a wrong code is counted, and audited
        | dict.fromkeys(STAFF, redirect("/portal/sign-in/")),
    ),
    "portal:home": Rule(
        get={ANONYMOUS: PORTAL_SIGN_IN} | dict.fromkeys(PARENTS, OK) | dict.fromkeys(STAFF, FORBIDDEN)
    ),
    # A teen's choice for their parents: parents' accounts only (the service refuses anyone but the
    # patient's own); an empty form goes back home with its message.
    "portal:parent-level": Rule(
        get=everyone(METHOD_NOT_ALLOWED),
        post={ANONYMOUS: PORTAL_SIGN_IN}
        | dict.fromkeys(PARENTS, redirect("/portal/home/"))
        | dict.fromkeys(STAFF, FORBIDDEN),
    ),
    "portal:sign-in": Rule(
        get=everyone(OK),
        # Each role posts its own credentials: staff accounts cannot sign in to the portal.
        post={ANONYMOUS: OK} | dict.fromkeys(PARENTS, redirect("/portal/home/")) | dict.fromkeys(STAFF, OK),
    ),
    "portal:sign-out": Rule(get=everyone(METHOD_NOT_ALLOWED), post=everyone(redirect("/portal/"))),
    "portal:password-reset": Rule(get=everyone(OK), post=everyone(redirect("/portal/password-reset/sent/"))),
    "portal:password-reset-sent": Rule(get=everyone(OK)),
    # The token moves from the URL to the session before the form is shown (no leak through Referer).
    "portal:password-reset-confirm": Rule(
        get=everyone(redirect("/portal/password-reset/")),
        post=everyone(redirect("/portal/password-reset/done/")),
    ),
    "portal:password-reset-done": Rule(get=everyone(OK)),
    "portal:privacy": Rule(get=everyone(OK)),
    "portal:terms": Rule(get=everyone(OK)),
    # ---------------------------------------------------------------- the Django admin
    # One staff sign-in page, with its rate limits, for the admin too.
    "admin/login/": Rule(get=everyone(redirect("/staff/sign-in/"))),
    # The whole admin site: its index, and (POST) deleting an audit event, which even admins cannot.
    "admin/": Rule(
        get={role: ADMIN_SIGN_IN for role in ROLES} | {ADMIN: OK},
        post={role: ADMIN_SIGN_IN for role in ROLES} | {ADMIN: FORBIDDEN},
    ),
    # ---------------------------------------------------------------- providers' delivery reports
    "twilio-status": Rule(get=everyone(METHOD_NOT_ALLOWED), post=everyone(FORBIDDEN)),
    "hooks/anymail/": Rule(get=everyone(METHOD_NOT_ALLOWED), post=everyone(BAD_WEBHOOK_AUTH)),
}

# Included sites classified as a whole: the walk does not descend into them.
PREFIXES = frozenset({"admin/", "hooks/anymail/"})
