"""The user's Autopay controls: see (GET), turn on (POST, a new setup), turn off (DELETE)."""

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from accounts.audit import audit_context_from_request
from autopay import selectors, services
from autopay.serializers import AutopaySetupSerializer, MandateSerializer
from manas360.api.clock import request_now
from manas360.api.input import validated_body
from manas360.api.responses import success_response


class AutopayView(APIView):
    @extend_schema(responses=MandateSerializer)
    def get(self, request):
        mandate = selectors.mandate_get_current(user=request.user)
        data = MandateSerializer(mandate).data if mandate is not None else None
        return success_response(data, mandate=data)

    @extend_schema(request=AutopaySetupSerializer, responses={201: MandateSerializer})
    def post(self, request):
        mandate = services.mandate_setup(
            user=request.user,
            plan_identifier=validated_body(AutopaySetupSerializer, request)["plan_id"],
            now=request_now(request),
            **audit_context_from_request(request),
        )
        data = MandateSerializer(mandate).data
        return success_response(data, status=201, mandate=data, redirect_url=data["redirect_url"])

    @extend_schema(responses=MandateSerializer)
    def delete(self, request):
        mandate = services.mandate_turn_off(
            user=request.user, now=request_now(request), **audit_context_from_request(request)
        )
        data = MandateSerializer(mandate).data
        return success_response(data, message="Autopay turned off.", mandate=data)
