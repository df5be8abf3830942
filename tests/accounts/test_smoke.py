from django.urls import reverse


def test_it_sends_anonymous_visitors_to_login(world):
    response = world.login(None).get(reverse("homework:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_lands_each_role_on_its_own_home(world):
    assert world.login(world.clinician).get("/")["Location"] == reverse("homework:dashboard")
    assert world.login(world.client).get("/")["Location"] == reverse("homework:today")
    assert world.login(world.admin).get("/")["Location"] == reverse("admin:index")
