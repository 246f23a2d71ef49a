"""What a run sends: per farm, the readings ingested after its watermark and up to a safe horizon."""

from uploads.models import UploadWatermark

__all__ = ["farm_windows"]


def farm_windows(integration, farms):
    """farm pk → the watermark (exclusive lower bound on ingested_at), None for a farm never sent."""
    marks = dict(
        UploadWatermark.objects.filter(integration=integration, farm__in=farms).values_list(
            "farm_id", "ingested_through"
        )
    )
    return {farm.pk: marks.get(farm.pk) for farm in farms}
