from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from practices.models import Location, Practice, Service

DEMO_MENU = {
    "botox",
    "dysport",
    "lip-filler",
    "cheek-filler",
    "hydrafacial",
    "chemical-peel",
    "microneedling",
    "morpheus8",
    "laser-hair-removal",
    "ipl-photofacial",
    "coolsculpting",
    "consultation",
}


def snapshot() -> dict:
    """Every row of our apps and of users, with ids, so that any change shows."""
    tables = {}
    models = [
        m
        for label in ("practices", "booking", "escalations", "calls", "analytics")
        for m in apps.get_app_config(label).get_models()
    ]
    for model in models + [get_user_model()]:
        rows = list(model.objects.order_by("pk").values())
        for row in rows:
            row.pop("last_login", None)
        m2m = {
            field.name: sorted(model.objects.values_list("pk", field.name).exclude(**{f"{field.name}__isnull": True}))
            for field in model._meta.many_to_many
        }
        tables[model._meta.label] = (rows, m2m)
    return tables


def test_seed_demo_twice_gives_the_same_data(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    first = snapshot()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert snapshot() == first


def test_the_demo_practice_has_what_the_demo_needs(db, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "frontdesk" in out and "manager" in out
    practice = Practice.objects.get(slug="demo")
    assert practice.brand_name == "Glow Aesthetics"
    assert set(Location.objects.filter(practice=practice).values_list("time_zone", flat=True)) == {
        "America/New_York",
        "America/Phoenix",
    }
    assert set(Service.objects.filter(practice=practice).values_list("slug", flat=True)) == DEMO_MENU
    assert practice.providers.count() == 4
    assert set(practice.resources.values_list("name", flat=True)) == {
        "Laser room",
        "Treatment room",
        "CoolSculpting device",
    }
    botox = Service.objects.get(practice=practice, slug="botox")
    assert "tox" in botox.synonyms and "wrinkle relaxer" in botox.synonyms
    assert "fat freezing" in Service.objects.get(practice=practice, slug="coolsculpting").synonyms
    assert "rf microneedling" in Service.objects.get(practice=practice, slug="morpheus8").synonyms
    assert set(practice.approved_answers.values_list("topic", flat=True)) >= {
        "cancellation-policy",
        "deposit",
        "parking",
        "financing",
        "membership-rules",
    }
    assert practice.closures.exists() and practice.campaigns.exists() and practice.phone_numbers.exists()
    assert all(provider.shifts.exists() for provider in practice.providers.all())
    manager = get_user_model().objects.get(username="manager")
    assert manager.is_staff and manager.check_password("glow-manager-demo")
    assert not get_user_model().objects.get(username="frontdesk").is_staff
