"""The unfiltered catalogue page is read with one fixed statement (rooms.selectors.theme_page).

It must give exactly the rows, order and values of the queryset it replaces, page by page, and leave the
filtered lists on the queryset.
"""

import pytest

from rooms.models import Theme, ThemeTier
from rooms.selectors import theme_list, theme_page
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


@pytest.mark.parametrize(("offset", "limit"), [(0, 20), (0, 3), (3, 3), (6, 3), (9, 3), (0, 1)])
def test_page_equals_the_querysets_page(catalogue, offset, limit):
    expected = list(theme_list()[offset : offset + limit])
    assert theme_page(offset=offset, limit=limit) == expected


def test_values_have_the_orm_types(catalogue):
    row = theme_page(offset=0, limit=1)[0]
    orm_row = next(iter(theme_list()[:1]))
    assert {key: type(value) for key, value in row.items()} == {key: type(value) for key, value in orm_row.items()}
    assert "hidden" not in {item["slug"] for item in theme_page(offset=0, limit=20)}


@pytest.mark.parametrize(
    "filters", [{"category": "NATURE"}, {"tier": ThemeTier.PLUS}, {"search": "alp"}, {"category": "nothing"}]
)
def test_filtered_pages_use_the_queryset(catalogue, filters, django_assert_num_queries):
    expected = list(theme_list(**filters)[0:20])
    with django_assert_num_queries(1):
        assert theme_page(offset=0, limit=20, **filters) == expected


def test_api_pages_and_totals_are_unchanged(catalogue, api_client):
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
    searched = api_client.get(LIST, {"search": "alpha"}).json()
    assert {theme["title"] for theme in searched["themes"]} == {"Alpha"}
