"""Access changes due: the birthdays in the coming days that narrow or end parents' access, whom each
touches, and whether they were told. The daily task makes the changes; staff only see them coming."""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone

from accounts.roles import staff_member_required
from registration.access_policy import access_policy
from registration.selectors.birthdays import milestones_due


@staff_member_required
def access_changes(request):
    first, notice_days = timezone.localdate(), settings.ACCESS_CHANGE_NOTICE_DAYS
    last = first + timedelta(days=notice_days)
    policy = access_policy()
    return render(
        request,
        "staff/access_changes.html",
        {
            "changes": milestones_due(first=first, last=last, policy=policy),
            "first": first,
            "last": last,
            "notice_days": notice_days,
            "policy": policy,
        },
    )
