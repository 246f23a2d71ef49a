"""Admin pieces for tables of millions of rows: bounded counts and text-box filters."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows.

    An exact COUNT(*) over millions of readings costs more than the page itself; past
    the cap the list says "more than 10,000" and asks for a filter instead.
    """

    cap = 10_000

    @cached_property
    def count(self):
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def capped(self):
        return self.count > self.cap


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that stays fast over millions of rows.

    No exact COUNT(*) (of the page or of the whole table), no per-filter facet counts,
    and sorting only in the model admin's own ``ordering``, which must follow an index.
    """

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = []


class InputFilter(admin.SimpleListFilter):
    """A list filter with a text box instead of a list of links."""

    template = "admin/input_filter.html"

    def lookups(self, request, model_admin):
        # Django shows a filter only when it has lookups; the box is the one "lookup".
        return ((None, None),)

    def choices(self, changelist):
        all_choice = next(super().choices(changelist))
        all_choice["query_parts"] = [
            (key, value)
            for key, values in changelist.get_filters_params().items()
            if key != self.parameter_name
            for value in values
        ]
        yield all_choice

    def cleaned_value(self):
        return (self.value() or "").strip()
