"""Delete confirmations that count readings instead of listing them one by one.

Django's confirmation page loads every object a delete would cascade to: deleting a farm
would load all its observations, millions of rows, into one page. Here readings are
counted with one query per relation, exactly up to ``COUNT_CAP`` (the observation list's cap)
and as "more than 10,000" past it: a farm's millions of readings would otherwise be counted on
every visit of the page, in time that grows with the table. The delete itself removes observations in bulk (they
have no signals or dependants, so Django's collector fast-deletes them); interval and bill
readings are deleted one by one, each recorded in the audit trail.
"""

from collections import Counter

from django.contrib.admin.utils import NestedObjects, quote
from django.db import router
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from portfolio.admin.large_tables import CappedCountPaginator
from portfolio.models import BillReading, IntervalReading, Observation

BULK_MODELS = (Observation, IntervalReading, BillReading)
AUDITED_READINGS = (IntervalReading, BillReading)
COUNT_CAP = CappedCountPaginator.cap


class BulkCountingCollector(NestedObjects):
    def can_fast_delete(self, objs, from_field=None):
        # Asked with a model class or a queryset. NestedObjects always says no, to list
        # every object; for readings ask the plain Collector, which deletes them in bulk.
        model = objs if isinstance(objs, type) else getattr(objs, "model", None)
        if model in AUDITED_READINGS:
            # The audit trail listens to their deletes (audit/registry.py), so the delete itself
            # loads them to record each one; this page still only counts them.
            return True
        return model in BULK_MODELS and super(NestedObjects, self).can_fast_delete(objs, from_field=from_field)

    def bulk_counts(self):
        """Readings the delete would remove, by verbose name: one COUNT per relation, of at most COUNT_CAP + 1 rows."""
        counts = Counter()
        for queryset in self.fast_deletes:
            counts[queryset.model._meta.verbose_name_plural] += queryset.order_by()[: COUNT_CAP + 1].count()
        return {name: count_words(count) for name, count in counts.items() if count}


def count_words(count):
    """The count as the summary shows it: exact up to the cap, "more than 10,000" past it."""
    return f"more than {COUNT_CAP:,}" if count > COUNT_CAP else count


class BulkRowsDeleteMixin:
    """For ModelAdmins whose objects own readings: Django's confirmation, readings counted."""

    def get_deleted_objects(self, objs, request):
        objs = list(objs)
        if not objs:
            return [], {}, set(), []
        collector = BulkCountingCollector(using=router.db_for_write(objs[0]._meta.model), origin=objs)
        collector.collect(objs)
        perms_needed = set()

        def format_callback(obj):
            opts = obj._meta
            if not self.admin_site.is_registered(obj.__class__):
                return f"{capfirst(opts.verbose_name)}: {obj}"
            if not self.admin_site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
                perms_needed.add(opts.verbose_name)
            try:
                url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
            except NoReverseMatch:
                return f"{capfirst(opts.verbose_name)}: {obj}"
            return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

        to_delete = collector.nested(format_callback)
        protected = [format_callback(obj) for obj in collector.protected]
        model_count = {model._meta.verbose_name_plural: len(found) for model, found in collector.model_objs.items()}
        model_count.update(collector.bulk_counts())
        return to_delete, model_count, perms_needed, protected
