"""The EHR feed page, for admins: the last message, today's counts per type on the practice's own day,
the recent errors, and each message's text (audited, never cached) until it is pruned."""

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registration.models import AuditEvent, FeedMessage
from registration.selectors.feed import feed_state

pytestmark = pytest.mark.django_db
Outcome = FeedMessage.Outcome
RAW = (
    "MSH|^~\\&|EPIC|PEDS|PORTALREG|PEDS|20250610120000||{type}|{id}|P|2.5.1\r"
    "PID|1||MRN-4471^^^PEDS^MR||Quill^Nora\r"
)
_control_ids = itertools.count(1)


def feed_message(*, received_at: dt.datetime, **fields) -> FeedMessage:
    control_id = fields.pop("control_id", f"CTRL{next(_control_ids):05d}")
    message_type = fields.pop("message_type", "ADT^A08")
    outcome = fields.pop("outcome", Outcome.APPLIED)
    ack = {Outcome.REFUSED: "AE", Outcome.UNREADABLE: "AR"}.get(outcome, "AA")
    return FeedMessage.objects.create(
        **{
            "sender": "EPIC^PEDS",
            "control_id": control_id,
            "message_type": message_type,
            "received_at": received_at,
            "outcome": outcome,
            "ack_code": ack,
            "raw": RAW.format(type=message_type, id=control_id),
            "size": 90,
            "peer": "10.0.0.7",
        }
        | fields
    )


def local(day: dt.date, at: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, at))


def text_of(response) -> str:
    """The page's text with tags dropped and spaces (no-break ones too) made single."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace("\xa0", " "))


def no_cache_directives(response) -> set[str]:
    return {d.strip() for d in response["Cache-Control"].split(",")}


# ---------------------------------------------------------------- who sees it


def test_front_desk_is_refused_both_pages_and_does_not_see_the_link(front_desk_client):
    message = feed_message(received_at=timezone.now())
    assert front_desk_client.get(reverse("staff:feed")).status_code == 403
    assert front_desk_client.get(reverse("staff:feed-message", args=[message.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.FEED_MESSAGE_READ).exists()
    assert "EHR feed" not in front_desk_client.get(reverse("staff:dashboard")).content.decode()


def test_anonymous_users_are_sent_to_the_staff_sign_in(client):
    response = client.get(reverse("staff:feed"))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/sign-in/?next=")


def test_admins_find_the_page_in_the_navigation(admin_client):
    dashboard = admin_client.get(reverse("staff:dashboard")).content.decode()
    assert f'<a href="{reverse("staff:feed")}">EHR feed</a>' in dashboard


# ---------------------------------------------------------------- the state


def test_before_any_message_the_page_says_so(admin_client):
    response = admin_client.get(reverse("staff:feed"))
    assert response.status_code == 200
    assert "No message received yet." in text_of(response)
    assert "No message received today." in text_of(response)
    assert "No message has been refused or unreadable." in text_of(response)


def test_the_status_line_says_when_the_last_message_came_and_what_became_of_it(admin_client):
    feed_message(received_at=timezone.now() - dt.timedelta(hours=3), message_type="SIU^S12")
    feed_message(received_at=timezone.now() - dt.timedelta(minutes=2, seconds=5), message_type="ADT^A08")

    assert "Last message 2 minutes ago: ADT^A08, applied" in text_of(admin_client.get(reverse("staff:feed")))


def test_a_message_just_received_is_less_than_a_minute_ago(admin_client):
    feed_message(received_at=timezone.now(), message_type="ADT^A40", outcome=Outcome.REFUSED)

    assert "Last message less than a minute ago: ADT^A40, refused" in text_of(
        admin_client.get(reverse("staff:feed"))
    )


def test_todays_counts_are_of_the_practices_own_day_not_utcs():
    # 9 March 2025: New York moves its clocks forward; the practice's day is 23 hours long.
    day = dt.date(2025, 3, 9)
    now = local(day, dt.time(12))
    feed_message(received_at=local(day - dt.timedelta(days=1), dt.time(23, 59, 59)))  # yesterday
    feed_message(received_at=local(day - dt.timedelta(days=1), dt.time(20)))  # today in UTC, not here
    feed_message(received_at=local(day, dt.time(0)))
    feed_message(received_at=local(day, dt.time(11, 59)), outcome=Outcome.IGNORED)
    feed_message(received_at=local(day, dt.time(9)), message_type="SIU^S12")
    feed_message(received_at=local(day, dt.time(9, 5)), message_type="SIU^S12", outcome=Outcome.REFUSED)
    feed_message(received_at=local(day, dt.time(10)), message_type="", outcome=Outcome.UNREADABLE)

    state = feed_state(now=now)

    assert state.day == day
    counts = {
        row.message_type: (row.applied, row.ignored, row.refused, row.unreadable, row.total)
        for row in state.today
    }
    assert counts == {"": (0, 0, 0, 1, 1), "ADT^A08": (1, 1, 0, 0, 2), "SIU^S12": (1, 0, 1, 0, 2)}
    total = state.today_total
    assert (total.applied, total.ignored, total.refused, total.unreadable, total.total) == (2, 1, 1, 1, 5)


def test_the_page_shows_todays_counts_per_type_with_a_total(admin_client):
    today = timezone.localdate()
    for hour, message_type, outcome in [
        (8, "ADT^A08", Outcome.APPLIED),
        (9, "ADT^A08", Outcome.APPLIED),
        (10, "ADT^A08", Outcome.REFUSED),
        (11, "SIU^S12", Outcome.APPLIED),
        (11, "ORU^R01", Outcome.IGNORED),
    ]:
        feed_message(received_at=local(today, dt.time(hour)), message_type=message_type, outcome=outcome)
    feed_message(received_at=local(today - dt.timedelta(days=1), dt.time(12)), message_type="SIU^S14")

    page = text_of(admin_client.get(reverse("staff:feed")))

    assert "ADT^A08 2 0 1 0 3" in page
    assert "ORU^R01 0 1 0 0 1" in page
    assert "SIU^S12 1 0 0 0 1" in page
    assert "All types 3 1 1 0 5" in page
    assert "SIU^S14" not in page


def test_recent_errors_are_the_last_twenty_refused_or_unreadable_newest_first_with_their_reasons(
    admin_client,
):
    noon = local(timezone.localdate(), dt.time(12))
    for n in range(24):
        outcome = Outcome.REFUSED if n % 2 else Outcome.UNREADABLE
        feed_message(
            received_at=noon - dt.timedelta(hours=n),
            control_id=f"ERR{n:03d}",
            outcome=outcome,
            error=f"reason number {n}",
            message_type="ADT^A04" if outcome == Outcome.REFUSED else "",
        )
    feed_message(received_at=noon + dt.timedelta(minutes=1), control_id="FINE001")

    state = feed_state(now=noon + dt.timedelta(minutes=5))
    assert [m.control_id for m in state.errors] == [f"ERR{n:03d}" for n in range(20)]

    page = text_of(admin_client.get(reverse("staff:feed")))
    assert "reason number 0" in page and "reason number 19" in page
    assert "reason number 20" not in page
    assert "FINE001" not in page
    assert page.index("ERR000") < page.index("ERR001") < page.index("ERR019")


def test_each_error_links_to_its_message_unless_its_text_was_pruned(admin_client):
    now = timezone.now()
    kept = feed_message(received_at=now, outcome=Outcome.REFUSED, error="No patient with MRN-9")
    pruned = feed_message(
        received_at=now - dt.timedelta(days=40),
        outcome=Outcome.UNREADABLE,
        raw="",
        raw_pruned_at=now - dt.timedelta(days=10),
    )

    html = admin_client.get(reverse("staff:feed")).content.decode()

    assert reverse("staff:feed-message", args=[kept.pk]) in html
    assert reverse("staff:feed-message", args=[pruned.pk]) not in html
    assert '<span class="muted">Text pruned</span>' in html
    assert "MRN-4471" not in html  # the list never shows a message's text


def test_the_state_takes_four_queries_however_many_messages_there_are(admin_client):
    def count(url_or_none=None) -> int:
        with CaptureQueriesContext(connection) as captured:
            if url_or_none:
                assert admin_client.get(url_or_none).status_code == 200
            else:
                feed_state(now=timezone.now())
        return len(captured)

    feed_message(received_at=timezone.now(), outcome=Outcome.REFUSED)
    assert count() == 4
    few = count(reverse("staff:feed"))
    noon = local(timezone.localdate(), dt.time(12))
    for n in range(60):
        feed_message(
            received_at=noon - dt.timedelta(minutes=n),
            message_type=f"ADT^A{n % 7:02d}",
            outcome=list(Outcome)[n % 4],
            raw="" if n % 5 == 0 else "MSH|",
            raw_pruned_at=noon if n % 5 == 0 else None,
        )
    assert count() == 4
    assert count(reverse("staff:feed")) == few


# ---------------------------------------------------------------- a message's text


def test_an_admin_reads_a_message_audited_and_the_page_is_never_stored(admin_client):
    message = feed_message(
        received_at=timezone.now(),
        control_id="MSG-31",
        message_type="ADT^A31",
        outcome=Outcome.REFUSED,
        error="PID-7 is not a date",
    )

    response = admin_client.get(reverse("staff:feed-message", args=[message.pk]))

    assert response.status_code == 200
    assert "no-store" in no_cache_directives(response)
    page = text_of(response)
    assert "PID|1||MRN-4471^^^PEDS^MR||Quill^Nora" in page
    assert "PID-7 is not a date" in page
    # One segment a line, as HL7 separates them with a carriage return.
    assert "MSG-31|P|2.5.1\nPID|1" in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.FEED_MESSAGE_READ)
    assert event.actor == response.wsgi_request.user
    assert event.details["control_id"] == "MSG-31"
    assert event.details["message_type"] == "ADT^A31"
    assert "Quill" not in str(event.details)


def test_a_pruned_message_says_so_and_nothing_is_audited(admin_client):
    message = feed_message(
        received_at=timezone.now() - dt.timedelta(days=45),
        raw="",
        raw_pruned_at=timezone.now() - dt.timedelta(days=15),
    )

    response = admin_client.get(reverse("staff:feed-message", args=[message.pk]))

    assert response.status_code == 200
    assert "no-store" in no_cache_directives(response)
    assert "The text of this message was pruned on" in text_of(response)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.FEED_MESSAGE_READ).exists()


def test_a_message_that_does_not_exist_is_not_found(admin_client):
    assert admin_client.get(reverse("staff:feed-message", args=[424242])).status_code == 404


# ---------------------------------------------------------------- a million rows


@pytest.mark.postgres
def test_no_query_of_the_state_scans_the_whole_table():
    """200,000 messages over 200 days: each query reads an index over the rows it shows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO registration_feedmessage
                (sender, control_id, message_type, received_at, outcome, ack_code, error, peer, size, raw)
            SELECT 'EPIC^PEDS', 'C' || n, (ARRAY['ADT^A08','SIU^S12','SIU^S14','ADT^A04'])[1 + n % 4],
                   now() - make_interval(secs => n * 86.4),
                   CASE WHEN n % 50 = 0 THEN 'refused' WHEN n % 97 = 0 THEN 'unreadable' ELSE 'applied' END,
                   'AA', '', '', 10, 'MSH|'
            FROM generate_series(1, 200000) AS n
            """
        )
        cursor.execute("ANALYZE registration_feedmessage")
    with CaptureQueriesContext(connection) as captured:
        feed_state(now=timezone.now())
    assert len(captured) == 4
    with connection.cursor() as cursor:
        for query in captured:
            cursor.execute("EXPLAIN " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, f"{query['sql']}\n{plan}"
