"""What a signed-in request's session costs: the previous read (session, then person)
against the joined one (accounts.session_store), and ending one person's sessions among
many (accounts.services.sessions_end_for_user) against decoding every live session.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kw_bench_copy \\
        .venv/bin/python bench/session_reads.py [--sessions 20000]

Writes sessions (and deletes them all at the end): use a copy of the bench database.
"""

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import apply_environment, production_environment  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    apply_environment(production_environment())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.backends import _USER
    from accounts.models import Role, User, UserSession
    from accounts.services import sessions_end_for_user
    from accounts.session_store import _SESSION, SessionStore
    from bench.run import login_backend, session_data, sessions_create
    from core.compiled import CompiledModels

    # The read before this change: the session compiled alone, then the person.
    previous = CompiledModels(
        lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now),
        str,
        datetime,
    )
    clinician = User.objects.filter(role=Role.CLINICIAN).order_by("id").first()
    data = session_data(clinician, login_backend())
    old, new = DjangoStore(), SessionStore()
    for store in (old, new):
        store.update(data)
        store.create()

    def old_read() -> User:
        session = previous.all(old.session_key, timezone.now())[0]
        return _USER.all(int(old.decode(session.session_data)["_auth_user_id"]))[0]

    def new_read() -> User:
        session = _SESSION.all(new.session_key, timezone.now())[0]
        assert session.user.pk == int(new.decode(session.session_data)["_auth_user_id"])
        return session.user

    assert old_read().pk == new_read().pk == clinician.pk
    timings: dict[str, list[tuple[float, float]]] = {"session, then person": [], "joined": []}
    for _ in range(args.rounds):  # alternated: the host's noise falls on both
        for name, read in (("session, then person", old_read), ("joined", new_read)):
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(1000):
                read()
            timings[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    for name, runs in timings.items():
        print(
            f"{name:<22} Python CPU {min(c for c, _ in runs):.3f} ms, "
            f"wall {min(w for _, w in runs):.3f} ms per read (min of {args.rounds} x 1,000)"
        )
    Session.objects.filter(session_key=old.session_key).delete()
    new.delete()

    ids = list(
        User.objects.filter(role=Role.CLIENT)
        .order_by("id")
        .values_list("id", flat=True)[: args.sessions]
    )
    UserSession.objects.all().delete()
    sessions_create(ids)
    target = User.objects.get(pk=ids[len(ids) // 2])
    wall = time.perf_counter()
    found = [
        s.session_key
        for s in UserSession.objects.filter(expire_date__gt=timezone.now()).iterator()
        if s.get_decoded().get("_auth_user_id") == str(target.pk)
    ]
    decoded = time.perf_counter() - wall
    wall = time.perf_counter()
    ended = sessions_end_for_user(user=target)
    by_column = time.perf_counter() - wall
    print(
        f"one person's sessions among {len(ids):,}: decoding every one {decoded * 1000:.0f} ms "
        f"({len(found)} found), by the column {by_column * 1000:.1f} ms ({ended} ended)"
    )
    UserSession.objects.all().delete()


if __name__ == "__main__":
    main()
