"""Create (or keep) the demo login and print it on the console."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "demo"


class Command(BaseCommand):
    help = (
        "Create the demo login (user 'demo', password kept in EOLABEL_DATA_DIR/demo-login.txt) and print it."
    )

    def handle(self, *args, **opts) -> None:
        secret_file = settings.DATA_DIR / "demo-login.txt"
        password = secret_file.read_text().strip() if secret_file.exists() else secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Demo login: user {USERNAME!r}, password {password!r}"))
