from django.conf import settings
from django.core.management.base import BaseCommand

from practices.demo import DEMO_LOGINS, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo practice, Glow Aesthetics (safe to run again)."

    def handle(self, *args, **options):
        practice = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo practice ready: {practice.brand_name} (slug {practice.slug})."))
        self.stdout.write(f"Open {settings.PUBLIC_BASE_URL}/ and sign in with:")
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<11} username {login.username:<10} password {login.password}")
