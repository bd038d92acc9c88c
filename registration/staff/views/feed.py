"""The EHR feed's page, for admins: its state, and each message's text (health information: every
reading is audited, and no cache keeps the page)."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.roles import practice_admin_required
from portalreg.proxies import client_address
from registration.selectors.feed import feed_message_summary, feed_state
from registration.services.feed_messages import FeedMessageNotFound, FeedMessagePruned, feed_message_read


@never_cache
@practice_admin_required
def feed(request):
    return render(
        request,
        "staff/feed.html",
        {"state": feed_state(now=timezone.now()), "retention_days": settings.HL7_RAW_RETENTION_DAYS},
    )


@never_cache
@practice_admin_required
def feed_message(request, pk):
    """One message: what the feed made of it and, until it is pruned, its text (audited)."""
    message = feed_message_summary(pk)
    if message is None:
        raise Http404("No such message")
    segments = None
    if message.raw_pruned_at is None:
        try:
            raw = feed_message_read(message_id=pk, by=request.user, client_address=client_address(request))
        except FeedMessageNotFound:
            raise Http404("No such message") from None
        except FeedMessagePruned:  # pruned since the summary was read
            message = feed_message_summary(pk)
        else:
            segments = raw.splitlines()  # HL7 ends segments with a carriage return
    response = render(
        request,
        "staff/feed_message.html",
        {"message": message, "segments": segments, "retention_days": settings.HL7_RAW_RETENTION_DAYS},
    )
    response["Cache-Control"] = "no-store"
    return response
