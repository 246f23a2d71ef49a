"""ADMIN_TIME_ZONE: a zone name, refused when it is not one."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portfolio import config


def test_the_admin_time_zone_is_utc_unless_set():
    assert config.time_zone({}, "ADMIN_TIME_ZONE", default="UTC") == "UTC"
    assert config.time_zone({"ADMIN_TIME_ZONE": " America/Phoenix "}, "ADMIN_TIME_ZONE", default="UTC") == (
        "America/Phoenix"
    )


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "../etc/passwd", "MST7MDT8"])
def test_a_name_that_is_not_a_zone_is_refused_naming_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match=r"ADMIN_TIME_ZONE=.* is not an IANA time zone name"):
        config.time_zone({"ADMIN_TIME_ZONE": value}, "ADMIN_TIME_ZONE", default="UTC")
