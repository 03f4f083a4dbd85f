"""`manage.py changepassword <email>`: change an admin's password through the audited service.

Replaces Django's command of the same name (accounts is listed before django.contrib.auth in INSTALLED_APPS
for this): Django's would set the password without an audit row and leave the admin's sessions open.
"""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.identifiers import normalise_email
from accounts.models import User
from accounts.services.staff_credentials import admin_password_change
from manas360.api.errors import ApplicationError


class Command(BaseCommand):
    help = "Change an admin's password (validated, audited, every session of the admin ended)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the new password from the first line of standard input (for scripts) instead of prompting.",
        )

    def handle(self, *args, **options):
        email = normalise_email(options["email"])
        user = User.objects.filter(email=email).first() if email else None
        if user is None:
            raise CommandError("No account with this email address.")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("New password: ")
            if password != getpass.getpass("New password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            ended = admin_password_change(
                user=user, new_password=password, actor=None, via="manage.py", now=timezone.now()
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Password changed for {user.email}; {ended} session(s) ended.")
