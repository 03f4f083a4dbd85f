"""`manage.py otp_provider_fakes [--port 8082] [--smtp-port 8025]`: local stand-ins for the OTP providers
(docs/auth.md "Local fakes"), like the PhonePe simulator.

One HTTP port serves the WhatsApp Cloud API and MSG91's Flow API; one SMTP port takes email. Each prints the
code it delivered on this console. They accept the credentials of the settings (the development defaults
match), so `make run` and compose deliver through them exactly as production delivers through the providers.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.otp_providers.fakes import start_otp_fakes
from accounts.otp_providers.fakes.state import FakeCredentials
from manas360.devservers import serve_until_stopped


class Command(BaseCommand):
    help = "Run the local fakes of the OTP providers (WhatsApp Cloud API, MSG91, SMTP); they print each code."

    def add_arguments(self, parser):
        parser.add_argument(
            "--port", type=int, default=None, help="HTTP port (default: the port of OTP_PROVIDER_FAKES_URL)."
        )
        parser.add_argument("--smtp-port", type=int, default=None, help="SMTP port (default: EMAIL_PORT).")
        parser.add_argument("--host", default="127.0.0.1", help="Loopback by default; never expose it.")

    def handle(self, *args, **options):
        port = (
            options["port"] if options["port"] is not None else (urlsplit(settings.OTP_PROVIDER_FAKES_URL).port or 80)
        )
        smtp_port = options["smtp_port"] if options["smtp_port"] is not None else settings.EMAIL_PORT
        credentials = FakeCredentials(
            whatsapp_phone_number_id=settings.OTP_WHATSAPP_PHONE_NUMBER_ID,
            whatsapp_token=settings.OTP_WHATSAPP_ACCESS_TOKEN,
            whatsapp_template=settings.OTP_WHATSAPP_TEMPLATE_NAME,
            msg91_auth_key=settings.OTP_MSG91_AUTH_KEY,
            msg91_template_id=settings.OTP_MSG91_TEMPLATE_ID,
            msg91_code_variable=settings.OTP_MSG91_CODE_VARIABLE,
            smtp_user=settings.EMAIL_HOST_USER,
            smtp_password=settings.EMAIL_HOST_PASSWORD,
        )
        fakes = start_otp_fakes(host=options["host"], port=port, smtp_port=smtp_port, credentials=credentials)
        self.stdout.write(
            f"OTP provider fakes: WhatsApp Cloud API and MSG91 on http://{options['host']}:{fakes.port}, "
            f"SMTP on {options['host']}:{fakes.smtp_port}. Codes are printed here. Ctrl-C to stop."
        )
        self.stdout.write(
            f"Make the next WhatsApp message fail: curl -X POST http://127.0.0.1:{fakes.port}/fake/failures "
            '-d \'{"channel": "whatsapp"}\''
        )
        serve_until_stopped(fakes.stop)
