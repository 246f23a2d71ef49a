"""Leases: one holder at a time, a lapsed lease can be taken over, renewals are throttled."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from uploads.models import Lease
from uploads.runs.leases import LeaseHolder, LeaseLost

pytestmark = pytest.mark.django_db(transaction=True)


def test_only_one_holder_at_a_time_and_release_frees_it():
    first, second = LeaseHolder("job", seconds=60), LeaseHolder("job", seconds=60)
    assert first.acquire()
    assert not second.acquire()
    assert second.holder()[0] == first.owner
    first.release()
    assert second.acquire()


def test_a_lapsed_lease_is_taken_over_and_the_old_holder_learns_it():
    dead, successor = LeaseHolder("job", seconds=60), LeaseHolder("job", seconds=60)
    assert dead.acquire()
    Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert successor.acquire()
    with pytest.raises(LeaseLost, match="taken over"):
        dead.keep_alive(force=True)


def test_keep_alive_extends_the_lease_but_only_once_per_third():
    holder = LeaseHolder("job", seconds=90)
    holder.acquire()
    before = Lease.objects.get(name="job").expires_at
    holder.keep_alive()  # throttled: nothing written
    assert Lease.objects.get(name="job").expires_at == before
    holder.keep_alive(force=True)
    assert Lease.objects.get(name="job").expires_at > before


def test_different_names_do_not_block_each_other():
    assert LeaseHolder("a").acquire()
    assert LeaseHolder("b").acquire()


def test_a_lease_is_kept_alive_from_a_thread_during_long_work():
    holder = LeaseHolder("long", seconds=0.6)
    holder.acquire()
    with holder.kept_alive():
        time.sleep(1.5)  # longer than the lease: only the thread's renewals keep it
        assert not LeaseHolder("long", seconds=0.6).acquire()
    holder.keep_alive(force=True)  # still ours
