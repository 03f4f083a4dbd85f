import uuid
from typing import Any, ClassVar, NoReturn

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q

from accounts.roles import Permission, Role


class UserQuerySet(models.QuerySet["User"]):
    def alive(self) -> "UserQuerySet":
        return self.filter(deleted_at__isnull=True)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(
        self, *, email: str | None = None, phone_number: str | None = None, password: str | None = None, **fields: Any
    ) -> "User":
        email = self.normalize_email(email).lower() if email else None
        user = self.model(email=email, phone_number=phone_number or None, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user

    # The queryset's methods, spelled out rather than through from_queryset(), which the type checker cannot follow.
    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def alive(self) -> UserQuerySet:
        return self.get_queryset().alive()

    def create_superuser(self, email: str, password: str | None, **fields: Any) -> "User":
        fields.setdefault("role", Role.ADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("is_verified", True)
        return self.create_user(email=email, password=password, **fields)


class User(AbstractBaseUser):
    """A person using MANAS360: patient, therapist, staff or an enterprise account.

    Either email or phone number identifies the user (both may be present; a
    soft-deleted user has both scrubbed).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(null=True, blank=True, unique=True, help_text="Stored lower-cased.")
    phone_number = models.CharField(
        max_length=20, null=True, blank=True, unique=True, help_text="E.164, e.g. +919876543210"
    )
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT, db_index=True)
    is_active = models.BooleanField(default=True, help_text="Unset to suspend: every session stops at once.")
    is_verified = models.BooleanField(default=False)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin site.")
    is_superuser = models.BooleanField(default=False)
    bio = models.TextField(blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="Asia/Kolkata")
    language = models.CharField(max_length=10, blank=True, default="en")
    profile_picture_url = models.URLField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone_number__isnull=False) | Q(deleted_at__isnull=False),
                name="user_has_email_or_phone",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.phone_number or str(self.id)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    # Django admin site permissions: staff flag gates entry, superuser gets all.
    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and (self.is_superuser or (self.is_staff and self.role == Role.ADMIN))

    def has_module_perms(self, app_label: str) -> bool:
        return self.has_perm(app_label)


class RolePermission(models.Model):
    """Grant of a named permission to a role (seeded from accounts.roles.ROLE_PERMISSIONS)."""

    role = models.CharField(max_length=20, choices=Role.choices)
    permission = models.CharField(max_length=50, choices=Permission.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "permission"], name="role_permission_unique")]

    def __str__(self) -> str:
        return f"{self.role}: {self.permission}"


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("The audit log is append-only.")


class AuditLog(models.Model):
    """Who did what to which resource, with before/after values. Append-only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    resource_type = models.CharField(max_length=64, blank=True, default="", db_index=True)
    resource_id = models.CharField(max_length=64, blank=True, default="")
    changes = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp"]
        indexes = [models.Index(fields=["resource_type", "resource_id"])]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The audit log is append-only.")


# --- Sessions and refresh tokens (docs/api.md §1, §2, §11 "Refresh") ------------------------------------


class AuthSessionQuerySet(models.QuerySet["AuthSession"]):
    def live(self) -> "AuthSessionQuerySet":
        return self.filter(revoked_at__isnull=True)


class AuthSession(models.Model):
    """One sign-in on one device: the family of its rotating refresh tokens.

    Access tokens carry this row's id as `sid`; every authenticated request checks
    that the session is not revoked, so logout, suspension and reuse detection
    take effect at once. `mfa_completed` is the session's MFA state (admins).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True, default="")
    mfa_completed = models.BooleanField(default=False)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuthSessionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class RefreshToken(models.Model):
    """A single-use refresh token, stored as its SHA-256 (never the token itself)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(AuthSession, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"refresh token {self.id}"


# --- One-time passwords (docs/api.md §2, §11 "OTP") --------------------------------------------------------


class OtpChallenge(models.Model):
    """One OTP sent to one identifier (E.164 phone number or lower-cased email).

    Only an HMAC-SHA256 of the code is stored. The newest challenge of an
    identifier is the only one that can succeed; sending a new one invalidates it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identifier = models.CharField(max_length=254, db_index=True)
    channel = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["identifier", "-created_at"])]

    def __str__(self) -> str:
        return f"otp {self.id}"


class OtpDeliveryAttempt(models.Model):
    """One try at delivering a code through one provider (docs/auth.md "Delivery").

    Never the code, never the full recipient: a masked form for people and a keyed hash (HMAC-SHA256 with
    SECRET_KEY, `accounts.otp_delivery.recipient_key`) to find one person's attempts. `provider_error_code`
    is the provider's own code for a refusal (Graph's `error.code`, MSG91's `code`, the SMTP reply code).
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in"
        EMAIL_CHANGE = "email_change"

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp"
        SMS = "sms"
        EMAIL = "email"

    class Outcome(models.TextChoices):
        SENT = "sent"
        FAILED = "failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    provider = models.CharField(max_length=32)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    provider_error_code = models.CharField(max_length=64, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    recipient_masked = models.CharField(max_length=64)
    recipient_key = models.CharField(max_length=64, db_index=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=["sign_in", "email_change"]), name="otp_attempt_purpose"),
            models.CheckConstraint(condition=Q(channel__in=["whatsapp", "sms", "email"]), name="otp_attempt_channel"),
            # A refusal always names the provider's code; an accepted message never carries one.
            models.CheckConstraint(
                condition=(
                    Q(outcome="sent", provider_error_code="") | (Q(outcome="failed") & ~Q(provider_error_code=""))
                ),
                name="otp_attempt_outcome_code",
            ),
        ]

    def __str__(self) -> str:
        return f"otp delivery {self.pk} ({self.channel} {self.outcome})"


# --- Admin MFA (docs/api.md §2, §7, §11 "Admin MFA") -------------------------------------------------------


class MfaDevice(models.Model):
    """An admin's TOTP authenticator (RFC 6238). Secrets are stored encrypted (Fernet)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="mfa_device", primary_key=True)
    secret_encrypted = models.TextField(blank=True, default="")
    is_enabled = models.BooleanField(default=False)
    enabled_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True, help_text="Last accepted TOTP time step.")
    pending_secret_encrypted = models.TextField(blank=True, default="")
    pending_backup_code_hashes = models.JSONField(default=list, blank=True)
    pending_created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"MFA device of {self.user_id}"


class MfaBackupCode(models.Model):
    device = models.ForeignKey(MfaDevice, on_delete=models.CASCADE, related_name="backup_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code {self.pk}"


class MfaChallenge(models.Model):
    """The server side of an `mfaToken`: 5 minutes, single use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"mfa challenge {self.id}"


class LoginFailure(models.Model):
    """A failed admin password or MFA attempt, from one client address (docs/auth.md "Lockout").

    Five from one address within 15 minutes lock that address out of that account (the failure that reaches
    the threshold carries `locks_until`); the account itself stays open to every other address.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=32)
    # The client address as `manas360.api.client_ip` resolves it ("" when a service is called without one).
    ip_address = models.CharField(max_length=64, blank=True, default="")
    locks_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ip_address", "created_at"], name="loginfailure_user_ip_idx")]

    def __str__(self) -> str:
        return f"{self.reason} {self.created_at:%Y-%m-%d %H:%M:%S}"


# --- Self-service email change (docs/auth.md "Email change") --------------------------------------------


class EmailChangeRequest(models.Model):
    """A user's request to use `new_email`, pending until they confirm the code sent to that address.

    The address is not the user's until then: sign-in by email code, the profile and uniqueness all keep
    using `User.email`. There is deliberately no unique constraint on `new_email` (two people may ask for the
    same address; only one can prove it), so a request says nothing about who is registered. Only an
    HMAC-SHA256 of the code is stored; the newest request of a user is the only one that can succeed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_change_requests")
    new_email = models.EmailField()
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"email change {self.id}"
