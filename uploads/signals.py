"""Schedules follow integrations and accounts as they are created, changed and deleted."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from uploads.models import RaptorMapsIntegration, WattCarbonAccount
from uploads.runs.schedules import sync_raptormaps_schedule, sync_wattcarbon_schedule


@receiver(post_save, sender=RaptorMapsIntegration, dispatch_uid="uploads.raptormaps_schedule_saved")
@receiver(post_delete, sender=RaptorMapsIntegration, dispatch_uid="uploads.raptormaps_schedule_deleted")
def keep_raptormaps_schedule(sender, instance, **kwargs):
    # After commit: a rolled-back edit must not leave a schedule behind.
    transaction.on_commit(lambda: sync_raptormaps_schedule(instance))


@receiver(post_save, sender=WattCarbonAccount, dispatch_uid="uploads.wattcarbon_schedule_saved")
@receiver(post_delete, sender=WattCarbonAccount, dispatch_uid="uploads.wattcarbon_schedule_deleted")
def keep_wattcarbon_schedule(sender, instance, **kwargs):
    transaction.on_commit(lambda: sync_wattcarbon_schedule(instance))
