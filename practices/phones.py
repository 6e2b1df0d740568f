"""Phone numbers in one shape: E.164 (+15551234567), parsed with the phonenumbers library."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models

DEFAULT_REGION = "US"


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number that could receive a call or a text."""


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Return `raw` as E.164, or raise InvalidPhoneNumber.

    Twilio's WhatsApp addresses (`whatsapp:+1...`) are accepted and returned without the prefix;
    the channel is recorded elsewhere.
    """
    text = (raw or "").strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    if not text:
        raise InvalidPhoneNumber("A phone number is required.")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("This is not a phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("This phone number is not valid.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Show only the last four digits, for pages that list many patients."""
    return f"•••-•••-{e164[-4:]}" if e164 else ""


def validate_phone(value: str) -> None:
    try:
        normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise ValidationError(str(exc), code="invalid_phone") from None


class PhoneNumberField(models.CharField):
    """A CharField that only ever stores E.164.

    Forms and full_clean() normalise through to_python; a direct save() normalises in pre_save and
    refuses a value that is not a phone number, so no code path can store another shape.
    """

    default_validators = [validate_phone]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 20:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise ValidationError(str(exc), code="invalid_phone") from None

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value in self.empty_values:
            return value
        normalized = self.to_python(value)
        setattr(model_instance, self.attname, normalized)
        return normalized
