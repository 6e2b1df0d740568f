"""Which intake answers touch the clinical boundary, so that a provider reviews the visit first.

One table of cues. Each cue names the answers it reads and the words that trigger it; a word matches
case-insensitively on word boundaries, a `*` at either end stands for any letters ("pregnan*" is
pregnant and pregnancy), and a space stands for any run of spaces or hyphens. Like the escalation
rules, a negation nearby does not suppress a match: "stopped Accutane in March" is for the provider to
judge, never for the form to dismiss. The yes/no questions (pregnancy, isotretinoin) and the date of
birth add their own flags. Pure functions: no Django, no queries.
"""

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Cue:
    code: str
    reason: str  # what the provider reads on the schedule
    fields: tuple[str, ...]  # the answers it reads
    words: tuple[str, ...]


CUES: tuple[Cue, ...] = (
    Cue(
        "pregnancy",
        "Pregnant, trying to conceive or nursing",
        ("medications", "conditions"),
        ("pregnan*", "breastfe*", "breast fe*", "nursing", "lactat*", "prenatal*", "trying to conceive", "ivf"),
    ),
    Cue(
        "blood_thinner",
        "Blood thinner",
        ("medications", "conditions"),
        (
            "warfarin",
            "coumadin",
            "jantoven",
            "eliquis",
            "apixaban",
            "xarelto",
            "rivaroxaban",
            "pradaxa",
            "dabigatran",
            "savaysa",
            "edoxaban",
            "clopidogrel",
            "plavix",
            "prasugrel",
            "effient",
            "ticagrelor",
            "brilinta",
            "heparin",
            "enoxaparin",
            "lovenox",
            "aspirin",
            "asa 81",
            "blood thinner*",
            "anticoagula*",
            "antiplatelet*",
        ),
    ),
    Cue(
        "bleeding_disorder",
        "Bleeding disorder",
        ("conditions", "medications"),
        ("hemophilia", "haemophilia", "von willebrand*", "bleeding disorder*", "low platelet*", "thrombocytopeni*"),
    ),
    Cue(
        "isotretinoin",
        "Isotretinoin (Accutane)",
        ("medications", "prior_treatments"),
        ("isotretinoin", "accutane", "absorica", "amnesteem", "claravis", "myorisan", "zenatane", "sotret"),
    ),
    Cue(
        "lidocaine_allergy",
        "Allergy to lidocaine or numbing",
        ("allergies",),
        ("lidocaine", "lignocaine", "xylocaine", "*caine", "*cain", "numbing", "local an*sthetic*", "emla"),
    ),
    Cue(
        "hyaluronidase_allergy",
        "Allergy to hyaluronidase (or bee or wasp stings, which cross-react)",
        ("allergies",),
        (
            "hyaluronidase",
            "hylenex",
            "vitrase",
            "amphadase",
            "hydase",
            "bee",
            "bees",
            "bee sting*",
            "wasp*",
            "hornet*",
            "yellow jacket*",
        ),
    ),
    Cue(
        "filler_or_toxin_allergy",
        "Allergy to filler or botulinum toxin",
        ("allergies",),
        ("hyaluronic", "filler*", "botox", "botulinum", "dysport", "xeomin", "jeuveau", "daxxify", "albumin"),
    ),
    Cue(
        "cold_sore_or_infection",
        "Cold sores or an active skin infection",
        ("conditions", "medications"),
        (
            "cold sore*",
            "fever blister*",
            "herpes",
            "hsv*",
            "valtrex",
            "valacyclovir",
            "acyclovir",
            "shingles",
            "impetigo",
            "infection*",
            "infected",
            "open wound*",
        ),
    ),
    Cue(
        "autoimmune_or_neuromuscular",
        "Autoimmune or neuromuscular condition",
        ("conditions", "medications"),
        (
            "autoimmun*",
            "lupus",
            "rheumatoid",
            "scleroderma",
            "sj*gren*",
            "multiple sclerosis",
            "myasthenia*",
            "lambert eaton",
            "als",
            "neuromuscular",
            "guillain barr*",
        ),
    ),
    Cue(
        "recent_antibiotics",
        "Recent antibiotics",
        ("medications",),
        (
            "antibiotic*",
            "amoxicillin",
            "augmentin",
            "penicillin",
            "doxycycline",
            "minocycline",
            "azithromycin",
            "z pack",
            "zpack",
            "cephalexin",
            "keflex",
            "cipro",
            "ciprofloxacin",
            "levofloxacin",
            "clindamycin",
            "gentamicin",
            "bactrim",
        ),
    ),
)


def _pattern(word: str) -> str:
    core = word.strip("*")
    text = r"[\s\-]+".join(re.escape(part) for part in core.split())
    start = r"\w*" if word.startswith("*") else r"\b"
    end = r"\w*" if word.endswith("*") else r"\b"
    return start + text + end


_COMPILED = {cue.code: re.compile("|".join(_pattern(word) for word in cue.words), re.IGNORECASE) for cue in CUES}
ADULT_AGE = 18


def _words(found: list[str]) -> list[str]:
    """The matched words, as the patient wrote them, each once."""
    seen, words = set(), []
    for word in found:
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return words


def intake_flags(answers: dict, *, today: date) -> list[dict]:
    """The flags a provider must see for these answers: [{code, reason, fields, words}], in table order.

    `answers` are the intake form's cleaned answers (free text for medications, allergies, conditions
    and prior treatments; "yes"/"no"/"unsure" for the two questions; an ISO date of birth).
    """
    flags: dict[str, dict] = {}

    def add(code: str, reason: str, field: str, words: list[str]) -> None:
        flag = flags.setdefault(code, {"code": code, "reason": reason, "fields": [], "words": []})
        if field not in flag["fields"]:
            flag["fields"].append(field)
        flag["words"] = _words(flag["words"] + words)

    reasons = {cue.code: cue.reason for cue in CUES}
    if answers.get("pregnancy") in ("yes", "unsure"):
        add("pregnancy", reasons["pregnancy"], "pregnancy", [])
    if answers.get("isotretinoin") in ("yes", "unsure"):
        add("isotretinoin", "Isotretinoin (Accutane) in the last 12 months", "isotretinoin", [])
    for cue in CUES:
        for field in cue.fields:
            found = [match.group(0) for match in _COMPILED[cue.code].finditer(str(answers.get(field) or ""))]
            if found:
                add(cue.code, reasons[cue.code] if cue.code not in flags else flags[cue.code]["reason"], field, found)
    born = answers.get("date_of_birth")
    if born:
        born = date.fromisoformat(born) if isinstance(born, str) else born
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age < ADULT_AGE:
            add("minor", f"Under {ADULT_AGE}", "date_of_birth", [])
    order = [cue.code for cue in CUES] + ["minor"]
    return sorted(flags.values(), key=lambda flag: order.index(flag["code"]))


def review_reasons(flags: list[dict]) -> list[str]:
    """One line per flag for the schedule: "Blood thinner: Eliquis"."""
    return [f"{flag['reason']}: {', '.join(flag['words'])}" if flag["words"] else flag["reason"] for flag in flags]
