import json

from django.core.management.base import BaseCommand, CommandError

from calls.receptionist.context import understand_for_practice
from practices.models import Practice


class Command(BaseCommand):
    help = "Show how the receptionist understands a message, as JSON."

    def add_arguments(self, parser):
        parser.add_argument("text")
        parser.add_argument("--practice", default="demo", help="The practice's slug (default: demo).")

    def handle(self, *args, text, practice, **options):
        found = Practice.objects.filter(slug=practice).first()
        if found is None:
            raise CommandError(f"No practice with slug {practice!r}.")
        understanding = understand_for_practice(found, text)
        self.stdout.write(json.dumps(understanding.as_dict(), indent=2, ensure_ascii=False))
