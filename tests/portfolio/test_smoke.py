import pytest

from tests.factories import AssetFactory, DemandResponseEventFactory, IntervalReadingFactory, ObservationFactory


@pytest.mark.django_db
def test_factories_build_valid_objects(validation_messages):
    for obj in [ObservationFactory(), IntervalReadingFactory(), AssetFactory(solar=True), DemandResponseEventFactory()]:
        assert validation_messages(obj) == {}


def test_the_admin_has_no_view_site_link_that_leads_back_to_itself(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "Log out" in page or "log out" in page.lower()
    assert "View site" not in page
