"""Every registration state change, one function each.

Each runs in one transaction, locks what it changes, writes one audit event, and refuses an invalid
change with a `RegistrationError` whose message a person can act on. Nothing outside this package
writes registration state, but the messaging wing's outbox services (`registration.messaging`), which
move messages from queued to sent or failed and audit each change in the same way. The emails parents
ask for are re-exported here for the views.
"""

from registration.messaging.account_email_requests import (
    parent_email_password_reset,
    parent_email_queue,
    parent_email_sign_up_with_existing,
    parent_email_verification_resend,
)
from registration.services.accounts import (
    NewAccount,
    account_disable_duplicate,
    account_disable_duplicate_plan,
    account_reenable,
    portal_account_verify_email,
)
from registration.services.enrollment_codes import enrollment_code_prove
from registration.services.errors import (
    OutstandingPin,
    PatientNotInvitable,
    PossibleDuplicate,
    RegistrationError,
)
from registration.services.invitation_rules import invitation_refusal, patient_invitation_refusal
from registration.services.pins import IssuedPin, pin_issue, pin_redeem, welcome_invite
from registration.services.self_registration import (
    ChildDetails,
    self_registration_add_to_existing_account,
    self_registration_authenticate,
    self_registration_decline,
    self_registration_decline_check,
    self_registration_reopen,
    self_registration_submit,
)

__all__ = [
    "ChildDetails",
    "IssuedPin",
    "NewAccount",
    "OutstandingPin",
    "PatientNotInvitable",
    "PossibleDuplicate",
    "RegistrationError",
    "account_disable_duplicate",
    "account_disable_duplicate_plan",
    "account_reenable",
    "enrollment_code_prove",
    "invitation_refusal",
    "parent_email_password_reset",
    "parent_email_queue",
    "parent_email_sign_up_with_existing",
    "parent_email_verification_resend",
    "patient_invitation_refusal",
    "pin_issue",
    "pin_redeem",
    "portal_account_verify_email",
    "self_registration_add_to_existing_account",
    "self_registration_authenticate",
    "self_registration_decline",
    "self_registration_decline_check",
    "self_registration_reopen",
    "self_registration_submit",
    "welcome_invite",
]
