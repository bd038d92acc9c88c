from django.core.management.base import BaseCommand

from registration.services.birthdays import access_birthdays_run


class Command(BaseCommand):
    help = (
        "Birthdays that change who sees a patient: tell parents 30 days before (ACCESS_CHANGE_NOTICE_DAYS), "
        "narrow parents' access on a teen's birthday and end it at majority, end guardianships past their "
        "last day, and enforce restrictions whose first day has come. Run daily from cron, soon after "
        "midnight in the practice's time zone; running it again the same day changes nothing."
    )

    def handle(self, *args, **options):
        self.stdout.write(str(access_birthdays_run()))
