from accounts.tests.otp_fakes import otp_fakes  # noqa: F401  (the OTP provider fakes, accounts/tests/otp_fakes.py)
