"""The hard boundary: language that staff must handle, found by explicit rules that always win.

Emergency language is matched generously: misspellings, hedges ("not sure if it's normal"), Spanish,
and no negation escape. "No pain but my lip is white" is an emergency: a negation nearby never
suppresses a safety match, because missing an emergency is the worst failure this product can have.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    EMERGENCY = "emergency"
    CLINICAL = "clinical"
    HUMAN_REQUEST = "human_request"
    COMPLAINT = "complaint"
    EXCEPTION = "exception"


# Lower is more urgent.
PRIORITY = {
    Category.EMERGENCY: 0,
    Category.CLINICAL: 1,
    Category.HUMAN_REQUEST: 2,
    Category.COMPLAINT: 2,
    Category.EXCEPTION: 3,
}

BODY = (
    r"(lip|lips|labio|skin|piel|nose|nariz|cheek|mejilla|chin|face|cara|area|spot|injection|filler|forehead|tip|patch)"
)
COLOUR = r"(white|whit|whiteish|whitish|blanch\w*|pale|blue|blu|bluish|purple|purpl\w*|dusky|grey|gray|greyish|grayish|mottled|blotch\w*|morad\w*|blanc\w*|azul\w*|palid\w*)"

EMERGENCY_PATTERNS = {
    "trouble swallowing": r"(swal+o+w|swalo|swolow|swallo|tragar|trago)",
    "trouble breathing": r"(breath|breth|brea?th|can'?t\s+breathe|short(ness)?\s+of\s+breath|respir|no\s+puedo\s+respirar|wheez)",
    "throat closing": r"(throat|garganta)\W+(\w+\W+){0,4}(tight|closing|close|swell|swollen|cerrando|hinchad)",
    "vision change": r"(vision|blurr?(y|ed)?|blur|can'?t\s+(really\s+)?see|see\s+out\s+of|double\s+vision|seeing\s+(double|spots|stars)|lost\s+sight|"
    r"eye\w*\W+(\w+\W+){0,5}(blur|dark|black|dim|fuzzy)|vista|ver\s+bien|veo\s+borroso|borros)",
    "skin colour change": rf"({COLOUR}\W+(\w+\W+){{0,4}}{BODY}|{BODY}\W+(\w+\W+){{0,5}}{COLOUR}|"
    r"(turn|turning|went|going|looks?|is|getting)\s+(\w+\s+){0,3}(white|blue|purple|dusky|grey|gray|pale)|blanching|livedo)",
    "severe swelling": r"((sever|huge|massive|enormous|extreme|really\s+bad|very\s+bad|getting\s+(bigger|worse|huge)|spre+a?d\w*|"
    r"keeps?\s+(growing|getting)|won'?t\s+stop)\W+(\w+\W+){0,3}swell\w*|swell\w*\W+(\w+\W+){0,6}(spre+a?d\w*|worse|bigger|"
    r"huge|sever\w*|massive|won'?t\s+go\s+down|to\s+my\s+(eye|neck))|hinchaz[oó]n\s+(muy\s+)?(fuerte|grave|sever)|"
    r"mucha\s+hinchaz|(super|so|really|very|extremely)\s+swollen|swell\w*\s+shut|swollen\s+shut)",
    "drooping or weakness": r"(droop\w*|eyelid\W+(\w+\W+){0,3}(fall|drop|heavy)|can'?t\s+(lift|close|open|raise)\s+my\s+"
    r"(eye|brow|lid)|face\s+(is\s+)?(numb|weak)|weakness|one\s+side\s+of\s+my\s+face|parpado\s+caido|caid[oa])",
    "infection signs": r"(pus\b|puss\b|oozing|ooze|fever|feverish|infected|infect(ion)?\s+(at|in|on|around)\s+(the|my)\s+"
    r"(injection|site|lip|lips|area|face|cheek)|(looks|think|might|could|maybe)\s+(be\s+)?(it'?s\s+)?(an?\s+)?infect\w*|"
    r"hot\s+to\s+(the\s+)?touch|hot\s+(and\s+)?red|red\s+and\s+(hot|spreading)|(red|redness)\W+(\w+\W+){0,4}spreading|"
    r"red\s+streak\w*|abscess|fiebre|infectad\w*)",
    "allergic reaction": r"(hives|anaphyla\w*|al+er+gic\s+reaction|reaccion\s+alergica|rash\s+all\s+over|ronchas|"
    r"tongue\W+(\w+\W+){0,3}(swell\w*|swollen)|face\s+(is\s+)?swell\w*\s+up|epipen)",
    "urgent": r"((?<!family\s)(?<!work\s)(?<!personal\s)(?<!kid\s)emergency|emergencia|\b911\b|\ber\b|urgent\w*|urgente|severe\s+pain|dolor\s+fuerte|excruciating)",
}

CLINICAL_PATTERNS = {
    "pregnancy or nursing": r"(pregnan\w*|embarazad\w*|breast\s*-?\s*feed\w*|nursing|lactan\w*|trying\s+to\s+conceive|ttc\b)",
    "medications": r"(blood\s+thinner|thinners|aspirin|ibuprofen|advil|eliquis|warfarin|xarelto|accutane|isotretinoin|"
    r"antibiotic\w*|medication\w*|\bmeds\b|retin-?a|tretinoin|ozempic|semaglutide|steroid\w*|medicamento\w*|pastillas|"
    r"anticoagulant\w*|puedo\s+hacerme)",
    "eligibility or safety": r"(is\s+it\s+safe|safe\s+(to|for|if)|es\s+seguro|am\s+i\s+a\s+(good\s+)?candidate|eligible|"
    r"can\s+i\s+(still\s+)?(get|do|have)\s+\w+(\s+\w+)?\s+(if|while|after|with)|ok(ay)?\s+to\s+(get|do|have|work\s*out|"
    r"drink|fly|exercise)|should\s+i\s+(be\s+)?(worried|concerned)|is\s+(this|that|it)\s+normal|es\s+normal|normal\s+after)",
    "dose or product": r"(how\s+many\s+units|units?\s+(do|would|will)\s+i|dos(e|age|is)|which\s+(filler|product|one\s+is\s+better)|"
    r"how\s+many\s+(syringes|vials|sessions\s+would\s+i)|(juvederm|restylane|rha|sculptra|radiesse|xeomin|daxxify|jeuveau)\s+(or|vs|versus)|should\s+i\s+(get|do)\s+\w+\s+or|"
    r"which\s+(is|would\s+be)\s+better|better\s+for\s+my)",
    "medical history": r"(medical\s+(history|condition)|diabet\w*|autoimmune|lupus|herpes|cold\s+sores?|keloid\w*|"
    r"allergic\s+to|allergy\s+to|alergic\w*\s+to|lidocaine|hyaluronidase|pacemaker|bell'?s\s+palsy|myasthenia|"
    r"cancer|chemo|surgery|cirug\w*)",
    "side effects": r"(side\s+effects?|bruis\w*|moret\w*|lump\w*|bump\w*|bulto|asymmetr\w*|uneven\s+(after|since)|"
    r"swell\w*|hinchad\w*|itch\w*|sore\s+(after|since)|tender|redness|numb(ness)?\s+(after|since|still)|still\s+numb|"
    r"(is|feels?|went)\s+numb|headache|migrain\w*|dolor)",
}

HUMAN_PATTERNS = {
    "asked for a person": r"((talk|speak|chat|hablar)\s+(to|with|con)\s+(a\s+|an\s+|the\s+|una\s+|alguien|someone|somebody)?"
    r"(real\s+)?(person|human|someone|somebody|staff|manager|nurse|receptionist|front\s+desk|doctor|persona|alguien|"
    r"injector|provider|owner)|real\s+person|a\s+human|actual\s+person|live\s+(person|agent)|representative|"
    r"(can|could)\s+(someone|somebody|a\s+person|you|u)\s+(please\s+)?call\s+me|call\s+me\s+(back|asap|please|pls)|"
    r"have\s+someone\s+call|(someone|somebody)\s+(from\s+\w+(\s+\w+)?\s+)?(to\s+)?call\s+me|give\s+me\s+a\s+call|\bagent\b|"
    r"\brobot\b|text\s+with\s+a\s+bot|is\s+this\s+a\s+(bot|robot|machine|computer)|are\s+you\s+(a\s+)?(bot|"
    r"robot|real|human)|no\s+bots?|stop\s+the\s+bot|agent\s+please|operator|llam[ae]n?me|una\s+persona\s+real)",
}

COMPLAINT_PATTERNS = {
    "unhappy": r"(not\s+happy|unhappy|disappoint\w*|terrible|horrible|awful|worst|rude|unprofessional|ridiculous|"
    r"waited\s+(for\s+)?(over\s+)?(an\s+hour|forever|\d+\s*(min|minutes|hours?))|lopsided|botched|ruined|waste\s+of\s+"
    r"(money|time)|furious|angry|pissed|upset|frustrat\w*|never\s+coming\s+back|complain\w*|scam|overcharg\w*|charged\s+"
    r"(me\s+)?(twice|double|wrong)|didn'?t\s+work|did\s+nothing|no\s+results?|not\s+(what\s+i\s+(asked|wanted|paid))|"
    r"annoying|nobody\s+(ever\s+)?(calls?|called|gets?|got|texts?)\s+(me\s+)?back|no\s+one\s+(ever\s+)?(calls?|called)\s+"
    r"(me\s+)?back|left\s+(\d+|two|three|several|multiple)\s+(voicemails|messages)|keeps?\s+texting\s+me\s+the\s+same|"
    r"keep\s+cancel\w*\s+on\s+me|didn'?t\s+listen|look\s+(huge|fake|awful)|what\s+the\s+(heck|hell)|charged\s+for\s+\d+|"
    r"molest\w*|queja|p[eé]sim\w*|mal\s+servicio|no\s+estoy\s+content\w*|uneven|crooked|looks?\s+(bad|awful|terrible|weird))",
}

EXCEPTION_PATTERNS = {
    "refund, discount or waiver": r"(refund\w*|money\s+back|reembols\w*|devol\w*\s+(mi\s+)?dinero|discount\w*|descuento\w*|"
    r"price\s*match|match\s+(their|a|the)\s+price|waive\w*|cancel(lation)?\s+fee|late\s+fee|no-?show\s+fee|"
    r"freeze\s+my\s+membership|pause\s+my\s+membership|cancel\s+my\s+membership|roll\s*over\s+(my\s+)?credits|"
    r"exception|comp\s+(me|it)|(could|would|can)\s+you\s+do\s+\$|beat\s+(their|that|the)\s+price|for\s+free|free\s+(session|treatment|touch\s*-?\s*up)|cheaper)",
}

_RULES = [
    (Category.EMERGENCY, EMERGENCY_PATTERNS),
    (Category.CLINICAL, CLINICAL_PATTERNS),
    (Category.HUMAN_REQUEST, HUMAN_PATTERNS),
    (Category.COMPLAINT, COMPLAINT_PATTERNS),
    (Category.EXCEPTION, EXCEPTION_PATTERNS),
]
_COMPILED = [
    (category, [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in patterns.items()])
    for category, patterns in _RULES
]


def normalize(text: str) -> str:
    """Lower case, accents folded (tragár = tragar), curly quotes straightened, letters repeated
    three or more times cut to two ("sooo" = "soo"), space squeezed."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.replace("’", "'").replace("‘", "'").lower()
    folded = re.sub(r"(\w)\1{2,}", r"\1\1", folded)
    return " ".join(folded.split())


@dataclass(frozen=True)
class Detection:
    category: Category
    reasons: list[str] = field(default_factory=list)

    @property
    def priority(self) -> int:
        return PRIORITY[self.category]


def detect_all(text: str) -> list[Detection]:
    """Every category the text touches, most urgent first, with the rule names that matched."""
    clean = normalize(text)
    found = []
    for category, patterns in _COMPILED:
        reasons = [name for name, pattern in patterns if pattern.search(clean)]
        if reasons:
            found.append(Detection(category, reasons))
    # Side effects alone are clinical questions; with an emergency sign they are the emergency.
    return sorted(found, key=lambda d: d.priority)


def detect(text: str) -> Detection | None:
    found = detect_all(text)
    return found[0] if found else None
