"""Admin access by role: managers and owners configure their practice; front desk works in the console."""

from django.contrib.auth.models import Group, Permission

MANAGER_GROUP = "Practice managers"
MANAGED_APPS = ["practices", "booking", "escalations", "calls", "analytics"]

# Evidence and tenancy that nobody below a superuser may change through the admin.
WITHHELD = {
    "add_practice",
    "delete_practice",
    "change_consentevent",
    "delete_consentevent",
    "add_contactconsent",
    "change_contactconsent",
    "delete_contactconsent",
}


def ensure_role_groups(**_kwargs) -> None:
    """Create or refresh the managers' group with every permission of our apps but the withheld ones.

    Connected to post_migrate, so a new model's permissions reach managers on the next migrate.
    """
    group, _ = Group.objects.get_or_create(name=MANAGER_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=MANAGED_APPS).exclude(codename__in=WITHHELD)
    group.permissions.set(permissions)


def staff_member_sync_access(staff_member) -> None:
    """Give the user admin access that matches their role (managers and owners only)."""
    user = staff_member.user
    group = Group.objects.get_or_create(name=MANAGER_GROUP)[0]
    if staff_member.manages:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    if not user.is_superuser:
        user.is_staff = staff_member.manages
        user.save(update_fields=["is_staff"])
