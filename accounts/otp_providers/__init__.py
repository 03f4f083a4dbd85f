"""OTP senders for real providers (docs/auth.md "Delivery"), one module per provider protocol.

Each sender speaks its provider's own request shape with a timeout and raises `ProviderRefused` with the
provider's error code when the message was not accepted. `accounts.otp_delivery.ProviderChannel` chooses the
senders from settings, falls back from one to the next and records every attempt. `fakes/` holds local
servers that speak the same protocols (`manage.py otp_provider_fakes`).
"""
