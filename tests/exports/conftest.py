import pytest

from tests.labelling.factories import client_for, make_user


@pytest.fixture
def manager(db):
    return make_user("mona", staff=True)


@pytest.fixture
def manager_client(manager):
    return client_for(manager)
