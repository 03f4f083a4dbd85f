"""The Django admin pages for themes and sessions render, with a safe media preview."""

from django.urls import reverse

from rooms.admin import ThemeAdmin
from rooms.models import Theme
from rooms.tests.factories import RoomSessionFactory, ThemeFactory


def test_theme_admin_pages_render_with_media_preview(client, admin_user, themes):
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    client.force_login(admin_user)
    theme = themes["ocean-waves"]

    changelist = client.get(reverse("admin:rooms_theme_changelist"))
    change = client.get(reverse("admin:rooms_theme_change", args=[theme.pk]))

    assert changelist.status_code == 200
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
    admin = ThemeAdmin(Theme, None)

    preview = admin.media_preview(theme) + admin.thumbnail_preview(theme)

    assert "<script>" not in preview
    assert "&lt;b&gt;x&lt;/b&gt;" in preview
    assert "javascript:" not in preview


def test_session_admin_changelist_renders(client, admin_user, themes):
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])
    client.force_login(admin_user)
    RoomSessionFactory.create_batch(3, theme=themes["calm-lake"])

    response = client.get(reverse("admin:rooms_roomsession_changelist"))

    assert response.status_code == 200
