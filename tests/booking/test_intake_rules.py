"""The clinical-boundary rules for intake answers: each cue flags, case-insensitively, in the answers it reads."""

from datetime import date

import pytest

from booking.intake_rules import CUES, intake_flags, review_reasons

TODAY = date(2026, 12, 2)
NOTHING = {
    "date_of_birth": "1990-04-21",
    "medications": "none",
    "allergies": "none",
    "pregnancy": "no",
    "isotretinoin": "no",
    "conditions": "none",
    "prior_treatments": "Botox twice, last in June",
}


def codes(**answers) -> list[str]:
    return [flag["code"] for flag in intake_flags({**NOTHING, **answers}, today=TODAY)]


def test_plain_answers_flag_nothing():
    assert intake_flags(NOTHING, today=TODAY) == []


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_pregnancy_or_nursing_by_the_question(answer):
    assert codes(pregnancy=answer) == ["pregnancy"]


@pytest.mark.parametrize(
    "field, text",
    [
        ("conditions", "Currently BREASTFEEDING my 4 month old"),
        ("medications", "prenatal vitamins"),
        ("conditions", "we are trying to conceive"),
        ("conditions", "I'm 12 weeks pregnant"),
    ],
)
def test_pregnancy_or_nursing_in_their_own_words(field, text):
    assert codes(**{field: text}) == ["pregnancy"]


@pytest.mark.parametrize(
    "medication",
    [
        "Warfarin 5mg",
        "eliquis",
        "Apixaban twice a day",
        "XARELTO",
        "clopidogrel (Plavix)",
        "aspirin daily",
        "baby aspirin 81mg",
        "a blood-thinner after my surgery",
        "Lovenox injections",
    ],
)
def test_blood_thinners(medication):
    assert codes(medications=medication) == ["blood_thinner"]


def test_isotretinoin_by_the_question_and_by_name():
    assert codes(isotretinoin="yes") == ["isotretinoin"]
    assert codes(medications="finished Accutane in March") == ["isotretinoin"]
    assert codes(medications="Absorica") == ["isotretinoin"]
    flags = intake_flags({**NOTHING, "isotretinoin": "yes"}, today=TODAY)
    assert review_reasons(flags) == ["Isotretinoin (Accutane) in the last 12 months"]


@pytest.mark.parametrize("allergy", ["Lidocaine", "allergic to novocaine at the dentist", "numbing cream", "EMLA"])
def test_allergy_to_lidocaine_or_numbing(allergy):
    assert codes(allergies=allergy) == ["lidocaine_allergy"]


@pytest.mark.parametrize("allergy", ["hyaluronidase", "Hylenex", "bee stings", "wasps"])
def test_allergy_to_hyaluronidase_or_stings_that_cross_react(allergy):
    assert codes(allergies=allergy) == ["hyaluronidase_allergy"]


@pytest.mark.parametrize(
    "field, text, code",
    [
        ("conditions", "I get cold sores", "cold_sore_or_infection"),
        ("medications", "Valtrex when I get a flare", "cold_sore_or_infection"),
        ("conditions", "Lupus", "autoimmune_or_neuromuscular"),
        ("conditions", "myasthenia gravis", "autoimmune_or_neuromuscular"),
        ("medications", "amoxicillin for a tooth", "recent_antibiotics"),
        ("conditions", "von Willebrand disease", "bleeding_disorder"),
        ("allergies", "had a reaction to a hyaluronic filler", "filler_or_toxin_allergy"),
    ],
)
def test_other_cues(field, text, code):
    assert codes(**{field: text}) == [code]


def test_cues_read_only_their_own_answers():
    # Aspirin as an allergy is not a blood thinner; "bee" in prior treatments is not an allergy.
    assert codes(allergies="aspirin, penicillin") == []
    assert codes(prior_treatments="bee venom facial") == []
    assert codes(allergies="beef") == []


def test_words_match_whole_words_only():
    assert codes(conditions="salsa dancing, falls season allergies") == []
    assert codes(medications="aspirinx") == []


def test_a_minor_is_flagged_by_date_of_birth():
    assert codes(date_of_birth="2010-01-01") == ["minor"]
    assert codes(date_of_birth="2008-12-02") == []  # 18 today


def test_several_cues_in_table_order_with_the_words_the_patient_used():
    flags = intake_flags(
        {**NOTHING, "pregnancy": "yes", "medications": "Eliquis, aspirin", "allergies": "LIDOCAINE"}, today=TODAY
    )
    assert [flag["code"] for flag in flags] == ["pregnancy", "blood_thinner", "lidocaine_allergy"]
    assert review_reasons(flags) == [
        "Pregnant, trying to conceive or nursing",
        "Blood thinner: Eliquis, aspirin",
        "Allergy to lidocaine or numbing: LIDOCAINE",
    ]


def test_every_cue_in_the_table_can_fire():
    for cue in CUES:
        word = next(word.strip("*") for word in cue.words if " " not in word.strip("*"))
        assert cue.code in codes(**{cue.fields[0]: f"note: {word.upper()}"}), cue.code
