from django.urls import path

from rooms import catalogue, views

# `<str:...>` takes slugs, UUIDs and anything malformed, which the selectors answer with 404 (not a routing miss).
urlpatterns = [
    # The catalogue list: kept pages are answered before DRF runs (rooms.catalogue).
    path(
        "themed-rooms/themes",
        catalogue.answer_from_cache(views.ThemeListView.as_view()),
        name="themed-room-theme-list",
    ),
    path("themed-rooms/themes/<str:theme_id>", views.ThemeDetailView.as_view(), name="themed-room-theme-detail"),
    path("themed-rooms/sessions", views.RoomSessionListView.as_view(), name="themed-room-session-list"),
    path(
        "themed-rooms/sessions/<str:session_id>",
        views.RoomSessionDetailView.as_view(),
        name="themed-room-session-detail",
    ),
    path(
        "themed-rooms/sessions/<str:session_id>/end",
        views.RoomSessionEndView.as_view(),
        name="themed-room-session-end",
    ),
]
