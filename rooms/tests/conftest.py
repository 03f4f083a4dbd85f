import pytest

from rooms.models import Theme
from rooms.seed import run as seed_themes


@pytest.fixture
def themes(db):
    """The nine seeded themes, keyed by slug."""

    class _Quiet:
        def write(self, *_args, **_kwargs):
            pass

    seed_themes(stdout=_Quiet(), demo_accounts=False)
    return {theme.slug: theme for theme in Theme.objects.all()}
