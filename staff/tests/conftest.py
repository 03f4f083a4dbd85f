import pytest

from staff.tests.factories import TherapistFactory


@pytest.fixture
def therapist(db):
    return TherapistFactory()


@pytest.fixture
def staff_admin(db):
    """(user, password, secret) of a staff admin with an enrolled TOTP secret (staff.tests.helpers)."""
    from staff.tests.helpers import staff_admin_with_totp

    return staff_admin_with_totp()
