"""Why a registration change was refused, in words the person in front of the screen can act on.

Messages parents may see are translated; they are evaluated in the language of the request.
"""

from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class RegistrationError(Exception):
    """Base of every refusal; `str(error)` is the message to show."""

    message = _("That could not be done.")

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)


# ---- PIN redemption (parents). None of these says whether a PIN exists unless the parent proved
# ---- they hold it, by typing it together with the child's date of birth.
class PinNotAccepted(RegistrationError):
    message = _(
        "That PIN and date of birth don't match our records. Check both and try again, "
        "or ask the practice for a new PIN."
    )


class PinLocked(RegistrationError):
    message = _("This PIN was tried too many times and is locked. Please ask the practice for a new PIN.")


class PinExpired(RegistrationError):
    message = _("This PIN has expired. Please ask the practice for a new PIN.")


class PinAlreadyUsed(RegistrationError):
    message = _(
        "This PIN has already been used. Sign in to your account to see your child, "
        "or ask the practice for a new PIN."
    )


class PinReplaced(RegistrationError):
    message = _(
        "This PIN is no longer valid because the practice issued a newer one. "
        "Use the newest PIN you received."
    )


class ChildAlreadyOnAccount(RegistrationError):
    message = _("This child is already on your account.")


class PinNoLongerUsable(RegistrationError):
    """The PIN's child may no longer be invited (deceased, or an inactive chart): told without saying why."""

    message = _("This PIN can no longer be used. Please contact the practice.")


class OwnPinNeedsOwnAccount(RegistrationError):
    """A patient's own PIN, redeemed with a parent's email or phone, or into a parent's account."""

    message = _(
        "This PIN is for the patient's own account. Create a new account with the patient's own email "
        "address and cell phone, not a parent's."
    )


# ---- accounts
class EmailInUse(RegistrationError):
    message = _("An account with this email already exists. Sign in to add a child to it.")


class AccountDisabled(RegistrationError):
    message = _("This account is disabled. Please contact the practice.")


class SameAccount(RegistrationError):
    message = _("Choose two different accounts: the one to keep and the duplicate to disable.")


class NotSuggestedDuplicates(RegistrationError):
    message = _(
        "These two accounts are not a suggested duplicate pair, so neither can be disabled into the other. "
        "Reload the duplicate accounts page to see the pairs as they are now."
    )


# ---- staff operations
class ContactNotOnChart(RegistrationError):
    message = _("That family contact is not on this patient's chart. Add them to the chart first.")


class AppointmentMismatch(RegistrationError):
    message = _("That appointment belongs to a different patient.")


class PatientNotInvitable(RegistrationError):
    """The EHR says nobody is to be invited to this patient's portal (`patient_invitation_refusal`).

    `state` is the short word staff see on lists ("Deceased", "Inactive in the EHR"); `counted` is the
    same within a sentence ("2 deceased").
    """

    state = counted = ""


class PatientDeceased(PatientNotInvitable):
    state, counted = "Deceased", "deceased"

    def __init__(self, *, on: date | None = None):
        when = f" (on {date_format(on)})" if on else ""
        super().__init__(
            f"The EHR records this child as deceased{when}: no PIN or welcome message can be sent, "
            "and no parent can be given access."
        )


class PatientInactive(PatientNotInvitable):
    state, counted = "Inactive in the EHR", "inactive in the EHR"
    message = (
        "This chart is inactive in the EHR (merged or no longer seen here): no PIN or welcome message "
        "can be sent, and no parent can be given access. Look for the child's current chart."
    )


class AlreadyRegistered(RegistrationError):
    message = _(
        "This contact can already see this patient on the portal. "
        "If they cannot sign in, they can reset their password from the sign-in page."
    )


class InvalidAddress(RegistrationError):
    message = _("Enter a valid email address or cell phone number.")


class OutstandingPin(RegistrationError):
    """The contact holds a PIN that still works: a new one would stop it. Staff confirm first.

    `pin` is that PIN (with its welcome message, if it was sent in one), for the page that asks.
    """

    message = "A PIN given to this parent is still valid. Sending a new one stops the old one."

    def __init__(self, pin):
        super().__init__()
        self.pin = pin


class PossibleDuplicate(RegistrationError):
    """A waiting self-registration request looks like this parent or child.

    Issuing a PIN now would give the parent a second account. Authenticate the request instead, or go on
    with a reason (it is audited).
    """

    message = _(
        "A parent's self-registration request that may match is waiting. Authenticate that request "
        "instead, or give a reason to go on and issue a PIN."
    )

    def __init__(self, requests):
        super().__init__()
        self.requests = list(requests)


class RequestAlreadyDecided(RegistrationError):
    message = _(
        "Someone has already decided this self-registration request. Reload the page to see what was done."
    )


class ReasonRequired(RegistrationError):
    message = _("Give a reason: the parent will be told it.")


class DeclineNoteRequired(ReasonRequired):
    message = "With “Another reason”, write a note: it is all the parent will read about why."


class RequestNotDeclined(RegistrationError):
    message = "This request is no longer declined: someone reopened it already. Reload the page to see it."


class RequestAskedAgain(RegistrationError):
    """The parent asked for the same child again after the decline: that request is the one to decide."""

    message = (
        "The parent has asked for this child again since this request was declined. Decide that newer "
        "request instead; this one stays declined."
    )


class AccountNotDisabled(RegistrationError):
    message = "This account is not disabled: someone has enabled it already. Reload the page to see it."


class ContactHasNoAccount(RegistrationError):
    message = "This contact has no portal account to add the child to. Authenticate the request instead."


class ContactHasTwoAccounts(RegistrationError):
    message = (
        "This contact signs in with more than one account. Settle the pair on the Duplicate accounts page "
        "first, then add the child to the account kept."
    )


class DisableReasonRequired(ReasonRequired):
    message = _("Give a reason for disabling the duplicate: it is kept in the audit trail.")


class InvalidChild(RegistrationError):
    message = _("Give each child's first and last name and a date of birth that is not in the future.")


class RequestAlreadyWaiting(RegistrationError):
    message = _("You have already asked to see this child. The practice will verify it soon.")


# ---- Proving who signed up: the email they gave, and the code sent to the contact on file.
class AccountNotConfirmed(RegistrationError):
    message = _(
        "This parent has not confirmed their email yet. Wait until they have: until then the account "
        "cannot sign in, and anyone could have typed these details."
    )


class EnrollmentCodeNotAccepted(RegistrationError):
    # The same words whether no code was sent, the code expired, or it was mistyped: whether the sign-up
    # matched anyone on file is not said.
    message = _(
        "That code doesn't match. Check it and try again; a code by text lasts 10 minutes, by email 24 hours."
    )


class KeptAccountNotConfirmed(RegistrationError):
    message = (
        "Keep the account whose owner confirmed their email: the other has not, so its details may be "
        "anyone's typing. Nothing was changed."
    )


# ---- who may see a child (staff read these; a parent never does: the portal answers as for a PIN
# ---- that does not match, so a restricted person learns nothing)
class ContactRestricted(RegistrationError):
    """A restriction in effect keeps this person from the child (`AccessRestriction.reason` says why)."""

    state = "Restricted"

    def __init__(self, restriction):
        self.restriction = restriction
        super().__init__(
            f"{restriction.contact.full_name} may not be given access to this child: {restriction.reason}."
        )


class RestrictionInvalid(RegistrationError):
    message = "Check the restriction: the person, the basis and the first day are needed."


class PatientIsAdult(RegistrationError):
    state = "Adult"

    def __init__(self, *, majority_age: int):
        super().__init__(
            f"This patient is {majority_age} or older: a parent's access needs a court-appointed "
            "guardianship (a chart contact whose relationship is legal guardian) or the patient's own "
            "account."
        )


class OwnAccountNotAllowed(RegistrationError):
    """A PIN for the patient's own account, before the policy's teen age or where it allows none."""

    def __init__(self, why: str):
        super().__init__(why)


class TeenAddressIsParents(RegistrationError):
    message = (
        "That email or phone belongs to a parent on file. The patient's own account needs the patient's "
        "own email or cell phone."
    )


class RelationshipEnded(RegistrationError):
    """The EHR says the person's relationship to the child has ended (FHIR RelatedPerson.period)."""

    state = "Relationship ended"

    def __init__(self, *, ended_on: date):
        self.ended_on = ended_on
        super().__init__(
            f"This person's relationship to the child ended on {date_format(ended_on, 'SHORT_DATE_FORMAT')}, "
            "per the EHR."
        )
