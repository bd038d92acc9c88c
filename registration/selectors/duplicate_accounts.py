"""Portal accounts that are probably one parent, and why."""

from dataclasses import dataclass

from django.db.models import (
    Count,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
)

from registration.models import (
    PortalAccess,
    PortalAccount,
    SelfRegistrationRequest,
)


@dataclass
class DuplicatePair:
    """Two enabled portal accounts that are probably one parent, each with its live accesses
    (`accesses_live`, their patients loaded) and waiting requests (`waiting_requests`)."""

    first: PortalAccount
    second: PortalAccount
    reasons: list[str]

    @property
    def accounts(self) -> tuple[PortalAccount, PortalAccount]:
        return self.first, self.second


def duplicate_account_candidates(*, among: tuple[int, int] | None = None) -> list[tuple[int, int, list[str]]]:
    """Suspected duplicate accounts, as (account id, account id, reasons): two on one family contact,
    two with one cell phone, or a waiting self-registration from one that matches a child the other
    already sees.

    Over every account, a pass over every portal access and account (~100 ms at 100,000 patients): for
    the task that keeps the registration snapshot (`registration.statistics`), not for a page. `among`
    two accounts, the same rule for that pair alone (`duplicate_account_reasons`).
    """
    reasons: dict[tuple[int, int], list[str]] = {}

    def note(a: int, b: int, reason: str) -> None:
        if a != b:
            reasons.setdefault((min(a, b), max(a, b)), []).append(reason)

    all_accesses, all_accounts = PortalAccess.objects.all(), PortalAccount.objects.all()
    all_requests = SelfRegistrationRequest.objects.all()
    if among is not None:
        all_accesses = all_accesses.filter(account_id__in=among)
        all_accounts = all_accounts.filter(pk__in=among)
        all_requests = all_requests.filter(account_id__in=among)
    enabled_accesses = all_accesses.filter(account__disabled_at__isnull=True)
    # Grouped without the join to accounts (an index-only scan); the few contacts found are then
    # checked against enabled accounts only.
    shared_contacts = (
        all_accesses.values("contact_id").annotate(n=Count("account_id", distinct=True)).filter(n__gt=1)
    )
    by_contact: dict[int, list[int]] = {}
    for row in enabled_accesses.filter(contact_id__in=shared_contacts.values("contact_id")).values(
        "contact_id", "account_id"
    ):
        by_contact.setdefault(row["contact_id"], []).append(row["account_id"])
    for accounts in by_contact.values():
        for other in accounts[1:]:
            note(accounts[0], other, "same family contact")

    enabled = all_accounts.filter(disabled_at__isnull=True).exclude(cell_phone="")
    shared_phones = (
        all_accounts.exclude(cell_phone="")
        .values("cell_phone")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values("cell_phone")
    )
    by_phone: dict[str, list[int]] = {}
    for pk, phone in enabled.filter(cell_phone__in=shared_phones).values_list("pk", "cell_phone"):
        by_phone.setdefault(phone, []).append(pk)
    for accounts in by_phone.values():
        for other in accounts[1:]:
            note(accounts[0], other, "same cell phone")

    # A waiting request naming a child (birth date and last name) whom another account already sees,
    # through a family contact with the request's email or cell phone. Driven from the few waiting
    # requests, each looked up by the child's birth date: never a pass over every access.
    sees_same_child = (
        enabled_accesses.filter(
            patient__date_of_birth=OuterRef("child_date_of_birth"),
            patient__last_name__iexact=OuterRef("child_last_name"),
        )
        .filter(
            Q(contact__email__iexact=OuterRef("parent_email"))
            | Q(contact__cell_phone=OuterRef("parent_cell_phone"), contact__cell_phone__gt="")
        )
        .exclude(account_id=OuterRef("account_id"))
    )
    if among is not None:
        sees_same_child = sees_same_child.filter(account_id__in=among)
    waiting = (
        all_requests.filter(status=SelfRegistrationRequest.Status.AWAITING, account__disabled_at__isnull=True)
        .annotate(other=Subquery(sees_same_child.values("account_id")[:1]))
        .filter(other__isnull=False)
        .values_list("account_id", "other")
    )
    for requester, other in waiting:
        note(requester, other, "waiting request for a child the other sees")

    return [(a, b, sorted(set(why))) for (a, b), why in sorted(reasons.items())]


def duplicate_account_reasons(first_id: int, second_id: int) -> list[str]:
    """Why the two accounts are suggested as one parent's (the duplicates page's rule); empty if not."""
    pairs = duplicate_account_candidates(among=(first_id, second_id))
    return pairs[0][2] if pairs else []


def duplicate_account_pairs(
    candidates: list[tuple[int, int, list[str]]], *, limit: int = 50
) -> list[DuplicatePair]:
    """The first `limit` candidate pairs whose accounts are both still enabled, with what staff compare."""
    # A few spare: an account disabled since the snapshot was taken drops its pairs from the page.
    ids = {pk for a, b, _ in candidates[: limit + 20] for pk in (a, b)}
    accounts = {
        a.pk: a
        for a in PortalAccount.objects.filter(pk__in=ids, disabled_at__isnull=True)
        .select_related("user")
        .prefetch_related(
            # Lists, not related managers: a queryset made for each account cost ~0.1 ms apiece. The page
            # names the children only (their contacts, each with three phones to parse, are not read).
            Prefetch(
                "accesses",
                PortalAccess.objects.select_related("patient").order_by("pk"),
                to_attr="accesses_live",
            ),
            Prefetch(
                "self_registrations",
                SelfRegistrationRequest.objects.filter(status=SelfRegistrationRequest.Status.AWAITING),
                to_attr="waiting_requests",
            ),
        )
    }
    pairs = [
        DuplicatePair(accounts[a], accounts[b], reasons)
        for a, b, reasons in candidates
        if a in accounts and b in accounts
    ]
    return pairs[:limit]
