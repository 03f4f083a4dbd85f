"""The admin REST API (docs/api.md §7): role admin and a session whose MFA step is complete.

Thin views: validate the query or body, call one selector or service, serialize. Every write is audited by
the service it calls. Ids that are not UUIDs are 404, like unknown ids.
"""

from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_context_from_request
from accounts.permissions import IsAdminWithMfa
from accounts.roles import Role
from manas360.api.clock import request_now
from manas360.api.input import validated_body, validated_query
from manas360.api.pagination import paginated_response
from staff import selectors, services
from staff.serializers import (
    AdminMetricsSerializer,
    AdminPaymentRowSerializer,
    AdminSubscriptionRowSerializer,
    AdminUserDeletedSerializer,
    AdminUserDetailSerializer,
    AdminUserListQuerySerializer,
    AdminUserListRowSerializer,
    AdminUserRowSerializer,
    AdminUserUpdateSerializer,
    AuditLogListQuerySerializer,
    AuditLogRowSerializer,
    PaymentListQuerySerializer,
    ReasonSerializer,
    SubscriptionCancelSerializer,
    SubscriptionListQuerySerializer,
    TherapistListQuerySerializer,
    TherapistVerifySerializer,
    page_of,
)


def _user_detail(request, user_id) -> dict:
    """The admin's view of one user, everything read at the request's `now`."""
    now = request_now(request)
    user = selectors.admin_user_get(user_id=user_id, now=now)
    context = {
        "now": now,
        "activity": selectors.admin_user_activity(user=user),
        "subscriptions": selectors.admin_user_subscriptions(user=user),
    }
    return AdminUserDetailSerializer(user, context=context).data


class StaffAPIView(APIView):
    permission_classes = [IsAdminWithMfa]


def _query_parameters(serializer_class) -> list[OpenApiParameter]:
    parameters = []
    for name, field in serializer_class().fields.items():
        parameters.append(
            OpenApiParameter(
                camelize_re.sub(underscore_to_camel, name), str, required=False, description=str(field.help_text or "")
            )
        )
    parameters += [OpenApiParameter("page", int, required=False), OpenApiParameter("limit", int, required=False)]
    return parameters


class AdminUserListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_users_list",
        parameters=_query_parameters(AdminUserListQuerySerializer),
        responses=page_of(AdminUserListRowSerializer, name="AdminUserPage"),
    )
    def get(self, request):
        filters = validated_query(AdminUserListQuerySerializer, request)
        now = request_now(request)
        return paginated_response(
            request, selectors.admin_user_list(now=now, **filters), AdminUserListRowSerializer, context={"now": now}
        )


class AdminUserDetailView(StaffAPIView):
    @extend_schema(
        operation_id="admin_users_retrieve",
        responses=AdminUserDetailSerializer,
    )
    def get(self, request, user_id):
        return Response(_user_detail(request, user_id))

    @extend_schema(
        operation_id="admin_users_update",
        request=AdminUserUpdateSerializer,
        responses=AdminUserDetailSerializer,
    )
    def patch(self, request, user_id):
        selectors.admin_user_get(user_id=user_id, now=request_now(request))  # 404 before 400 for unknown ids
        changes = validated_body(AdminUserUpdateSerializer, request)
        user = services.admin_user_update(
            actor=request.user,
            user_id=user_id,
            now=request_now(request),
            **changes,
            **audit_context_from_request(request),
        )
        return Response(_user_detail(request, user.pk))

    @extend_schema(
        operation_id="admin_users_destroy",
        request=None,
        responses=AdminUserDeletedSerializer,
    )
    def delete(self, request, user_id):
        services.admin_user_delete(
            actor=request.user, user_id=user_id, now=request_now(request), **audit_context_from_request(request)
        )
        return Response(AdminUserDeletedSerializer({"id": user_id, "deleted": True}).data)


class AdminUserSuspendView(StaffAPIView):
    @extend_schema(
        operation_id="admin_users_suspend",
        request=ReasonSerializer,
        responses=AdminUserDetailSerializer,
    )
    def put(self, request, user_id):
        reason = validated_body(ReasonSerializer, request)["reason"]
        user = services.admin_user_suspend(
            actor=request.user,
            user_id=user_id,
            reason=reason,
            now=request_now(request),
            **audit_context_from_request(request),
        )
        return Response(_user_detail(request, user.pk))

    @extend_schema(
        operation_id="admin_users_reinstate",
        request=None,
        responses=AdminUserDetailSerializer,
    )
    def delete(self, request, user_id):
        user = services.admin_user_reinstate(
            actor=request.user, user_id=user_id, now=request_now(request), **audit_context_from_request(request)
        )
        return Response(_user_detail(request, user.pk))


class AdminTherapistListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_therapists_list",
        parameters=_query_parameters(TherapistListQuerySerializer),
        responses=page_of(AdminUserRowSerializer, name="AdminTherapistPage"),
    )
    def get(self, request):
        filters = validated_query(TherapistListQuerySerializer, request)
        now = request_now(request)
        queryset = selectors.admin_user_list(now=now, role=Role.THERAPIST, **filters)
        return paginated_response(request, queryset, AdminUserRowSerializer, context={"now": now})


class AdminTherapistVerifyView(StaffAPIView):
    @extend_schema(
        operation_id="admin_therapists_verify",
        request=TherapistVerifySerializer,
        responses=AdminUserRowSerializer,
    )
    def patch(self, request, user_id):
        selectors.admin_user_get(user_id=user_id, now=request_now(request))
        verdict = validated_body(TherapistVerifySerializer, request)
        user = services.admin_therapist_verify(
            actor=request.user, user_id=user_id, **verdict, **audit_context_from_request(request)
        )
        return Response(
            AdminUserRowSerializer(
                selectors.admin_user_get(user_id=user.pk, now=request_now(request)),
                context={"now": request_now(request)},
            ).data
        )


class AdminSubscriptionListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_subscriptions_list",
        parameters=_query_parameters(SubscriptionListQuerySerializer),
        responses=page_of(AdminSubscriptionRowSerializer, name="AdminSubscriptionPage"),
    )
    def get(self, request):
        filters = validated_query(SubscriptionListQuerySerializer, request)
        return paginated_response(
            request,
            selectors.admin_subscription_list(**filters),
            AdminSubscriptionRowSerializer,
            context={"now": request_now(request)},
        )


class AdminSubscriptionCancelView(StaffAPIView):
    @extend_schema(
        operation_id="admin_subscriptions_cancel",
        request=SubscriptionCancelSerializer,
        responses=AdminSubscriptionRowSerializer,
    )
    def patch(self, request, subscription_id):
        selectors.admin_subscription_get(subscription_id=subscription_id)
        subscription = services.admin_subscription_cancel(
            actor=request.user,
            subscription_id=subscription_id,
            now=request_now(request),
            **validated_body(SubscriptionCancelSerializer, request),
            **audit_context_from_request(request),
        )
        subscription = selectors.admin_subscription_get(subscription_id=subscription.pk)
        return Response(AdminSubscriptionRowSerializer(subscription, context={"now": request_now(request)}).data)


class AdminPaymentListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_payments_list",
        parameters=[
            OpenApiParameter("status", str, required=False),
            OpenApiParameter("from", str, required=False, description="YYYY-MM-DD or ISO date-time, inclusive"),
            OpenApiParameter("to", str, required=False, description="YYYY-MM-DD or ISO date-time, inclusive"),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("limit", int, required=False),
        ],
        responses=page_of(AdminPaymentRowSerializer, name="AdminPaymentPage"),
    )
    def get(self, request):
        filters = validated_query(PaymentListQuerySerializer, request)
        return paginated_response(request, selectors.admin_payment_list(**filters), AdminPaymentRowSerializer)


class AdminMetricsView(StaffAPIView):
    @extend_schema(
        operation_id="admin_metrics_retrieve",
        responses=AdminMetricsSerializer,
    )
    def get(self, request):
        return Response(AdminMetricsSerializer(selectors.admin_platform_metrics(now=request_now(request))).data)


class AdminAuditLogListView(StaffAPIView):
    @extend_schema(
        operation_id="admin_audit_logs_list",
        parameters=[
            OpenApiParameter("action", str, required=False, description="Exact, or a prefix ending in `.` or `*`"),
            OpenApiParameter("actor", str, required=False, description="Actor user id or email"),
            OpenApiParameter("resource", str, required=False, description="Resource type (user, subscription, ...)"),
            OpenApiParameter("resourceId", str, required=False),
            OpenApiParameter("from", str, required=False, description="YYYY-MM-DD or ISO date-time, inclusive"),
            OpenApiParameter("to", str, required=False, description="YYYY-MM-DD or ISO date-time, inclusive"),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("limit", int, required=False),
        ],
        responses=page_of(AuditLogRowSerializer, name="AuditLogPage"),
    )
    def get(self, request):
        filters = validated_query(AuditLogListQuerySerializer, request)
        return paginated_response(request, selectors.admin_audit_log_list(**filters), AuditLogRowSerializer)
