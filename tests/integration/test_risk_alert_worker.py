"""End to end with a real Celery worker: a client answers PHQ-9 item 9 with 1.

Within one worker cycle the clinician has exactly one urgent email, with no clinical
content; the client's page shows the crisis resources; the flag is first on the
dashboard; acknowledging it clears it and is audited.
"""

import pytest
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from measures.models import RiskFlag
from notifications.models import Notification
from tests.factories import make_measure
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CLINICAL_WORDS = ("PHQ", "question 9", "better off dead", "hurting", "Alex", "threshold")


def test_it_takes_a_risk_answer_to_an_acknowledged_flag(world, smtp_sink, celery_worker):
    celery_worker(smtp=smtp_sink)
    world.clinic.crisis_text = "Harbour duty line, weekdays 9 to 5."
    world.clinic.save()
    measure = make_measure(world.client, instrument="PHQ-9")

    client = world.login(world.client)
    answers = {f"item_{n}": "0" for n in range(1, 9)} | {"item_9": "1"}
    response = client.post(reverse("measures:measure-answer", args=[measure.pk]), answers)
    assert response.status_code == 302

    # The client's page shows the clinic's crisis resources at once.
    page = client.get(response["Location"]).content.decode()
    assert "If you need help now" in page and "Harbour duty line, weekdays 9 to 5." in page

    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_tos == [world.clinician.email]
    assert received.subject == "A client on your caseload needs your attention today"
    for word in CLINICAL_WORDS:
        assert word not in received.text()
    wait_until(
        lambda: Notification.objects.filter(
            kind="urgent_attention", status=Notification.Status.SENT
        ).exists(),
        timeout=30,
    )
    assert Notification.objects.filter(kind="urgent_attention").count() == 1

    clinician = world.login(world.clinician)
    dashboard = clinician.get(reverse("homework:dashboard"))
    rows = dashboard.context["rows"]
    assert rows[0].client == world.client and rows[0].urgent
    assert "Needs attention: urgent:" in dashboard.content.decode()

    flag = RiskFlag.objects.get()
    clinician.post(reverse("measures:risk-flag-acknowledge", args=[flag.pk]))
    flag.refresh_from_db()
    assert flag.acknowledged_by == world.clinician
    assert AuditEvent.objects.filter(
        action=AuditAction.CHANGE, object_type="measures.riskflag", object_id=str(flag.pk)
    ).exists()
    rows = clinician.get(reverse("homework:dashboard")).context["rows"]
    assert not any(row.urgent for row in rows)
    # Still exactly one email: nothing more was queued by the acknowledgement.
    assert Notification.objects.filter(kind="urgent_attention").count() == 1


def test_a_clinician_with_a_device_gets_one_email_and_one_push(
    world, smtp_sink, celery_worker, settings
):
    import time

    from notifications.models import PushSubscription
    from notifications.push import vapid_keys_generate
    from tests.push_service import Browser, PushService

    private, public = vapid_keys_generate()
    settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY = private, public
    push_service = PushService().start()
    try:
        celery_worker(
            smtp=smtp_sink,
            env={
                "VAPID_PRIVATE_KEY": private,
                "VAPID_PUBLIC_KEY": public,
                "VAPID_SUBJECT": "mailto:push-test@kindwork.test",
            },
        )
        browser = Browser()
        PushSubscription.objects.create(
            user=world.clinician,
            endpoint=push_service.endpoint("clinician-desk"),
            p256dh=browser.p256dh,
            auth=browser.auth,
        )
        measure = make_measure(world.client, instrument="PHQ-9")
        answers = {f"item_{n}": "0" for n in range(1, 9)} | {"item_9": "1"}
        world.login(world.client).post(
            reverse("measures:measure-answer", args=[measure.pk]), answers
        )

        (received,) = smtp_sink.wait_for(1)
        assert received.rcpt_tos == [world.clinician.email]
        wait_until(lambda: len(push_service.received) >= 1, timeout=30)
        time.sleep(2)  # nothing more arrives
        (pushed,) = push_service.received
        push_service.verify_vapid(pushed, public_key=public)
        payload = browser.decrypt(pushed.body)
        assert payload["title"] == "A client on your caseload needs your attention today"
        assert payload["url"].endswith(reverse("homework:client-detail", args=[world.client.pk]))
        for word in CLINICAL_WORDS:
            assert word not in " ".join(payload.values())
        wait_until(
            lambda: (
                Notification.objects.filter(
                    kind="urgent_attention", status=Notification.Status.SENT
                ).count()
                == 2
            ),
            timeout=30,
        )
        assert sorted(
            Notification.objects.filter(kind="urgent_attention").values_list("channel", flat=True)
        ) == ["email", "push"]
        assert len(smtp_sink.received) == 1
    finally:
        push_service.stop()
