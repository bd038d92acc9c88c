from django.conf import settings
from django.core.management.base import BaseCommand

from registration.services.feed_messages import feed_raw_prune


class Command(BaseCommand):
    help = (
        "Delete the text of EHR feed messages received more than HL7_RAW_RETENTION_DAYS "
        f"({settings.HL7_RAW_RETENTION_DAYS}) days ago; their type, control id and outcome are kept. "
        "Safe to run at any time, e.g. daily from cron."
    )

    def handle(self, *args, **options):
        pruned = feed_raw_prune()
        self.stdout.write(
            f"deleted the text of {pruned} feed message{'' if pruned == 1 else 's'} older than "
            f"{settings.HL7_RAW_RETENTION_DAYS} days"
        )
