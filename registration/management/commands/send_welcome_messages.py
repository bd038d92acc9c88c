from datetime import timedelta

from django.core.management.base import BaseCommand

from registration.messaging.account_email_outbox import parent_emails_release_stuck
from registration.messaging.outbox import outbox_due
from registration.messaging.tasks import send_parent_account_email, send_welcome_message
from registration.messaging.welcome_outbox import welcome_messages_recover_stuck
from registration.models import ParentAccountEmail, WelcomeMessage


class Command(BaseCommand):
    help = (
        "Send what is due: welcome messages and emails about parents' accounts whose retry time has come "
        "(for task backends that cannot defer), and those whose sender stopped mid-send. A stuck text is "
        "first looked up at Twilio, so one it took is not sent twice; a stuck welcome email is left to "
        "staff as 'may not have been sent'. Safe to run at any time, e.g. every minute from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stuck-after", type=int, default=600, help="seconds before 'sending' counts as stuck"
        )

    def handle(self, *args, stuck_after, **options):
        older_than = timedelta(seconds=stuck_after)
        self.stdout.write(self._welcome_messages(older_than))
        if emails := self._parent_emails(older_than):  # a line only when there was something to do
            self.stdout.write(emails)

    def _welcome_messages(self, older_than: timedelta) -> str:
        stuck = welcome_messages_recover_stuck(older_than=older_than)
        results = [send_welcome_message.call(pk) for pk in outbox_due(WelcomeMessage)]
        sent, failed = results.count("sent"), results.count("failed")
        line = f"released {len(stuck.released)} stuck; sent {sent}, failed {failed}"
        if stuck.found_sent:
            line += f"; {len(stuck.found_sent)} stuck found sent by the provider, not sent again"
        if stuck.maybe_sent:
            line += f"; {len(stuck.maybe_sent)} stuck may not have been sent, left for staff to resend"
        if stuck.unchecked:
            line += f"; {len(stuck.unchecked)} stuck not checked (provider unreachable)"
        return line

    def _parent_emails(self, older_than: timedelta) -> str:
        released = parent_emails_release_stuck(older_than=older_than)
        results = [send_parent_account_email.call(pk) for pk in outbox_due(ParentAccountEmail)]
        if not released and not results:
            return ""
        return (
            f"parent account emails: released {len(released)} stuck; "
            f"sent {results.count('sent')}, failed {results.count('failed')}"
        )
