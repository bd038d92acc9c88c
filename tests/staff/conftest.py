import pytest

from tests.factories import StaffFactory, admin_user


@pytest.fixture
def front_desk_client(client, db):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def admin_client(client, db):
    client.force_login(admin_user())
    return client
