"""Themed rooms API (docs/api.md §6). Thin: validate, call one selector or service, build the answer."""

from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from manas360.api.input import validated_body, validated_query
from manas360.api.pagination import PageLimitPagination, paginated_response
from manas360.api.renderers import RenderedJSON
from rooms import catalogue, selectors, serializers, services
from rooms.access import tier_is_open
from rooms.models import ThemeTier


class ThemeListView(APIView):
    """The catalogue: public, but personalised (`locked`) when the caller is signed in."""

    permission_classes = [AllowAny]
    rate_limit_reads = catalogue.STAMP_READ  # the catalogue's stamp comes with the rate-limit hit

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
        filters = validated_query(serializers.ThemeListQuery, request)
        entitlements = selectors.caller_entitlements(user=request.user, request=request)
        stamp = catalogue.current_stamp(request)
        key = (
            stamp,
            request.accepted_media_type,
            request.query_params.get("page"),
            request.query_params.get("limit"),
            *filters.values(),
            tuple(tier_is_open(value, entitlements) for value in ThemeTier.values),
        )
        page = catalogue.cached_page(key) if stamp is not None else None
        if page is None:
            content = self._render(request, self._catalogue_page(request, filters, entitlements))
            etag = catalogue.keep_page(key, content) if stamp is not None else catalogue.etag_of(content)
        else:
            etag, content = page
        response = get_conditional_response(request, etag=etag) or Response(RenderedJSON(content))
        response["ETag"] = etag
        patch_cache_control(response, no_cache=True, **({"private": True} if request.auth else {"public": True}))
        patch_vary_headers(response, ("Authorization", "Cookie"))
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

    def _render(self, request, data: dict) -> bytes:
        """The body DRF would write for `Response(data)` (same renderer, media type and context)."""
        return request.accepted_renderer.render(data, request.accepted_media_type, self.get_renderer_context())


class ThemeDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, theme_id):
        theme = selectors.theme_get(theme_id=theme_id)
        entitlements = selectors.caller_entitlements(user=request.user, request=request)
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
            context={"now": timezone.now()},
        )

    @extend_schema(request=serializers.SessionStartInput, responses={201: serializers.SessionStartedSerializer})
    def post(self, request):
        session = services.room_session_start(
            user=request.user, **validated_body(serializers.SessionStartInput, request)
        )
        return Response(serializers.SessionStartedSerializer(session).data, status=status.HTTP_201_CREATED)


class RoomSessionDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=serializers.SessionDetailSerializer)
    def get(self, request, session_id):
        session = selectors.room_session_get(session_id=session_id, user=request.user)
        return Response(serializers.SessionDetailSerializer(session, context={"now": timezone.now()}).data)


class RoomSessionEndView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.SessionEndInput, responses=serializers.SessionEndedSerializer)
    def patch(self, request, session_id):
        values = validated_body(serializers.SessionEndInput, request)
        values.pop("duration_seconds", None)
        session = services.room_session_end(user=request.user, session_id=session_id, **values)
        return Response(serializers.SessionEndedSerializer(session).data)
