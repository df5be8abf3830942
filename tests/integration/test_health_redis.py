"""/healthz against a real Redis that goes away and comes back."""

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_it_follows_redis_going_down_and_coming_back(client, private_redis, use_broker):
    use_broker(private_redis.url())

    assert client.get(reverse("healthz")).json()["broker"] == "ok"

    private_redis.stop()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "down"

    private_redis.start()
    assert client.get(reverse("healthz")).status_code == 200
