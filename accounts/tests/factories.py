import re

import factory
import factory.random
import pyotp
from django.utils import timezone

from accounts.mfa import encrypt_secret
from accounts.models import MfaDevice, User
from accounts.roles import Role

# One seed for factory_boy and Faker: a run's names and numbers are the same every time, so a failure reproduces.
factory.random.reseed_random("manas360")


def _local_part(*names: str) -> str:
    return ".".join(re.sub(r"[^a-z0-9]", "", name.lower()) or "user" for name in names)


class UserFactory(factory.django.DjangoModelFactory):
    """A verified patient with an Indian name, a unique email and a unique Indian mobile number.

    Names come from Faker (`en_IN`); the email and the phone number carry the factory's sequence number as well,
    because both columns are unique and random values could collide between two users of one test. Traits:
    `admin`, `therapist`, `unverified`, `suspended`, `deleted`; `password="..."` sets a usable password,
    `created_at=...` backdates the account.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        admin = factory.Trait(role=Role.ADMIN, is_staff=True)
        therapist = factory.Trait(role=Role.THERAPIST, is_verified=False)
        unverified = factory.Trait(is_verified=False)
        suspended = factory.Trait(is_active=False)
        deleted = factory.Trait(deleted_at=factory.LazyFunction(timezone.now))

    first_name = factory.Faker("first_name", locale="en_IN")
    last_name = factory.Faker("last_name", locale="en_IN")
    email = factory.LazyAttributeSequence(lambda o, n: f"{_local_part(o.first_name, o.last_name)}.{n}@example.com")
    # E.164 as the API stores it: +91, a mobile number starting 98, eight more digits.
    phone_number = factory.Sequence(lambda n: f"+9198{n:08d}")
    role = Role.PATIENT
    is_verified = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        if extracted:
            self.set_password(extracted)
        else:
            self.set_unusable_password()
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def created_at(self, create, extracted, **kwargs):
        """`created_at=...` backdates the account (the column is auto_now_add, so it is moved after the insert)."""
        if extracted is not None and create:
            User.objects.filter(pk=self.pk).update(created_at=extracted)
            self.created_at = extracted


class AdminFactory(UserFactory):
    admin = True


class MfaDeviceFactory(factory.django.DjangoModelFactory):
    """An enabled authenticator for an admin: `secret=` (base32) is stored encrypted, as enrolment stores it;
    `secret_encrypted=` writes the column as given (another key, a legacy derivation)."""

    class Meta:
        model = MfaDevice

    class Params:
        secret = factory.LazyFunction(pyotp.random_base32)

    user = factory.SubFactory(AdminFactory)
    secret_encrypted = factory.LazyAttribute(lambda o: encrypt_secret(o.secret))
    is_enabled = True
