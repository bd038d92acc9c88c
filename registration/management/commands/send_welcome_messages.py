from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from registration.models import WelcomeMessage
from registration.services import welcome_delivery
from registration.tasks import send_welcome_message


class Command(BaseCommand):
    help = (
        "Send welcome messages that are due: retries (for task backends that cannot defer) and messages "
        "whose sender stopped mid-send. Safe to run at any time, e.g. every minute from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stuck-after", type=int, default=600, help="seconds before 'sending' counts as stuck"
        )

    def handle(self, *args, stuck_after, **options):
        released = welcome_delivery.welcome_messages_release_stuck(older_than=timedelta(seconds=stuck_after))
        due = WelcomeMessage.objects.filter(status__in=WelcomeMessage.PENDING_STATUSES).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
        )
        results = [send_welcome_message.call(pk) for pk in due.values_list("pk", flat=True)]
        self.stdout.write(
            f"released {len(released)} stuck; sent {results.count('sent')}, failed {results.count('failed')}"
        )
