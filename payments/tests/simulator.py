"""Starting the PhonePe simulator from a test (payments' own tests, the end-to-end and image tests)."""

from payments.phonepe.simulator import PhonePeSimulator, start_simulator


def start_test_simulator(settings) -> PhonePeSimulator:
    """A simulator on a free port that accepts the credentials our PhonePe client sends (settings.PHONEPE_*).

    Call `.stop()` when done; pointing the client at it (PHONEPE_PG_BASE_URL) is the caller's choice.
    """
    return start_simulator(
        port=0,
        client_id=settings.PHONEPE_CLIENT_ID,
        client_secret=settings.PHONEPE_CLIENT_SECRET,
        client_version=str(settings.PHONEPE_CLIENT_VERSION),
        webhook_username=settings.PHONEPE_WEBHOOK_USERNAME,
        webhook_password=settings.PHONEPE_WEBHOOK_PASSWORD,
    )
