"""Which practice a signed-in user acts for. Every scoped query starts here."""

from django.http import Http404

from .models import Practice, StaffMember


def practice_for_user(user) -> Practice | None:
    """The practice of a staff user, or None for a user with no StaffMember (superusers included)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_practice_cache", None)
    if cached is not None:
        return cached
    try:
        practice = StaffMember.objects.select_related("practice").get(user=user).practice
    except StaffMember.DoesNotExist:
        return None
    user._practice_cache = practice
    return practice


def require_practice(user) -> Practice:
    practice = practice_for_user(user)
    if practice is None:
        raise Http404("No practice for this user.")
    return practice


def practice_lookup(model) -> str:
    """The ORM path from `model` to its Practice, for scoping any queryset of it."""
    from django.contrib.auth import get_user_model

    if model is Practice:
        return "pk"
    if model is get_user_model():
        return "staff_member__practice"
    names = {field.name for field in model._meta.get_fields()}
    # A staff member's duty shift may have no location: its person says whose it is.
    for path in ("practice", "staff_member__practice", "location__practice", "provider__practice", "patient__practice"):
        if path.split("__")[0] in names:
            return path
    raise LookupError(f"{model.__name__} has no path to a practice.")


def scope_to_practice(queryset, practice: Practice):
    """`queryset` limited to one practice's rows."""
    path = practice_lookup(queryset.model)
    return queryset.filter(**{path: practice.pk if path == "pk" else practice})


def user_manages(user) -> bool:
    """Managers and owners of a practice (not front desk, not a user without a practice)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return StaffMember.objects.filter(user=user, role__in=[StaffMember.Role.MANAGER, StaffMember.Role.OWNER]).exists()
