"""The chart's Access panel: everyone who sees a child or is kept from it, and the policy behind it."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Aggregate, F, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

from patients.models import FamilyContact, Patient
from registration.access_policy import AccessPolicy, access_policy, age_on, birthday
from registration.models import AccessBasis, AccessRestriction, PortalAccess


@dataclass(frozen=True)
class AccessLine:
    """A portal access to the child, live or ended, and when it ends or ended."""

    access: PortalAccess  # its account's user and its contact loaded
    # When a live access will end by itself, and why: a guardianship's last day, or the majority
    # birthday for a parent's access; None when nothing ends it (the adult's consent, their own account).
    scheduled_end: date | None
    scheduled_end_why: str
    # A parent's live access may be kept past majority: the adult's consent or a guardianship.
    basis_changeable: bool

    @property
    def live(self) -> bool:
        return self.access.ended_at is None


@dataclass(frozen=True)
class RestrictionLine:
    restriction: AccessRestriction  # its contact and the staff who recorded and lifted it loaded
    in_effect: bool  # on the day the panel was read
    upcoming: bool  # its first day is still to come


@dataclass(frozen=True)
class AccessPanel:
    accesses: list[AccessLine]  # live first, newest granted first
    restrictions: list[RestrictionLine]  # newest first
    policy: AccessPolicy
    age: int
    # Offer the patient's own account: the policy allows one and the patient has reached its teen age.
    own_account_offered: bool


def access_panel(patient: Patient, *, day: date, policy: AccessPolicy | None = None) -> AccessPanel:
    """Every access to the patient (ended ones too), in one query, and every restriction, read with the
    patient by `with_restrictions`."""
    policy = policy or access_policy()
    majority = birthday(patient.date_of_birth, policy.majority_age)
    accesses = (
        PortalAccess.history.filter(patient=patient)
        .select_related("account__user", "contact")
        .order_by(F("ended_at").desc(nulls_first=True), "-granted_at", "-pk")
    )
    restrictions = sorted(
        map(_restriction, patient.restrictions_read or []), key=lambda r: (r.starts_on, r.pk), reverse=True
    )
    age = age_on(patient.date_of_birth, day)
    return AccessPanel(
        accesses=[_line(access, majority) for access in accesses],
        restrictions=[RestrictionLine(r, r.in_effect_on(day), day < r.starts_on) for r in restrictions],
        policy=policy,
        age=age,
        own_account_offered=policy.teen_own_account
        and policy.teen_age is not None
        and age >= policy.teen_age,
    )


def _line(access: PortalAccess, majority: date) -> AccessLine:
    live = access.ended_at is None
    end, why = None, ""
    if live and access.basis == AccessBasis.GUARDIAN and access.ends_on:
        end, why = access.ends_on, "the guardianship's last day"
    elif live and access.basis == AccessBasis.PARENT:
        end, why = majority, "the patient's majority"
    return AccessLine(
        access=access,
        scheduled_end=end,
        scheduled_end_why=why,
        basis_changeable=live and access.basis == AccessBasis.PARENT,
    )


# ---------------------------------------------------------------- restrictions read with their patient
# The chart's reads were one over the staff pages' limit of 8 queries (issue 17): its restrictions, few
# and mostly none, come as one JSON list in the patient's own query, each with its contact's name and
# the usernames of the staff who recorded and lifted it.


class _JSONList(Aggregate):
    """The group's values as one JSON list."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


# What the panel shows of a restriction, in the model's order: its other fields are deferred.
_SHOWN = {"id", "contact_id", "basis", "starts_on", "ends_on", "review_on", "note", "document"}
_SHOWN |= {"created_by_id", "created_at", "lifted_at", "lifted_by_id", "lift_reason"}
_RESTRICTION_FIELDS = [f.attname for f in AccessRestriction._meta.concrete_fields if f.attname in _SHOWN]
_PEOPLE = ("contact__first_name", "contact__last_name", "created_by__username", "lifted_by__username")
# Built once: each query copies it before resolving it, and building it cost ~1 ms a chart.
_RESTRICTIONS_READ = Subquery(
    AccessRestriction.objects.filter(patient=OuterRef("pk"))
    .values("patient")
    .annotate(read=_JSONList(JSONObject(**{name: F(name) for name in (*_RESTRICTION_FIELDS, *_PEOPLE)})))
    .values("read"),
    output_field=JSONField(),
)


def with_restrictions(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """The patients, each with its restrictions (`restrictions_read`, for `access_panel`)."""
    return patients.annotate(restrictions_read=_RESTRICTIONS_READ)


def _restriction(read: dict) -> AccessRestriction:
    """A restriction as `with_restrictions` read it, with its contact and staff (their names only)."""
    fields = AccessRestriction._meta
    restriction = AccessRestriction.from_db(
        DEFAULT_DB_ALIAS,
        _RESTRICTION_FIELDS,
        [_from_json(fields.get_field(name), read[name]) for name in _RESTRICTION_FIELDS],
    )
    restriction.contact = FamilyContact.from_db(
        DEFAULT_DB_ALIAS,
        ["id", "first_name", "last_name"],
        [restriction.contact_id, read["contact__first_name"], read["contact__last_name"]],
    )
    user = get_user_model()
    for staff in ("created_by", "lifted_by"):
        if (pk := getattr(restriction, f"{staff}_id")) is not None:
            setattr(
                restriction,
                staff,
                user.from_db(DEFAULT_DB_ALIAS, ["id", "username"], [pk, read[f"{staff}__username"]]),
            )
    return restriction


def _from_json(field, value):
    """A field's value from JSON, where dates and times are text, and SQLite's times have no zone (UTC)."""
    value = field.to_python(value)
    if settings.USE_TZ and isinstance(value, datetime) and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value
