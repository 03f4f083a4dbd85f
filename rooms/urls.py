from rest_framework.routers import SimpleRouter

from rooms.views import RoomSessionViewSet, ThemeViewSet

router = SimpleRouter(trailing_slash=False)
router.register("themed-rooms/themes", ThemeViewSet, basename="themed-room-theme")
router.register("themed-rooms/sessions", RoomSessionViewSet, basename="themed-room-session")

urlpatterns = [*router.urls]
