from django.core.management.base import BaseCommand

from ratelimits.limits import hits_prune


class Command(BaseCommand):
    help = "Delete counted tries older than the longest rate-limit window (run hourly, like clearsessions)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {hits_prune()} counted tries.")
