from django.db import models

__all__ = ["Portfolio"]


class Portfolio(models.Model):
    """The owner of farms, meters and assets: a client or a business unit."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=100, unique=True, help_text="Short name used in URLs and on the command line.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(slug=""), name="portfolio_slug_not_blank"),
        ]

    def __str__(self):
        return self.name
