"""Subscriptions API (docs/api.md §4). Thin views: validate, call a service or selector, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_context_from_request
from accounts.permissions import is_admin_with_mfa
from manas360.api.clock import request_now
from manas360.api.errors import Forbidden
from manas360.api.input import validated_body
from manas360.api.pagination import paginated_response
from manas360.api.responses import success_response
from payments.views import payment_create_response
from subscriptions import selectors, services
from subscriptions.errors import NoActiveSubscription
from subscriptions.serializers import CancelSerializer, PlanSerializer, SubscriptionSerializer, UpgradeSerializer


class PlanListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PlanSerializer(many=True))
    def get(self, request):
        return Response(PlanSerializer(selectors.plan_list_public(), many=True).data)


class CurrentSubscriptionView(APIView):
    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request):
        now = request_now(request)
        subscription = selectors.subscription_get_current(user=request.user, now=now)
        data = SubscriptionSerializer(subscription, context={"now": now}).data if subscription is not None else None
        return success_response(data, subscription=data)


class ActiveSubscriptionView(APIView):
    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request):
        now = request_now(request)
        subscription = selectors.subscription_get_active(user=request.user, now=now)
        if subscription is None:
            raise NoActiveSubscription()
        data = SubscriptionSerializer(subscription, context={"now": now}).data
        return success_response(data, subscription=data)


class SubscriptionHistoryView(APIView):
    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request):
        return paginated_response(
            request,
            selectors.subscription_list(user=request.user),
            SubscriptionSerializer,
            context={"now": request_now(request)},
        )


def _cancel_response(request, *, subscription_id, payload) -> Response:
    subscription = services.subscription_cancel(
        subscription_id=subscription_id,
        actor=request.user,
        reason=payload.get("reason") or "",
        immediate=payload.get("immediate", False),
        now=request_now(request),
        **audit_context_from_request(request),
    )
    data = SubscriptionSerializer(subscription, context={"now": request_now(request)}).data
    return success_response(data, message="Subscription cancelled.", subscription=data)


class SubscriptionCancelByIdView(APIView):
    @extend_schema(request=CancelSerializer, responses=SubscriptionSerializer)
    def patch(self, request, subscription_id):
        payload = validated_body(CancelSerializer, request)
        admin = is_admin_with_mfa(request)
        if payload.get("immediate") and not admin:
            raise Forbidden("Only an admin can cancel a subscription immediately.")
        subscription = selectors.subscription_get(subscription_id=subscription_id, user=request.user, is_admin=admin)
        return _cancel_response(request, subscription_id=subscription.pk, payload=payload)


class SubscriptionCancelView(APIView):
    @extend_schema(request=CancelSerializer, responses=SubscriptionSerializer)
    def post(self, request):
        payload = validated_body(CancelSerializer, request)
        if payload.get("immediate") and not is_admin_with_mfa(request):
            raise Forbidden("Only an admin can cancel a subscription immediately.")
        active = selectors.subscription_get_active(user=request.user, now=request_now(request))
        if active is None:
            raise NoActiveSubscription()
        return _cancel_response(request, subscription_id=active.pk, payload=payload)


class SubscriptionUpgradeView(APIView):
    @extend_schema(
        request=UpgradeSerializer,
        responses={201: SubscriptionSerializer},
    )
    def post(self, request):
        plan = services.plan_resolve(plan_identifier=validated_body(UpgradeSerializer, request)["plan_id"])
        if not plan.is_free:
            return payment_create_response(request, plan_identifier=plan.code)
        now = request_now(request)
        subscription = services.subscription_activate_free(user=request.user, plan=plan, now=now)
        data = SubscriptionSerializer(subscription, context={"now": now}).data
        return success_response(data, message="Subscription activated.", status=201, subscription=data)
