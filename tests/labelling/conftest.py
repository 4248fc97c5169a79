import pytest

from tests.labelling.factories import client_for, make_user


@pytest.fixture
def manager(db):
    return make_user("mona", staff=True)


@pytest.fixture
def annotator(db):
    return make_user("anna")


@pytest.fixture
def manager_client(manager):
    return client_for(manager)


@pytest.fixture
def annotator_client(annotator):
    return client_for(annotator)
