"""Daily rollups: a cache of `analytics.facts` for closed days, recomputed from the records at will."""

from django.db import models
from django.utils import timezone


class DailyRollup(models.Model):
    """The facts of one local day for one (location, source, service); see analytics/facts.py."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    location = models.ForeignKey(
        "practices.Location", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=40, blank=True)
    service = models.ForeignKey("practices.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    facts = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["practice", "day"])]

    def __str__(self) -> str:
        return f"Rollup {self.day} ({self.practice_id})"


class RollupDay(models.Model):
    """A day whose rollups are stored (a quiet day has none, but is still done)."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "day"], name="one_rollup_day")]

    def __str__(self) -> str:
        return f"Rolled up {self.day} ({self.practice_id})"
