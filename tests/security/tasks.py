"""Task functions for the audit trail tests (queued by name, as django-q2 stores them)."""

from portfolio.models import Portfolio


def rename_portfolio(pk, name):
    portfolio = Portfolio.objects.get(pk=pk)
    portfolio.name = name
    portfolio.save()
