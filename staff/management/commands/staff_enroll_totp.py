"""`manage.py staff_enroll_totp <email>` then `manage.py staff_enroll_totp <email> --confirm <code>`.

Enrols the admin's TOTP authenticator from a shell, for operators who cannot use the web admin's Settings
screen. It is the same enrolment as `POST /api/v1/admin/mfa/generate-secret` + `/enable` (accounts.mfa), so
the secret works for the API's admin login and for the Django admin site alike.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.mfa import mfa_enable, mfa_generate_secret, mfa_status
from accounts.models import User
from accounts.roles import Role
from manas360.api.errors import ApplicationError


class Command(BaseCommand):
    help = "Enrol an admin's TOTP authenticator (step 1: print a secret; step 2: --confirm <code>)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--confirm", metavar="CODE", help="A current code from the authenticator app.")

    def handle(self, *args, email, confirm=None, **options):
        user = User.objects.alive().filter(email=email.strip().lower()).first()
        if user is None or user.role != Role.ADMIN:
            raise CommandError(f"No admin with the email {email}.")
        try:
            if confirm is None:
                self._start(user)
            else:
                mfa_enable(
                    user=user,
                    session=None,
                    mfa_code=confirm,
                    now=timezone.now(),
                    user_agent="manage.py staff_enroll_totp",
                )
                self.stdout.write(self.style.SUCCESS(f"TOTP enabled for {user.email}."))
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if not user.is_staff:
            self.stdout.write(self.style.WARNING("This admin is not staff (is_staff): the /admin/ site refuses them."))

    def _start(self, user):
        if mfa_status(user=user)["mfa_enabled"]:
            raise CommandError("TOTP is already enabled for this admin. Disable it first to enrol a new device.")
        enrolment = mfa_generate_secret(user=user, now=timezone.now())
        self.stdout.write(f"Secret (base32): {enrolment['secret']}")
        self.stdout.write(f"otpauth URL:     {enrolment['otpauth_url']}")
        self.stdout.write("Backup codes (each works once; store them safely, they are not shown again):")
        for code in enrolment["backup_codes"]:
            self.stdout.write(f"  {code}")
        self.stdout.write("Add the secret to an authenticator app, then run:")
        self.stdout.write(f"  manage.py staff_enroll_totp {user.email} --confirm <code>")
