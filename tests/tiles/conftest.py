"""These tests are about archive features, so their signed-in user is an archive curator (staff), who sees every
scene; who else sees which scene is tested in tests/archive/test_visibility.py."""

import pytest


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ana", password="pw-ana-123456", is_staff=True)
