"""`manage.py rotate_mfa_encryption_key`: re-encrypt every stored admin TOTP secret with the newest key.

Rotation (docs/auth.md "MFA secrets at rest"): put the new key first in MFA_ENCRYPTION_KEY
(`new,old`), restart, run this command, then drop the old key. Secrets written by earlier versions with the
key derived from SECRET_KEY are read too (pass --no-legacy to refuse them).
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.mfa import mfa_secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt the admins' stored TOTP secrets with the first (newest) MFA_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-legacy",
            action="store_true",
            help="Do not read secrets encrypted with the old key derived from SECRET_KEY.",
        )

    def handle(self, *args, **options):
        result = mfa_secrets_reencrypt(with_legacy=not options["no_legacy"])
        self.stdout.write(f"Re-encrypted {result.reencrypted} MFA device(s) with the newest key.")
        if result.unreadable:
            raise CommandError(
                "No configured key opens the stored secret of these users (keep their old key in "
                f"MFA_ENCRYPTION_KEY, or reset their MFA with reset_admin_mfa): {', '.join(result.unreadable)}"
            )
