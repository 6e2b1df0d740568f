from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from analytics.selectors import practice_today
from analytics.services import RECOMPUTE_DAYS, rollups_compute
from practices.models import Practice


class Command(BaseCommand):
    help = "Recompute analytics rollups from the records for a range of past days (default: the last 90)."

    def add_arguments(self, parser):
        parser.add_argument("--practice", help="The practice's slug (default: every practice).")
        parser.add_argument("--start", type=date.fromisoformat, help="First day, YYYY-MM-DD.")
        parser.add_argument("--end", type=date.fromisoformat, help="Last day, YYYY-MM-DD (default: yesterday).")

    def handle(self, *args, practice=None, start=None, end=None, **options):
        practices = Practice.objects.all()
        if practice:
            practices = practices.filter(slug=practice)
            if not practices.exists():
                raise CommandError(f"No practice with the slug {practice!r}.")
        for each in practices:
            last = end or practice_today(each) - timedelta(days=1)
            first = start or last - timedelta(days=RECOMPUTE_DAYS - 1)
            if first > last:
                raise CommandError("--start must not be after --end.")
            rows = rollups_compute(practice=each, start=first, end=last)
            self.stdout.write(f"{each.slug}: {first} to {last}, {rows} rollup rows")
