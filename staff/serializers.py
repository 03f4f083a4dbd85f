"""Shapes of the admin API (docs/api.md §7, §11). Output serializers read only prefetched data: no per-row queries.

Keys are snake_case here and the renderer camelizes them. The one snake_case key of the API is `created_at` on
`/admin/users` rows, which the web client reads as is (docs/web-client.md call 15): AdminUserListRowSerializer
adds it beside `createdAt`. Amounts: `amount` is rupees (display), `amountPaise` the exact integer.
"""

from datetime import datetime, timedelta

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from accounts.roles import Role
from manas360.api import dates
from manas360.api.keys import VerbatimKey
from manas360.money import rupees
from payments.models import PaymentStatus
from payments.serializers import ProductLabelField, ProductLabelledListSerializer
from subscriptions.models import SubscriptionStatus
from subscriptions.serializers import SubscriptionSerializer

USER_STATUSES = ("active", "suspended")
USER_SORTS = ("createdAt", "name", "email")


def user_status(user) -> str:
    return "active" if user.is_active else "suspended"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return serializers.DateTimeField().to_representation(value)


class UserBriefSerializer(serializers.Serializer):
    """`{id, fullName, email}` for rows that point at a user (never null strings)."""

    id = serializers.UUIDField()
    full_name = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()

    def get_full_name(self, user) -> str:
        return user.full_name or ""

    def get_email(self, user) -> str:
        return user.email or ""


# --- users ------------------------------------------------------------------------------------------------------


class AdminUserRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.SerializerMethodField()
    phone_number = serializers.CharField(allow_null=True, read_only=True)
    full_name = serializers.SerializerMethodField()
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    is_verified = serializers.BooleanField(read_only=True)
    status = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    subscription = serializers.SerializerMethodField()

    def get_email(self, user) -> str:
        return user.email or ""

    def get_full_name(self, user) -> str:
        return user.full_name or ""

    def get_status(self, user) -> str:
        return user_status(user)

    @extend_schema_field(SubscriptionSerializer(allow_null=True))
    def get_subscription(self, user) -> dict | None:
        """The current subscription, as the subscriptions API shows it (prefetched with its plan), or null."""
        current = getattr(user, "current_subscriptions", None)
        return SubscriptionSerializer(current[0], context={"now": self.context["now"]}).data if current else None


class AdminUserListRowSerializer(AdminUserRowSerializer):
    """A row of `GET /admin/users`: also `created_at`, the key the web app's user table reads."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # Both keys in one dict: a VerbatimKey equals its str, so the camelCase one is written out first.
        created_at = data.pop("created_at")
        data["createdAt"] = created_at
        data[VerbatimKey("created_at")] = created_at
        return data


class AdminUserDetailSerializer(AdminUserRowSerializer):
    is_staff = serializers.BooleanField(read_only=True)
    bio = serializers.CharField(read_only=True)
    timezone = serializers.CharField(read_only=True)
    language = serializers.CharField(read_only=True)
    profile_picture_url = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    last_login = serializers.DateTimeField(read_only=True, allow_null=True)
    subscriptions = serializers.SerializerMethodField()
    session_count = serializers.SerializerMethodField()
    completed_session_count = serializers.SerializerMethodField()
    total_minutes = serializers.SerializerMethodField()
    last_active = serializers.SerializerMethodField()
    active_login_sessions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_subscriptions(self, user) -> list:
        rows = AdminSubscriptionRowSerializer(
            self.context["subscriptions"], many=True, context={"now": self.context["now"]}
        )
        return list(rows.data)

    def get_session_count(self, user) -> int:
        return self.context["activity"].session_count

    def get_completed_session_count(self, user) -> int:
        return self.context["activity"].completed_session_count

    def get_total_minutes(self, user) -> int:
        return self.context["activity"].total_minutes

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_last_active(self, user) -> str | None:
        return _iso(self.context["activity"].last_active)

    def get_active_login_sessions(self, user) -> int:
        return self.context["activity"].active_login_sessions


# --- inputs -----------------------------------------------------------------------------------------------------


class AdminUserListQuerySerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    status = serializers.ChoiceField(choices=USER_STATUSES, required=False)
    sort_by = serializers.ChoiceField(choices=USER_SORTS, required=False, default="createdAt")
    order = serializers.ChoiceField(choices=("asc", "desc"), required=False, default="desc")
    verified = serializers.BooleanField(required=False, allow_null=True, default=None)


class AdminUserDeletedSerializer(serializers.Serializer):
    """The answer to DELETE /admin/users/:id: the id as the caller wrote it, and `deleted: true`."""

    id = serializers.CharField()
    deleted = serializers.BooleanField()


class AdminUserUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, trim_whitespace=True)
    name = serializers.CharField(max_length=201, required=False, allow_blank=True, trim_whitespace=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    status = serializers.ChoiceField(choices=USER_STATUSES, required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs):
        known = {"first_name", "last_name", "name", "role", "status"}
        unknown = sorted(set(self.initial_data) - known - {"reason"}) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({field: ["This field cannot be changed here."] for field in unknown})
        if not known & set(attrs):
            raise serializers.ValidationError("Send at least one of firstName, lastName, name, role, status.")
        if "name" in attrs:
            first, _, last = attrs.pop("name").partition(" ")
            attrs.setdefault("first_name", first.strip())
            attrs.setdefault("last_name", last.strip())
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TherapistVerifySerializer(serializers.Serializer):
    # The (dead) web client sends no body: no `verified` means "verify".
    verified = serializers.BooleanField(required=False, default=True)
    notes = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class TherapistListQuerySerializer(serializers.Serializer):
    verified = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    status = serializers.ChoiceField(choices=USER_STATUSES, required=False)


class SubscriptionCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    immediate = serializers.BooleanField(required=False, default=False)


class SubscriptionListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, required=False)
    plan = serializers.CharField(required=False, max_length=64)


class DateOrDateTimeField(serializers.Field):
    """`YYYY-MM-DD` (a whole UTC day) or an ISO 8601 date-time. `end=True` makes a date include its whole day.

    Parsed by `manas360.api.dates`, so a value out of range (`9999-12-31`) is a 400 like any other bad value.
    """

    default_error_messages = {"invalid": "Use YYYY-MM-DD or an ISO 8601 date-time ({reason})."}

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = str(data).strip()
        try:
            if len(text) == 10:
                day = dates.parse_day(text)
                return dates.end_of_day(day) if self.end else dates.start_of_day(day)
            moment = dates.parse_moment(text)
        except ValueError as exc:
            self.fail("invalid", reason=f"the value {exc}".rstrip("."))
        # A date-time bound is inclusive; the selectors compare with `<`, so move it by one microsecond.
        return moment + timedelta(microseconds=1) if self.end else moment

    def to_representation(self, value):
        return value.isoformat()


class DateRangeQuerySerializer(serializers.Serializer):
    """`?from=&to=` (both inclusive); validated as `created_from` / `created_to`."""

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = DateOrDateTimeField(required=False, source="created_from")
        fields["to"] = DateOrDateTimeField(required=False, end=True, source="created_to")
        return fields

    def validate(self, attrs):
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and end <= start:
            raise serializers.ValidationError({"to": ["`to` must not be before `from`."]})
        return attrs


class PaymentListQuerySerializer(DateRangeQuerySerializer):
    status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)


class AuditLogListQuerySerializer(DateRangeQuerySerializer):
    action = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(required=False, max_length=254)
    resource = serializers.CharField(required=False, max_length=64)
    resource_type = serializers.CharField(
        required=False, max_length=64, source="resource", help_text="Alias of resource."
    )
    resource_id = serializers.CharField(required=False, max_length=64)


# --- subscriptions, payments, audit ---------------------------------------------------------------------------


class AdminSubscriptionRowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    plan_id = serializers.CharField(source="plan.code")
    plan_name = serializers.CharField(source="plan.name")
    status = serializers.SerializerMethodField(help_text="The real status: an active row past its end is expired.")
    amount = serializers.SerializerMethodField(help_text="Plan price in rupees (display; amountPaise is exact).")
    amount_paise = serializers.IntegerField(source="plan.amount_paise", help_text="Plan price in paise.")
    currency = serializers.CharField(source="plan.currency")
    start_date = serializers.DateTimeField(allow_null=True)
    end_date = serializers.DateTimeField(allow_null=True)
    auto_renew = serializers.BooleanField()
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    user = UserBriefSerializer(allow_null=True)

    def get_status(self, subscription) -> str:
        return subscription.status_at(self.context["now"])

    def get_amount(self, subscription) -> float:
        return rupees(subscription.plan.amount_paise)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # The web client's (dead) subscriptions screen reads `User.{fullName,email}`.
        data["User"] = data["user"]
        return data


class AdminPaymentRowSerializer(serializers.Serializer):
    class Meta:
        list_serializer_class = ProductLabelledListSerializer

    id = serializers.UUIDField()
    transaction_id = serializers.CharField(source="merchant_order_id")
    order_id = serializers.CharField(source="gateway_order_id")
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.SerializerMethodField(help_text="Rupees (display; amountPaise is exact).")
    amount_paise = serializers.IntegerField(help_text="Paise.")
    currency = serializers.CharField()
    plan_id = ProductLabelField(part="id")
    plan_name = ProductLabelField(part="name")
    subscription_id = serializers.UUIDField(allow_null=True)
    payment_mode = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)
    user = UserBriefSerializer(allow_null=True)

    def get_amount(self, payment) -> float:
        return rupees(payment.amount_paise)


class AuditChangesSerializer(serializers.Serializer):
    before = serializers.DictField()
    after = serializers.DictField()


class AuditLogRowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    timestamp = serializers.DateTimeField()
    actor_id = serializers.UUIDField(allow_null=True)
    actor_email = serializers.CharField()
    action = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    changes = serializers.SerializerMethodField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()

    @extend_schema_field(AuditChangesSerializer)
    def get_changes(self, row) -> dict:
        changes = row.changes if isinstance(row.changes, dict) else {}
        return {"before": changes.get("before") or {}, "after": changes.get("after") or {}}


class MetricsUsersSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    patients = serializers.IntegerField()
    therapists = serializers.IntegerField()
    verified_therapists = serializers.IntegerField()


class MetricsSessionsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    completion_rate = serializers.FloatField(help_text="Per cent, one decimal.")


class MetricsSubscriptionsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    revenue = serializers.IntegerField(help_text="Successful payments, integer paise (as analytics' revenue).")

    currency = serializers.CharField()


class AdminMetricsSerializer(serializers.Serializer):
    users = MetricsUsersSerializer()
    sessions = MetricsSessionsSerializer()
    subscriptions = MetricsSubscriptionsSerializer()


# --- paginated list bodies (OpenAPI only: the view builds the body with PageLimitPagination) ---------------------


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    pages = serializers.IntegerField()


def page_of(row_serializer_class, *, name: str):
    return inline_serializer(
        name=name,
        fields={
            "success": serializers.BooleanField(),
            "data": row_serializer_class(many=True),
            "pagination": PaginationSerializer(),
        },
    )
