"""The Django admin pages for themes and sessions render, with a safe media preview.

The ModelAdmin views are called directly: signing in to the admin site (password + TOTP) is the
staff app's concern and is tested there.
"""

from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory

from rooms.admin import ThemeAdmin
from rooms.models import RoomSession, Theme
from rooms.tests.factories import RoomSessionFactory, ThemeFactory


def _get(path, user):
    request = RequestFactory().get(path)
    SessionMiddleware(lambda _request: None).process_request(request)
    request._messages = FallbackStorage(request)
    request.user = user
    return request


def _superuser(admin_user):
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    return admin_user


def test_theme_admin_pages_render_with_media_preview(admin_user, themes):
    user = _superuser(admin_user)
    model_admin = admin.site._registry[Theme]
    theme = themes["ocean-waves"]

    changelist = model_admin.changelist_view(_get("/admin/rooms/theme/", user))
    change = model_admin.changeform_view(_get(f"/admin/rooms/theme/{theme.pk}/change/", user), str(theme.pk))
    changelist.render()
    change.render()

    assert changelist.status_code == 200
    assert "boat-ocean" in changelist.content.decode()
    assert change.status_code == 200
    html = change.content.decode()
    assert f'src="{theme.thumbnail_url}"' in html
    assert theme.videos[0]["url"] in html


def test_media_preview_escapes_editor_input(db):
    theme = ThemeFactory(
        title='<script>alert("t")</script>',
        thumbnail_url="https://example.org/a.jpg",
        videos=[{"title": "<b>x</b>", "url": "https://example.org/v.webm"}, {"title": "js", "url": "javascript:1"}],
    )
    model_admin = ThemeAdmin(Theme, admin.site)

    preview = model_admin.media_preview(theme) + model_admin.thumbnail_preview(theme)

    assert "<script>" not in preview
    assert "&lt;b&gt;x&lt;/b&gt;" in preview
    assert "javascript:" not in preview


def test_session_admin_changelist_renders_read_only(admin_user, themes):
    user = _superuser(admin_user)
    RoomSessionFactory.create_batch(3, theme=themes["calm-lake"])
    model_admin = admin.site._registry[RoomSession]

    response = model_admin.changelist_view(_get("/admin/rooms/roomsession/", user))
    response.render()

    assert response.status_code == 200
    assert response.content.decode().count("calm-lake") >= 3
    assert model_admin.has_add_permission(_get("/", user)) is False
    assert model_admin.has_change_permission(_get("/", user)) is False
