"""The new-patient intake form: what the patient fills in on their phone, field by field."""

from datetime import date

from django import forms
from django.utils import timezone

from practices.models import IntakeAcknowledgement

YES_NO_UNSURE = [("no", "No"), ("yes", "Yes"), ("unsure", "Not sure")]
OLDEST = 120  # years: a date of birth before this is a typo


def _text(label: str, help_text: str, *, required: bool = True, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": "Please answer this, or write “none”."},
    )


class IntakeAnswersForm(forms.Form):
    first_name = forms.CharField(
        label="First name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.EmailField(
        label="Email",
        required=False,
        help_text="For your visit details and receipts.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter your date of birth as a date, like 1990-04-21."},
    )
    medications = _text(
        "Medications and supplements",
        "Everything you take, including aspirin, blood thinners, acne medicine and supplements. Or write “none”.",
    )
    allergies = _text(
        "Allergies",
        "To medicines, numbing creams (like lidocaine), latex, foods or insect stings. Or write “none”.",
    )
    pregnancy = forms.ChoiceField(
        label="Are you pregnant, trying to become pregnant, or breastfeeding?",
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose an answer."},
    )
    isotretinoin = forms.ChoiceField(
        label="Have you taken isotretinoin (Accutane) in the last 12 months?",
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
        error_messages={"required": "Please choose an answer."},
    )
    conditions = _text(
        "Health conditions",
        "For example cold sores, a skin infection, an autoimmune or neuromuscular condition, a bleeding "
        "disorder, or antibiotics you are taking now. Or write “none”.",
    )
    prior_treatments = _text(
        "Prior aesthetic treatments",
        "Botox, fillers, lasers, peels or other treatments, and roughly when. Leave empty if none.",
        required=False,
    )

    def __init__(self, *args, acknowledgements: list[IntakeAcknowledgement], **kwargs):
        super().__init__(*args, **kwargs)
        self.acknowledgements = acknowledgements
        for acknowledgement in acknowledgements:
            self.fields[self.ack_field(acknowledgement)] = forms.BooleanField(
                label=acknowledgement.title,
                help_text=acknowledgement.text,
                error_messages={"required": "Please read this and tick the box to continue."},
            )

    @staticmethod
    def ack_field(acknowledgement: IntakeAcknowledgement) -> str:
        return f"ack_{acknowledgement.pk}"

    def acknowledgement_fields(self):
        return [self[self.ack_field(acknowledgement)] for acknowledgement in self.acknowledgements]

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born >= today:
            raise forms.ValidationError("Your date of birth must be in the past.")
        if born.year < today.year - OLDEST:
            raise forms.ValidationError("Please check the year of your date of birth.")
        return born

    def answers(self) -> dict:
        """The cleaned answers, with what each acknowledgement said when the patient ticked it."""
        data = {name: value for name, value in self.cleaned_data.items() if not name.startswith("ack_")}
        for name in ("first_name", "last_name", "email", "medications", "allergies", "conditions", "prior_treatments"):
            data[name] = data[name].strip()
        data["acknowledged"] = [
            {"id": acknowledgement.pk, "title": acknowledgement.title, "text": acknowledgement.text}
            for acknowledgement in self.acknowledgements
        ]
        return data
