"""The catalogue's pages: display order (ties broken by title, then id), totals, inactive themes hidden."""

import pytest

from rooms.models import Theme, ThemeTier
from rooms.selectors import theme_list
from rooms.tests.factories import ThemeFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/themed-rooms/themes"


@pytest.fixture
def catalogue(db):
    Theme.objects.all().delete()
    # Ties on display_order and title are broken by pk, as in theme_list().
    for index in range(7):
        ThemeFactory(
            slug=f"t-{index}",
            title=["Zen", "Alpha", "Alpha", "Moss"][index % 4],
            display_order=index % 3,
            tier=[ThemeTier.FREE, ThemeTier.PREMIER, ThemeTier.PLUS][index % 3],
            is_real_ar=index % 2 == 0,
            rating_count=index,
            rating_sum=index * 4,
            session_count=index * 10,
        )
    ThemeFactory(slug="hidden", title="Aaa", is_active=False)


def test_api_pages_and_totals_follow_the_display_order(catalogue, api_client):
    slugs = [item["slug"] for item in theme_list()]
    first = api_client.get(LIST, {"limit": 3}).json()
    third = api_client.get(LIST, {"limit": 3, "page": 3}).json()
    past = api_client.get(LIST, {"limit": 3, "page": 4}).json()
    assert [theme["id"] for theme in first["themes"]] == slugs[:3]
    assert first["pagination"] == {"page": 1, "limit": 3, "total": 7, "pages": 3}
    assert [theme["id"] for theme in third["themes"]] == slugs[6:]
    assert third["pagination"]["total"] == 7
    assert past["themes"] == []
    assert past["pagination"]["total"] == 7
    assert "hidden" not in slugs
    searched = api_client.get(LIST, {"search": "alpha"}).json()
    assert {theme["title"] for theme in searched["themes"]} == {"Alpha"}
