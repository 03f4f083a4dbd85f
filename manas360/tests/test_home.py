"""`/` is a small page linking the API docs, the staff admin and health, and the admin's "View site" goes there."""

import pytest
from django.test import Client

from staff.tests.helpers import staff_admin_client


def test_root_links_docs_admin_and_health():
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for link in ('href="/api/docs/"', 'href="/admin/"', 'href="/health"'):
        assert link in html
    # The links lead somewhere real.
    assert Client().get("/health").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


def test_root_refuses_writes():
    response = Client().post("/")
    assert response.status_code == 405


@pytest.mark.django_db
def test_admin_view_site_link_leads_to_the_root_page():
    html = staff_admin_client().get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in html
