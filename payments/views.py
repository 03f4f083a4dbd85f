"""Payments API (docs/api.md §5). Thin views: validate, call a service or selector, serialize."""

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_context_from_request
from accounts.permissions import IsAdminWithMfa, is_admin_with_mfa
from manas360.api.clock import request_now
from manas360.api.input import validated_body
from manas360.api.pagination import paginated_response
from manas360.api.responses import success_response
from payments import selectors, services
from payments.serializers import (
    PaymentCreateSerializer,
    PaymentSerializer,
    RefundRequestSerializer,
    RefundSerializer,
    WebhookAckSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="Same key, same user: same payment."
)


def payment_create_response(request, *, plan_identifier, amount=None, currency=None) -> Response:
    """Shared by POST /payments/create and POST /subscriptions/upgrade (paid plans)."""
    now = request_now(request)
    creation = services.payment_create(
        user=request.user,
        now=now,
        plan_identifier=plan_identifier,
        amount_rupees=amount,
        currency=currency,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    data = PaymentSerializer(creation.payment, context={"now": now}).data
    return success_response(
        data,
        message="Payment initiated." if creation.created else "Payment already initiated with this Idempotency-Key.",
        status=201 if creation.created else 200,
        # The dead web-client code reads the checkout URL at the top level (docs/web-client.md call d4).
        redirect_url=data["redirect_url"],
    )


class PaymentCreateView(APIView):
    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request):
        order = validated_body(PaymentCreateSerializer, request)
        return payment_create_response(
            request, plan_identifier=order["plan_id"], amount=order.get("amount"), currency=order.get("currency")
        )


class PaymentListView(APIView):
    @extend_schema(responses=PaymentSerializer(many=True))
    def get(self, request):
        return paginated_response(
            request,
            selectors.payment_list(user=request.user),
            PaymentSerializer,
            context={"now": request_now(request)},
        )


class PaymentDetailView(APIView):
    @extend_schema(responses=PaymentSerializer)
    def get(self, request, transaction_id):
        admin = is_admin_with_mfa(request)
        payment = selectors.payment_get(transaction_id=transaction_id, user=request.user, is_admin=admin)
        if services.payment_reconcile_if_stale(payment=payment, now=request_now(request)):
            payment = selectors.payment_get(transaction_id=payment.merchant_order_id, user=request.user, is_admin=admin)
        return Response(PaymentSerializer(payment, context={"now": request_now(request)}).data)


@method_decorator(csrf_exempt, name="dispatch")
class PaymentWebhookView(APIView):
    """PhonePe's server-to-server callback. Authenticated by PhonePe's header, not by our auth."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(request=None, responses={200: WebhookAckSerializer})
    def post(self, request):
        result = services.payment_webhook_process(
            raw_body=request.body, authorization=request.headers.get("Authorization"), now=request_now(request)
        )
        return success_response(
            WebhookAckSerializer(result).data,
            message="Duplicate event acknowledged." if result.duplicate else "Webhook processed.",
        )


class AdminPaymentRefundView(APIView):
    permission_classes = [IsAdminWithMfa]

    @extend_schema(request=RefundRequestSerializer, responses={202: PaymentSerializer})
    def post(self, request, payment_id):
        refund = services.payment_refund(
            payment_id=payment_id,
            actor=request.user,
            now=request_now(request),
            reason=validated_body(RefundRequestSerializer, request).get("reason") or "",
            **audit_context_from_request(request),
        )
        payment = selectors.payment_get(transaction_id=str(refund.payment_id), user=request.user, is_admin=True)
        data = PaymentSerializer(payment, context={"now": request_now(request)}).data
        data["refund"] = RefundSerializer(refund).data
        return success_response(data, message="Refund requested.", status=202)
