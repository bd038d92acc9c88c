"""Registration rows for the bulk of the demo practice, written directly rather than by the services.

Why not `registration.services`, the only code that changes registration state in normal operation:
speed. Every PIN and every password is an Argon2 hash (tens to hundreds of milliseconds each), so
100,000 patients through the services would take hours. These are fixture rows, made once, and all
they must be is what the services would have left behind: a redeemed PIN with its access, a live or
expired PIN, a waiting request, a verified email, each with its audit event (marked `"seeded": true`).
Portal status is derived from such rows by `registration.selectors`, never stored, so nothing else
has to be kept in step. The shared demo password is hashed once for every parent; every PIN shares
the hash of one PIN made and forgotten, so these PINs count in the statistics but can never be
redeemed. No readable PIN is stored.
"""

import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from patients.bulk_insert import insert
from registration import pin_codes as codes
from registration.access_policy import access_policy, is_teen_on
from registration.demo.families import (
    ACCOUNT_PLANS,
    EMAIL_VERIFIED_AFTER,
    PIN_PLANS,
    Child,
    Contact,
    Family,
    Newcomer,
    Plan,
    pin_times,
)
from registration.demo.families import request_submitted_at as submitted_at
from registration.demo.records import Written, records_write
from registration.models import (
    AccessBasis,
    AccessLevel,
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    RegistrationPath,
    SelfRegistrationRequest,
)


@dataclass(frozen=True)
class BulkContext:
    today: date
    issued_by_id: int  # the front-desk user who "issued" the PINs
    password_hash: str  # the demo parents' password, hashed once
    pin_hash: str  # the hash of a PIN made once and forgotten
    validity_days: int


@dataclass(frozen=True)
class Grant:
    """One registering contact of one new child."""

    family: Family
    child: Child
    child_index: int
    contact: Contact
    contact_index: int
    patient_id: int
    contact_id: int


@dataclass(frozen=True)
class Account:
    id: int
    user_id: int
    created_at: datetime
    created_now: bool


def families_write(families: list[Family], ctx: BulkContext) -> Counter:
    """The records of `families`' new children, then their registration rows: one chunk of the seed.

    A fixed number of statements whatever the number of families (each table takes one COPY).
    """
    written = records_write(families)
    return written.counts + registration_write(written, ctx)


def registration_write(written: Written, ctx: BulkContext) -> Counter:
    """PINs, accounts, accesses, requests and audit events for the new children of bulk families."""
    grants = [
        Grant(family, child, i, contact, k, written.patient_ids[child.mrn], written.contact_ids[key])
        for family, i, child in written.new_children
        if not family.is_showcase
        for k, contact in enumerate(family.registering_contacts)
        for key in [(family.number, contact.relationship)]
    ]
    accounts = accounts_ensure(_accounts_wanted(grants, ctx), ctx)
    pin_grants = [g for g in grants if g.family.plan in PIN_PLANS]
    pins = _pins_create(pin_grants, accounts, ctx)
    redeemed = [(g, pin) for g, pin in zip(pin_grants, pins, strict=True) if pin["redeemed_at"]]
    access_ids = _accesses_create(redeemed)
    requests = _requests_create([g for g in grants if g.family.plan == Plan.AWAITING], accounts, ctx)
    events = [
        *_pin_events(pin_grants, pins, ctx),
        *_redeem_events(redeemed, access_ids, accounts),
        *_request_events(requests),
        *_verified_events(accounts),
    ]
    insert(AuditEvent, events)
    return Counter(
        accounts=sum(a.created_now for a in accounts.values()),
        pins=len(pins),
        accesses=len(access_ids),
        requests=sum(len(rows) for _, rows in requests),
        audit_events=len(events),
    )


def newcomers_write(newcomers: list[Newcomer], ctx: BulkContext) -> Counter:
    """Sign-ups of parents the practice does not know yet, one waiting request each."""
    emails = [n.parent.email for n in newcomers]
    existing = set(User.objects.filter(username__in=emails).values_list("username", flat=True))
    newcomers = [n for n in newcomers if n.parent.email not in existing]
    accounts = accounts_ensure({n.parent.email: (n.parent, n.submitted_at) for n in newcomers}, ctx)
    requests = []
    for n in newcomers:
        account = accounts[n.parent.email]
        child = (n.child_first_name, n.child_last_name, n.child_date_of_birth)
        requests.append((account, [_request_row(account, n.parent, *child, n.submitted_at)]))
    _requests_insert(requests)
    events = [*_request_events(requests), *_verified_events(accounts)]
    insert(AuditEvent, events)
    return Counter(accounts=len(accounts), requests=len(requests), audit_events=len(events))


# ---------------------------------------------------------------- accounts
def _accounts_wanted(grants: list[Grant], ctx: BulkContext) -> dict[str, tuple[Contact, datetime]]:
    """Each account's email (lower case), the contact it is for, and when it was made (its first use)."""
    wanted: dict[str, tuple[Contact, datetime]] = {}
    for grant in grants:
        if grant.family.plan not in ACCOUNT_PLANS:
            continue
        if grant.family.plan == Plan.AWAITING:
            since = submitted_at(grant.family, ctx.today)
        else:
            since = pin_times(
                grant.family, grant.child_index, grant.contact_index, ctx.today, ctx.validity_days
            ).redeemed_at
        email = grant.contact.email.lower()
        if email not in wanted or since < wanted[email][1]:
            wanted[email] = (grant.contact, since)
    return wanted


def accounts_ensure(wanted: dict[str, tuple[Contact, datetime]], ctx: BulkContext) -> dict[str, Account]:
    """The portal account of each email (lower case), made as `portal_account_make` makes one if missing."""
    found = {
        username: Account(pk, user_id, created_at, created_now=False)
        for username, pk, user_id, created_at in PortalAccount.objects.filter(
            user__username__in=list(wanted)
        ).values_list("user__username", "pk", "user_id", "created_at")
    }
    missing = [(email, *wanted[email]) for email in wanted if email not in found]
    user_ids = insert(
        User,
        [
            {
                "username": email,
                "email": User.objects.normalize_email(contact.email),
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "password": ctx.password_hash,
                "date_joined": since,
            }
            for email, contact, since in missing
        ],
        ids=True,
    )
    account_ids = insert(
        PortalAccount,
        [
            {
                "user_id": user_id,
                "cell_phone": contact.cell_phone,
                "preferred_language": contact.language,
                "created_at": since,
                "email_verified_at": since + EMAIL_VERIFIED_AFTER,
            }
            for user_id, (_, contact, since) in zip(user_ids, missing, strict=True)
        ],
        ids=True,
    )
    for (email, _, since), pk, user_id in zip(missing, account_ids, user_ids, strict=True):
        found[email] = Account(pk, user_id, since, created_now=True)
    return found


def _verified_events(accounts: dict[str, Account]):
    """Each new parent confirmed their email address soon after signing up (see `accounts_ensure`)."""
    for account in accounts.values():
        if account.created_now:
            yield {
                "at": account.created_at + EMAIL_VERIFIED_AFTER,
                "actor_id": account.user_id,
                "action": AuditEvent.Action.EMAIL_VERIFIED,
                "account_id": account.id,
                "details": {"seeded": True},
            }


# ---------------------------------------------------------------- PINs and what they led to
def _pins_create(grants: list[Grant], accounts: dict[str, Account], ctx: BulkContext) -> list[dict]:
    rows = []
    for grant in grants:
        times = pin_times(grant.family, grant.child_index, grant.contact_index, ctx.today, ctx.validity_days)
        rows.append(
            {
                "patient_id": grant.patient_id,
                "contact_id": grant.contact_id,
                "path": grant.family.pin_path,
                "issued_by_id": ctx.issued_by_id,
                "lookup": _lookup(grant.child.mrn, grant.contact_index),
                "secret_hash": ctx.pin_hash,
                "issued_at": times.issued_at,
                "expires_at": times.issued_at + timedelta(days=ctx.validity_days),
                "redeemed_at": times.redeemed_at,
                "redeemed_by_id": accounts[grant.contact.email.lower()].id if times.redeemed_at else None,
            }
        )
    for row, pk in zip(rows, insert(Pin, rows, ids=True), strict=True):
        row["id"] = pk
    return rows


def _lookup(mrn: str, contact_index: int) -> str:
    """A PIN's first group, which is not secret: spread the PINs over lookups, the same every run."""
    number = zlib.crc32(f"{mrn}:{contact_index}".encode())
    return "".join(codes.ALPHABET[(number >> (5 * i)) % 32] for i in range(codes.GROUP))


def _level(date_of_birth: date, at: datetime, policy) -> str:
    teen = is_teen_on(date_of_birth, timezone.localdate(at), policy)
    return policy.parent_level_for_teens if teen else AccessLevel.FULL


def _accesses_create(redeemed: list[tuple[Grant, dict]]) -> list[int]:
    policy = access_policy()
    rows = [
        {
            "account_id": pin["redeemed_by_id"],
            "patient_id": grant.patient_id,
            "contact_id": grant.contact_id,
            "path": pin["path"],
            "granted_at": pin["redeemed_at"],
            "pin_id": pin["id"],
            # What `access_make` gives: a parent of an adolescent sees what the policy allows.
            "level": _level(grant.child.date_of_birth, pin["redeemed_at"], policy),
            "level_set_at": pin["redeemed_at"],
            "basis": AccessBasis.GUARDIAN if grant.contact.relationship == "guardian" else AccessBasis.PARENT,
        }
        for grant, pin in redeemed
    ]
    return insert(PortalAccess, rows, ids=True)


def _pin_events(grants: list[Grant], pins: list[dict], ctx: BulkContext):
    for grant, pin in zip(grants, pins, strict=True):
        yield {
            "at": pin["issued_at"],
            "actor_id": ctx.issued_by_id,
            "action": AuditEvent.Action.PIN_ISSUED,
            "path": pin["path"],
            "patient_id": grant.patient_id,
            "contact_id": grant.contact_id,
            "details": {"seeded": True, "pin_id": pin["id"], "expires_at": pin["expires_at"].isoformat()},
        }


def _redeem_events(redeemed: list[tuple[Grant, dict]], access_ids: list[int], accounts):
    by_id = {a.id: a for a in accounts.values()}
    for (grant, pin), access_id in zip(redeemed, access_ids, strict=True):
        account = by_id[pin["redeemed_by_id"]]
        yield {
            "at": pin["redeemed_at"],
            "actor_id": account.user_id,
            "action": AuditEvent.Action.PIN_REDEEMED,
            "path": pin["path"],
            "patient_id": grant.patient_id,
            "contact_id": grant.contact_id,
            "account_id": account.id,
            "details": {
                "seeded": True,
                "pin_id": pin["id"],
                "access_id": access_id,
                "account_created": account.created_now and account.created_at == pin["redeemed_at"],
            },
        }


# ---------------------------------------------------------------- self-registration requests
def _requests_create(
    grants: list[Grant], accounts: dict[str, Account], ctx: BulkContext
) -> list[tuple[Account, list[dict]]]:
    """One request per child, grouped by account (one sign-up naming all of a family's children)."""
    by_account: dict[int, tuple[Account, list[dict]]] = {}
    for grant in grants:
        account = accounts[grant.contact.email.lower()]
        child = (grant.child.first_name, grant.child.last_name, grant.child.date_of_birth)
        row = _request_row(account, grant.contact, *child, submitted_at(grant.family, ctx.today))
        by_account.setdefault(account.id, (account, []))[1].append(row)
    requests = list(by_account.values())
    _requests_insert(requests)
    return requests


def _request_row(account: Account, parent: Contact, first: str, last: str, born: date, at: datetime) -> dict:
    return {
        "account_id": account.id,
        "child_first_name": first,
        "child_last_name": last,
        "child_date_of_birth": born,
        "parent_first_name": parent.first_name,
        "parent_last_name": parent.last_name,
        "parent_email": User.objects.normalize_email(parent.email),
        "parent_cell_phone": parent.cell_phone,
        "submitted_at": at,
    }


def _requests_insert(requests: list[tuple[Account, list[dict]]]):
    rows = [row for _, group in requests for row in group]
    for row, pk in zip(rows, insert(SelfRegistrationRequest, rows, ids=True), strict=True):
        row["id"] = pk


def _request_events(requests: list[tuple[Account, list[dict]]]):
    for account, rows in requests:
        yield {
            "at": rows[0]["submitted_at"],
            "actor_id": account.user_id,
            "action": AuditEvent.Action.SELF_REGISTRATION_SUBMITTED,
            "path": RegistrationPath.SELF_REGISTRATION,
            "account_id": account.id,
            "details": {
                "seeded": True,
                "request_ids": [r["id"] for r in rows],
                "account_created": account.created_now and account.created_at == rows[0]["submitted_at"],
            },
        }
