"""A manager works inside their own practice in the admin; another practice's rows are not there."""

import json

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from practices.models import Membership, Patient, Service
from tests.factories import (
    LocationFactory,
    MembershipFactory,
    PatientFactory,
    ProviderFactory,
    ServiceFactory,
)


@pytest.fixture
def two_practices(practice, other_practice):
    ours = {
        "patient": PatientFactory(practice=practice, first_name="Ourpatient"),
        "service": ServiceFactory(practice=practice, name="Our HydraFacial"),
        "location": LocationFactory(practice=practice, name="Our Midtown"),
        "provider": ProviderFactory(practice=practice, first_name="Ourprovider"),
    }
    theirs = {
        "patient": PatientFactory(practice=other_practice, first_name="Theirpatient"),
        "service": ServiceFactory(practice=other_practice, name="Their HydraFacial"),
        "location": LocationFactory(practice=other_practice, name="Their Uptown"),
        "provider": ProviderFactory(practice=other_practice, first_name="Theirprovider"),
    }
    ours["membership"] = MembershipFactory(practice=practice, patient=ours["patient"], plan="Our Club")
    theirs["membership"] = MembershipFactory(practice=other_practice, patient=theirs["patient"], plan="Their Club")
    return ours, theirs


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def our_registered_models():
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label in {"practices", "booking", "escalations", "calls", "analytics"}
    ]


def test_a_manager_lists_only_their_own_rows_in_every_changelist(manager_client, two_practices, practice):
    for model in our_registered_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = manager_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for name in ("Theirpatient", "Their HydraFacial", "Their Uptown", "Theirprovider", "Their Club"):
            assert name not in body, (url, name)
    patients = manager_client.get(reverse("admin:practices_patient_changelist")).content.decode()
    assert "Ourpatient" in patients


@pytest.mark.parametrize("kind", ["patient", "service", "location", "provider", "membership"])
def test_a_manager_cannot_open_another_practices_row(manager_client, two_practices, kind):
    theirs = two_practices[1][kind]
    url = reverse(f"admin:practices_{theirs._meta.model_name}_change", args=[theirs.pk])
    response = manager_client.get(url)
    assert response.status_code == 302  # "doesn't exist", like a deleted row
    followed = manager_client.get(url, follow=True).content.decode()
    assert "Their" not in followed.replace("Theirs", "")
    history = manager_client.get(reverse(f"admin:practices_{theirs._meta.model_name}_history", args=[theirs.pk]))
    assert history.status_code == 302
    delete = manager_client.post(
        reverse(f"admin:practices_{theirs._meta.model_name}_delete", args=[theirs.pk]), {"post": "yes"}
    )
    assert delete.status_code == 302
    assert type(theirs).objects.filter(pk=theirs.pk).exists()


def test_a_manager_cannot_edit_another_practices_row(manager_client, two_practices):
    theirs = two_practices[1]["patient"]
    url = reverse("admin:practices_patient_change", args=[theirs.pk])
    manager_client.post(
        url,
        {
            "first_name": "Changed",
            "phone": theirs.phone,
            "preferred_channel": "sms",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    theirs.refresh_from_db()
    assert theirs.first_name == "Theirpatient"


def test_a_manager_can_open_and_edit_their_own_row(manager_client, two_practices):
    ours = two_practices[0]["patient"]
    url = reverse("admin:practices_patient_change", args=[ours.pk])
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(
        url,
        {
            "first_name": "Renamed",
            "last_name": "Lee",
            "phone": "(212) 555-0199",
            "preferred_channel": "sms",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ours.refresh_from_db()
    assert (ours.first_name, ours.phone) == ("Renamed", "+12125550199")


def test_a_manager_adds_rows_to_their_own_practice_without_choosing_it(manager_client, practice):
    response = manager_client.post(
        reverse("admin:practices_patient_add"),
        {
            "first_name": "New",
            "last_name": "Patient",
            "phone": "646-555-0177",
            "preferred_channel": "sms",
            "memberships-TOTAL_FORMS": 1,
            "memberships-INITIAL_FORMS": 0,
            "memberships-0-plan": "Glow Club",
            "memberships-0-credits": "0",
            "memberships-0-status": "active",
            "memberships-0-started_on": "2026-11-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    patient = Patient.objects.get(phone="+16465550177")
    assert patient.practice == practice
    assert Membership.objects.get(patient=patient).practice == practice


def test_autocomplete_offers_only_the_managers_own_rows(manager_client, two_practices):
    response = manager_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "practices",
            "model_name": "provider",
            "field_name": "services",
            "term": "HydraFacial",
        },
    )
    assert response.status_code == 200
    names = [item["text"] for item in json.loads(response.content)["results"]]
    assert names == ["Our HydraFacial"]
    response = manager_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "practices",
            "model_name": "patient",
            "field_name": "home_location",
            "term": "",
        },
    )
    names = [item["text"] for item in json.loads(response.content)["results"]]
    assert "Their Uptown" not in names and "Our Midtown" in names


def test_a_raw_id_lookup_lists_only_own_rows_and_refuses_another_practices_id(manager_client, two_practices):
    ours, theirs = two_practices
    popup = manager_client.get(reverse("admin:practices_patient_changelist"), {"_to_field": "id", "_popup": 1})
    assert "Theirpatient" not in popup.content.decode()
    response = manager_client.post(
        reverse("admin:practices_membership_add"),
        {
            "patient": theirs["patient"].pk,
            "plan": "Sneaky",
            "credits": "0",
            "status": "active",
            "started_on": "2026-11-01",
        },
    )
    assert response.status_code == 200  # the form again, with an error
    body = response.content.decode()
    assert "Select a valid choice" in body
    assert "Theirpatient" not in body
    assert not Membership.objects.filter(plan="Sneaky").exists()


def test_choice_lists_hold_only_the_managers_own_rows(manager_client, two_practices):
    body = manager_client.get(reverse("admin:practices_resource_add")).content.decode()
    assert "Our Midtown" in body and "Their Uptown" not in body
    assert "Our HydraFacial" in body and "Their HydraFacial" not in body


def test_every_add_page_renders_for_a_manager_except_what_only_superusers_add(manager_client, two_practices):
    statuses = {}
    for model in our_registered_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        statuses[model._meta.model_name] = manager_client.get(url).status_code
    refused = {name for name, status in statuses.items() if status == 403}
    # Audit rows and intake forms (the patient's own answers): never by hand.
    assert refused == {"practice", "contactconsent", "appointment", "auditevent", "intakeform"}
    assert all(status == 200 for name, status in statuses.items() if name not in refused), statuses


def test_a_superuser_sees_every_practice(client, django_user_model, two_practices):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "a-long-password-1"))
    body = client.get(reverse("admin:practices_service_changelist")).content.decode()
    assert "Our HydraFacial" in body and "Their HydraFacial" in body


def test_front_desk_staff_have_no_admin(client, front_desk):
    client.force_login(front_desk)
    response = client.get(reverse("admin:practices_patient_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_staff_user_without_a_practice_sees_nothing(client, django_user_model, two_practices):
    user = django_user_model.objects.create_user("drifter", password="a-long-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    client.force_login(user)
    response = client.get(reverse("admin:practices_patient_changelist"))
    assert response.status_code == 403
    assert Service.objects.count() == 2
