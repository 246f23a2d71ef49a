import pytest

from tests.factories import AssetFactory, DemandResponseEventFactory, IntervalReadingFactory, ObservationFactory


@pytest.mark.django_db
def test_factories_build_valid_objects(validation_messages):
    for obj in [ObservationFactory(), IntervalReadingFactory(), AssetFactory(solar=True), DemandResponseEventFactory()]:
        assert validation_messages(obj) == {}
