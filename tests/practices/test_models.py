import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from practices import services
from practices.message_templates import DEFAULTS, validate_template_body
from practices.models import ConsentEvent, ContactConsent, MessageTemplate, Patient
from practices.selectors import consent_status, message_text
from tests.factories import ConsentEventFactory, PatientFactory, ServiceFactory


def test_one_patient_per_phone_per_practice(practice):
    PatientFactory(practice=practice, phone="+12125550171")
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(practice=practice, phone="(212) 555-0171")


def test_the_same_phone_can_be_a_patient_at_two_practices(practice, other_practice):
    PatientFactory(practice=practice, phone="+12125550171")
    PatientFactory(practice=other_practice, phone="+12125550171")
    assert Patient.objects.filter(phone="+12125550171").count() == 2


def test_patient_get_or_create_finds_the_patient_whatever_the_phone_format(practice):
    first, created = services.patient_get_or_create(practice=practice, phone="212-555-0171", first_name="Emma")
    again, created_again = services.patient_get_or_create(practice=practice, phone="+1 (212) 555 0171")
    assert created and not created_again
    assert again.pk == first.pk and again.first_name == "Emma"


def test_a_consent_event_cannot_be_changed_through_the_model(practice):
    event = ConsentEventFactory(practice=practice)
    event.told = "something else"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    event.refresh_from_db()
    assert event.told == "You're unsubscribed."


def test_a_consent_event_cannot_be_changed_through_a_queryset(practice):
    ConsentEventFactory(practice=practice)
    with pytest.raises(TypeError):
        ConsentEvent.objects.update(told="rewritten")
    with pytest.raises(TypeError):
        ConsentEvent.objects.all().delete()
    assert ConsentEvent.objects.get().told == "You're unsubscribed."


def test_the_database_refuses_to_rewrite_a_consent_event(practice):
    event = ConsentEventFactory(practice=practice)
    with pytest.raises(Exception) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE practices_consentevent SET told = 'rewritten' WHERE id = %s", [event.pk])
    assert "append-only" in str(caught.value)
    assert ConsentEvent.objects.get(pk=event.pk).told == "You're unsubscribed."


def test_the_database_refuses_to_delete_a_consent_event_on_postgres(practice, postgres_only):
    event = ConsentEventFactory(practice=practice)
    with pytest.raises(Exception) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM practices_consentevent WHERE id = %s", [event.pk])
    assert "append-only" in str(caught.value)
    assert ConsentEvent.objects.filter(pk=event.pk).exists()


def test_consent_record_appends_and_moves_the_current_status(practice):
    services.consent_record(practice=practice, phone="(212) 555-0171", kind="opt_out", source="sms_keyword", told="Bye")
    assert consent_status(practice=practice, phone="+12125550171") == ContactConsent.Status.OPTED_OUT
    services.consent_record(practice=practice, phone="+12125550171", kind="opt_in", source="sms_keyword", told="Hi")
    assert consent_status(practice=practice, phone="+12125550171") == ContactConsent.Status.OPTED_IN
    kinds = list(ConsentEvent.objects.order_by("id").values_list("kind", "told"))
    assert kinds == [("opt_out", "Bye"), ("opt_in", "Hi")]


def test_consent_is_per_practice(practice, other_practice):
    services.consent_record(practice=practice, phone="+12125550171", kind="opt_out", source="sms_keyword")
    assert consent_status(practice=other_practice, phone="+12125550171") == ContactConsent.Status.UNKNOWN


def test_a_practice_override_replaces_the_default_wording(practice):
    assert message_text(practice=practice, key="opt_in_confirmation").startswith(practice.brand_name)
    MessageTemplate.objects.create(practice=practice, key="opt_in_confirmation", body="Welcome back to {brand}!")
    assert message_text(practice=practice, key="opt_in_confirmation") == f"Welcome back to {practice.brand_name}!"


def test_an_override_may_not_use_a_placeholder_its_message_lacks():
    with pytest.raises(ValidationError) as caught:
        validate_template_body(key="opt_in_confirmation", body="Hi {first_name} from {brand}")
    assert "first_name" in str(caught.value)
    with pytest.raises(ValidationError):
        validate_template_body(key="opt_in_confirmation", body="Unbalanced {brand")
    with pytest.raises(ValidationError):
        validate_template_body(key="no_such_message", body="Hi")


def test_every_default_message_names_the_practice():
    missing = [key for key, body in DEFAULTS.items() if "{brand}" not in body and key != "opt_out_hint"]
    assert missing == []


def test_a_price_range_reads_like_a_menu(practice):
    service = ServiceFactory(practice=practice, price_min=12, price_max=15, price_unit="per unit")
    assert service.price_range_text == "$12-$15 per unit"
    assert ServiceFactory(practice=practice, price_min=None, price_max=None).price_range_text == ""


def test_a_price_range_must_be_in_order(practice):
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceFactory(practice=practice, price_min=300, price_max=200)
