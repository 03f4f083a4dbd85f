"""`manage.py createadmin --email ... --password ...`: create (or update) an API admin."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.identifiers import normalise_email
from accounts.models import User
from accounts.roles import Role


class Command(BaseCommand):
    help = "Create an admin who signs in at POST /api/v1/auth/admin-login (then enrols TOTP MFA)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--skip-password-validation", action="store_true")

    @transaction.atomic
    def handle(self, *args, **options):
        email = normalise_email(options["email"])
        if email is None:
            raise CommandError("Enter a valid email address.")
        password = options["password"]
        existing = User.objects.filter(email=email).first()
        if not options["skip_password_validation"]:
            try:
                validate_password(password, user=existing)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        fields = {
            "role": Role.ADMIN,
            "is_staff": True,
            "is_superuser": True,
            "is_verified": True,
            "is_active": True,
            "first_name": options["first_name"],
            "last_name": options["last_name"],
        }
        if existing is None:
            user = User.objects.create_user(email=email, password=password, **fields)
            self.stdout.write(self.style.SUCCESS(f"Created admin {user.email}."))
        else:
            for field, value in fields.items():
                if field in ("first_name", "last_name") and not value:
                    continue
                setattr(existing, field, value)
            existing.set_password(password)
            existing.save()
            self.stdout.write(self.style.SUCCESS(f"Updated {existing.email}: role admin, new password."))
        self.stdout.write(
            "Next: enrol MFA. Sign in with POST /api/v1/auth/admin-login {email, password} (a restricted session),\n"
            "then POST /api/v1/admin/mfa/generate-secret, scan the QR code (or enter the secret) in an authenticator\n"
            "app, and confirm with POST /api/v1/admin/mfa/enable {mfaCode}. Keep the backup codes somewhere safe.\n"
            "In the web app: Admin login, then Settings, Enable MFA."
        )
