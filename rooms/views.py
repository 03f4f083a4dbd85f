"""Themed rooms API (docs/api.md §6). Thin: validate, call one selector or service, build the answer."""

from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from manas360.api.clock import request_now
from manas360.api.input import validated_body, validated_query
from manas360.api.pagination import PageLimitPagination, paginated_response
from rooms import catalogue, selectors, serializers, services
from rooms.models import ThemeTier


class ThemeListView(APIView):
    """The catalogue: public, but personalised (`locked`) when the caller is signed in."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("category", str),
            OpenApiParameter("tier", str, enum=ThemeTier.values),
            OpenApiParameter("search", str),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses=OpenApiTypes.OBJECT,
        operation_id="themed_rooms_themes_list",
    )
    def get(self, request):
        # Served through rooms.catalogue.answer_from_cache (rooms/urls.py): ETag, 304 and the page cache.
        filters = validated_query(serializers.ThemeListQuery, request)
        entitlements = selectors.caller_entitlements(user=request.user, now=request_now(request))
        response = Response(self._catalogue_page(request, filters, entitlements))
        patch_cache_control(response, no_cache=True, **({"private": True} if request.auth else {"public": True}))
        patch_vary_headers(response, ("Authorization", "Cookie"))
        catalogue.mark_caller(response, catalogue.caller_class(request.user, entitlements))
        return response

    @staticmethod
    def _catalogue_page(request, filters: dict, entitlements: frozenset[str]) -> dict:
        paginator = PageLimitPagination()
        rows = paginator.paginate_rows(
            lambda offset, limit: selectors.theme_page(offset=offset, limit=limit, **filters),
            lambda: selectors.theme_list(**filters).count(),
            request,
        )
        themes = [serializers.theme_card(row, entitlements) for row in rows]
        return paginator.get_paginated_response(themes, themes=themes).data


class ThemeDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, theme_id):
        theme = selectors.theme_get(theme_id=theme_id)
        entitlements = selectors.caller_entitlements(user=request.user, now=request_now(request))
        return Response(serializers.theme_detail(theme, entitlements))


class RoomSessionListView(APIView):
    """The caller's guided sessions. Every read and write is scoped to the caller."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("limit", int)],
        responses=serializers.SessionDetailSerializer(many=True),
        operation_id="themed_rooms_sessions_list",
    )
    def get(self, request):
        return paginated_response(
            request,
            selectors.room_session_list(user=request.user),
            serializers.SessionDetailSerializer,
            context={"now": request_now(request)},
        )

    @extend_schema(request=serializers.SessionStartInput, responses={201: serializers.SessionStartedSerializer})
    def post(self, request):
        session = services.room_session_start(
            user=request.user, now=request_now(request), **validated_body(serializers.SessionStartInput, request)
        )
        return Response(serializers.SessionStartedSerializer(session).data, status=status.HTTP_201_CREATED)


class RoomSessionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=serializers.SessionDetailSerializer)
    def get(self, request, session_id):
        session = selectors.room_session_get(session_id=session_id, user=request.user)
        return Response(serializers.SessionDetailSerializer(session, context={"now": request_now(request)}).data)


class RoomSessionEndView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.SessionEndInput, responses=serializers.SessionEndedSerializer)
    def patch(self, request, session_id):
        values = validated_body(serializers.SessionEndInput, request)
        values.pop("duration_seconds", None)
        session = services.room_session_end(
            user=request.user, session_id=session_id, now=request_now(request), **values
        )
        return Response(serializers.SessionEndedSerializer(session).data)
