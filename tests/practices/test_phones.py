import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from practices.models import Patient
from practices.phones import InvalidPhoneNumber, mask_phone, normalize_phone
from tests.factories import PatientFactory


@pytest.mark.parametrize(
    "raw",
    [
        "(212) 555-0171",
        "212-555-0171",
        "212.555.0171",
        "+1 212 555 0171",
        "1 (212) 555 0171",
        " 2125550171 ",
        "whatsapp:+12125550171",
    ],
)
def test_it_normalises_us_numbers_to_e164(raw):
    assert normalize_phone(raw) == "+12125550171"


def test_it_keeps_international_numbers_in_e164():
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "   ", "hello", "555", "+1 212 555", "+1 000 000 0000", "12345678901234567"])
def test_it_rejects_what_is_not_a_phone_number(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)


def test_mask_shows_only_the_last_four_digits():
    assert mask_phone("+12125550171") == "•••-•••-0171"


def test_a_saved_patient_phone_is_stored_as_e164(practice):
    patient = PatientFactory(practice=practice, phone="(646) 555-0188")
    patient.refresh_from_db()
    assert patient.phone == "+16465550188"


def test_saving_an_invalid_phone_is_refused_and_stores_nothing(practice):
    with pytest.raises(ValidationError), transaction.atomic():
        Patient.objects.create(practice=practice, phone="not a number")
    assert not Patient.objects.exists()


def test_full_clean_reports_an_invalid_phone_on_the_field(practice):
    patient = Patient(practice=practice, phone="12")
    with pytest.raises(ValidationError) as caught:
        patient.full_clean()
    assert "phone" in caught.value.message_dict
