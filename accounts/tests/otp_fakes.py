"""The OTP provider fakes from a test: `otp_fakes` starts them on free ports and points the settings at them
(the production ProviderChannel, WhatsApp then SMS, email by SMTP). Import the fixture in a conftest."""

from collections.abc import Iterator

import pytest

from accounts.otp_providers.fakes import OtpFakes, start_otp_fakes


@pytest.fixture
def otp_fakes(settings) -> Iterator[OtpFakes]:
    fakes = start_otp_fakes(echo=False)
    for name, value in fakes.settings().items():
        setattr(settings, name, value)
    settings.OTP_PHONE_CHANNELS = ["whatsapp", "sms"]
    try:
        yield fakes
    finally:
        fakes.stop()
