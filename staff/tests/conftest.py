import pytest

from staff.tests.factories import TherapistFactory


@pytest.fixture
def therapist(db):
    return TherapistFactory()
