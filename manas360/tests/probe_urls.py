"""The real URL configuration plus a few probe views that exercise the API plumbing."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from manas360.api.errors import Conflict
from manas360.api.pagination import PageLimitPagination


class EchoSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=20)
    count = serializers.IntegerField(min_value=1)


class EchoView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class CrashView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internal detail: password=hunter2")


class ConflictView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise Conflict("Already done.", code="already_done", extra={"current_state": "done"})


class ProtectedView(APIView):
    def get(self, request):
        return Response({"ok": True})


class DatabaseView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        from accounts.models import User

        return Response({"users": User.objects.count()})


class NumbersView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        paginator = PageLimitPagination()
        page = paginator.paginate_queryset(list(range(1, 46)), request, view=self)
        return paginator.get_paginated_response([{"value": number} for number in page])


urlpatterns = [
    path("api/v1/_probe/echo", EchoView.as_view()),
    path("api/v1/_probe/crash", CrashView.as_view()),
    path("api/v1/_probe/conflict", ConflictView.as_view()),
    path("api/v1/_probe/protected", ProtectedView.as_view()),
    path("api/v1/_probe/database", DatabaseView.as_view()),
    path("api/v1/_probe/numbers", NumbersView.as_view()),
    path("", include("manas360.urls")),
]
