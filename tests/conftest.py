import pytest
from django.db import connection

from tests.factories import PracticeFactory, StaffMemberFactory


@pytest.fixture
def practice(db):
    return PracticeFactory()


@pytest.fixture
def other_practice(db):
    return PracticeFactory()


@pytest.fixture
def manager(db, practice):
    return StaffMemberFactory(practice=practice, role="manager").user


@pytest.fixture
def front_desk(db, practice):
    return StaffMemberFactory(practice=practice, role="front_desk").user


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (exclusion constraints, row locks); run with DATABASE_URL=postgres://...")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright, one per test module."""
    from tests.browser import launch

    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = launch(p)
        yield launched
        launched.close()
