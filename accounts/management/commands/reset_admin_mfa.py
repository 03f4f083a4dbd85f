"""`manage.py reset_admin_mfa <email> --reason "..."`: remove an admin's authenticator (lost device), audited."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.identifiers import normalise_email
from accounts.models import User
from accounts.services.staff_credentials import admin_mfa_reset
from manas360.api.errors import ApplicationError


class Command(BaseCommand):
    help = "Reset an admin's MFA: authenticator and backup codes removed, every session ended (audited)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit log), e.g. a ticket number.")

    def handle(self, *args, **options):
        email = normalise_email(options["email"])
        user = User.objects.filter(email=email).first() if email else None
        if user is None:
            raise CommandError("No account with this email address.")
        if not options["reason"].strip():
            raise CommandError("Give a reason.")
        try:
            ended = admin_mfa_reset(user=user, actor=None, reason=options["reason"].strip(), now=timezone.now())
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"MFA reset for {user.email}; {ended} session(s) ended. They sign in with their password and enrol again."
        )
