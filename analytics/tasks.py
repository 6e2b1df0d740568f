"""django-q2 entry points for analytics."""

from .services import rollups_nightly as _rollups_nightly


def rollups_nightly() -> dict[str, int]:
    return _rollups_nightly()
