"""Understanding a patient's message: intent, service, time preferences, a chosen slot, cues.

Deterministic, explainable and offline. Everything sits behind `Understander`, so a language-model
backend can be added later without changing the dialogue: it only has to return an Understanding.
Consent words and the escalation rules are applied first and always win.
"""

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from escalations.rules import Category, detect, normalize

from .consent import ConsentIntent, consent_intent

INTENTS = [
    "book",
    "reschedule",
    "cancel",
    "confirm",
    "pricing",
    "hours_location",
    "membership",
    "event_offer",
    "question",
    "opt_out",
    "opt_in",
    "help",
    "human",
    "clinical",
    "emergency",
    "complaint",
    "greeting",
    "other",
]


@dataclass(frozen=True)
class MenuItem:
    slug: str
    names: tuple[str, ...]  # the service's name and every synonym patients use


@dataclass
class TimePreference:
    dates: list[str] = field(default_factory=list)  # ISO local dates
    weekdays: list[int] = field(default_factory=list)  # Monday = 0
    parts_of_day: list[str] = field(default_factory=list)
    earliest: str | None = None  # "15:00"
    latest: str | None = None
    asap: bool = False
    range_start: str | None = None  # ISO local date: "next week" -> its Monday
    range_end: str | None = None

    def is_empty(self) -> bool:
        return not (
            self.dates
            or self.weekdays
            or self.parts_of_day
            or self.earliest
            or self.latest
            or self.asap
            or self.range_start
        )


@dataclass
class Understanding:
    intent: str
    service: str | None = None
    times: TimePreference = field(default_factory=TimePreference)
    choice: int | None = None  # 1-based index into the slots offered
    new_patient: bool | None = None
    location: str | None = None
    cues: list[str] = field(default_factory=list)  # event, membership, spanish...
    escalation: str | None = None
    reasons: list[str] = field(default_factory=list)  # why: the rules that decided

    def as_dict(self) -> dict:
        return asdict(self)


class Understander(Protocol):
    def understand(
        self,
        text: str,
        *,
        menu: list[MenuItem],
        now: datetime,
        zone: ZoneInfo,
        offered: list[datetime] | None = None,
        locations: dict[str, list[str]] | None = None,
    ) -> Understanding: ...


# Intent rules, tried in order after consent and escalation. Each is (intent, pattern).
_REPLY_WORDS = {
    "c": "cancel",
    "r": "reschedule",
    "y": "confirm",
    "yes": "confirm",
    "yep": "confirm",
    "yeah": "confirm",
    "confirm": "confirm",
    "confirmed": "confirm",
    "si": "confirm",
    "ok confirmed": "confirm",
}
_INTENT_RULES = [
    ("other", r"(click\s+here|you'?ve\s+won|congratulations!?\s+you|claim\s+(your|now)|https?://|wrong\s+number)"),
    (
        "reschedule",
        r"(reschedul\w*|re-schedul\w*|move\s+(my|the|it|our)|change\s+(my|the)\s+(\w+\s+){0,3}(appt|appointment|"
        r"time|day|booking)|push\s+(it|my|back)|different\s+(day|time)|another\s+(day|time)|switch\s+(my|to)|\binstead\b|"
        r"(later|earlier)\s+(time|slot|appt|appointment)|doesn'?t\s+work\s+any\s*more|reprogram\w*|cambiar\s+(mi|la)\s+cita|"
        r"mover\s+mi\s+cita|otro\s+dia)",
    ),
    (
        "cancel",
        r"(cancel\s+(?!my\s+membership)(my|the|our|tomorrow|tmrw|today|appt|appointment|booking|it|for)|"
        r"cancel\w*\s+(?!my\s+membership)(my|the)|"
        r"can'?t\s+make\s+it|won'?t\s+(be\s+able\s+to\s+)?make\s+it|cant\s+come|not\s+(going\s+to|gonna)\s+make|"
        r"need\s+to\s+cancel|have\s+to\s+cancel|want\s+to\s+cancel|cancelar|no\s+voy\s+a\s+poder\s+ir)",
    ),
    (
        "confirm",
        r"(\bconfirm\w*|i'?ll\s+be\s+there|see\s+(you|u|ya)\s+(then|tomorrow|tmrw|soon|on|at|thursday|friday|monday|"
        r"tuesday|wednesday|saturday)|we'?re\s+good\s+for|still\s+on\s+for|confirmo|alli\s+estare|ahi\s+estare)",
    ),
    (
        "question",
        r"(deposit|financ\w*|payment\s+plan|cherry|care\s*credit|klarna|afterpay|gift\s*card|policy|policies|"
        r"how\s+long\s+(does|do|is|will|until|till|before)|what\s+should\s+i\s+(wear|bring|expect)|do\s+you\s+take|"
        r"insurance|hsa|fsa|downtime|does\s+it\s+hurt|do\s+i\s+need\s+(a|to)|can\s+i\s+bring|who\s+(does|do|will|is\s+doing)|"
        r"virtual|do\s+you\s+accept|minimum\s+age|how\s+old|do\s+you\s+(treat|see|do)\s+(men|guys|teens|kids)|deposito|financiamiento|tarjeta\s+de\s+regalo|pagos?\s+a\s+plazos|aceptan)",
    ),
    (
        "pricing",
        r"(how\s+much(?!\s+time)|\bprices?\b|pricing|\bcosts?\b|\$|\bfee\b|\bfree\b|per\s+unit|per\s+syringe|rates?\b|charge\s+for|"
        r"expensive|cheap|cuanto\s+(cuesta|cuestan|es|sale)|precio\w*|cuanto\s+vale)",
    ),
    (
        "membership",
        r"(membership|\bmember\b|members|glow\s+club|\bcredits?\b|renew\w*|monthly\s+plan|membresia|"
        r"subscription\s+plan)",
    ),
    (
        "event_offer",
        r"(\bevent\b|special\w*|promo\w*|\bdeals?\b|\boffers?\b|vip|open\s+house|injectables?\s+night|"
        r"\bsale\b|black\s+friday|holiday\s+(deal|special|promo)|coupon|code\b|oferta\w*|promocion\w*|evento)",
    ),
    (
        "hours_location",
        r"(\bhours\b|what\s+time\s+do\s+you\s+(open|close|stop)|stop\s+taking|last\s+appointment|entrance|"
        r"building|find\s+(your|the)\s+(office|place|spa|clinic)|\bfloor\b|\bsuite\b|a\s+que\s+hora\s+(abren|cierran)|"
        r"\babren\b|\bcierran\b|\bopen\s+(on|today|tomorrow|sunday|saturday|"
        r"late|till|until)|are\s+you\s+open|\bclose\b|closing|address|located|location|where\s+are\s+you|directions|"
        r"parking|\bpark\b|horario|direccion|donde\s+estan|ubicacion|estacionamiento)",
    ),
    (
        "book",
        r"(\bbook\w*|appointment|\bappt\w*|availab\w*|opening\w*|\bopen\s+(slot|time|spot)|schedul\w*|come\s+in|"
        r"get\s+in|fit\s+me\s+in|when\s+can\s+(u|you|i)|\bslots?\b|any\s*(thing|time|one)\s+(for|on|this|next|open|available)|do\s+you\s+have\s+(any|anything|"
        r"time|something|room)|can\s+i\s+(get|come|do)|i\s+(want|need|would\s+like|wanna|'?d\s+like)\s+(to\s+)?(get|do|book|"
        r"try|come)|interested\s+in|looking\s+(for|to\s+get|into)|sign\s+me\s+up|cita|agendar|reservar|quiero\s+hacer|"
        r"quisiera|tienen\s+(algo|espacio|disponib))",
    ),
]
_GREETING = re.compile(
    r"^((um|uh|oh|well)\s+)?(hi+|hey+|hello+|hiya|howdy|hola|yo|good\s+(morning|afternoon|evening)|buenos\s+dias|"
    r"buenas(\s+tardes|\s+noches)?)(\s+(there|again|all|hi+|hello+|hey+))*$"
)
_INTENT_COMPILED = [(intent, re.compile(pattern, re.IGNORECASE)) for intent, pattern in _INTENT_RULES]

_ESCALATION_INTENT = {
    Category.EMERGENCY: "emergency",
    Category.CLINICAL: "clinical",
    Category.HUMAN_REQUEST: "human",
    Category.COMPLAINT: "complaint",
}

_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "lunes": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "martes": 1,
    "wednesday": 2,
    "wed": 2,
    "weds": 2,
    "miercoles": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "jueves": 3,
    "friday": 4,
    "fri": 4,
    "viernes": 4,
    "saturday": 5,
    "sat": 5,
    "sabado": 5,
    "sunday": 6,
    "sun": 6,
    "domingo": 6,
}
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "primera": 1,
    "primero": 1,
    "segunda": 2,
    "segundo": 2,
    "tercera": 3,
    "tercero": 3,
    "last": -1,
    "ultima": -1,
}


def match_service(text: str, menu: list[MenuItem]) -> tuple[str | None, str]:
    """The menu item the text names, tolerant of misspellings; (slug, the words that matched)."""
    clean = re.sub(r"[^a-z0-9 ]", " ", normalize(text))
    words = clean.split()
    best: tuple[float, int, str | None, str] = (0.0, 0, None, "")
    for item in menu:
        for name in item.names:
            target = re.sub(r"[^a-z0-9 ]", " ", normalize(name)).strip()
            if not target:
                continue
            size = len(target.split())
            for n in {size, size + 1, max(1, size - 1)}:
                for i in range(0, max(1, len(words) - n + 1)):
                    window = " ".join(words[i : i + n])
                    if not window:
                        continue
                    if window == target:
                        score = 100.0
                    elif len(target) <= 4 or len(window) <= 3:
                        continue  # "tox", "lhr", "ipl": exact only, or "to" would become "tox"
                    else:
                        score = fuzz.ratio(window, target)
                    # Longer names win ties: "lip filler" over "filler".
                    if score >= 84 and (score, len(target)) > (best[0], best[1]):
                        best = (score, len(target), item.slug, window)
    return best[2], best[3]


def _next_weekday(today: date, weekday: int, *, next_week: bool = False) -> date:
    days = (weekday - today.weekday()) % 7
    if next_week:
        days += 7 if days == 0 or today.weekday() <= weekday else 0
    return today + timedelta(days=days)


def _clock(hour: str, minute: str | None, meridiem: str | None) -> time | None:
    h = int(hour)
    m = int(minute) if minute else 0
    if h > 23 or m > 59:
        return None
    if meridiem in ("pm", "p") and h < 12:
        h += 12
    elif meridiem in ("am", "a") and h == 12:
        h = 0
    elif meridiem is None and 1 <= h <= 7:
        h += 12  # "after 3" at a med spa means 3 pm
    return time(h, m)


_TIME = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a|p)?\b"


def parse_times(text: str, *, now: datetime, zone: ZoneInfo) -> TimePreference:
    """Time preferences in the patient's words, resolved in the location's zone."""
    clean = normalize(text)
    today = now.astimezone(zone).date()
    pref = TimePreference()
    dates: set[date] = set()
    if re.search(
        r"\b(asap|a\.s\.a\.p|soonest|earliest|as\s+soon\s+as|first\s+available|lo\s+antes\s+posible)\b", clean
    ):
        pref.asap = True
    if re.search(r"\b(today|tonight|hoy|esta\s+noche)\b", clean):
        dates.add(today)
    if re.search(r"\b(tomorrow|tmrw|tmr|tmrow|tomorow|2morrow|tomm?orr?ow|manana)\b", clean):
        dates.add(today + timedelta(days=1))
    next_week = re.search(r"\bnext\s+(week|wk)\b|\bla\s+proxima\s+semana\b|\bsemana\s+que\s+viene\b", clean)
    if next_week:
        monday = today + timedelta(days=7 - today.weekday())
        pref.range_start, pref.range_end = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    elif re.search(r"\b(this\s+week|esta\s+semana)\b", clean):
        pref.range_start = today.isoformat()
        pref.range_end = (today + timedelta(days=6 - today.weekday())).isoformat()
    if re.search(r"\b(this\s+)?weekend\b|\bfin\s+de\s+semana\b", clean):
        pref.weekdays += [5, 6]
    for word, weekday in _WEEKDAYS.items():
        match = re.search(rf"\b(next\s+|este\s+|el\s+proximo\s+)?{word}s?\b", clean)
        if match:
            if weekday not in pref.weekdays:
                pref.weekdays.append(weekday)
            dates.add(_next_weekday(today, weekday, next_week=bool(match.group(1) and "next" in match.group(1))))
    for day in re.findall(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b|\b(\d{1,2})(?:st|nd|rd|th)\b", clean):
        number = int(day[0] or day[1])
        if 1 <= number <= 31:
            candidate = today.replace(day=1)
            for _ in range(2):
                try:
                    target = candidate.replace(day=number)
                except ValueError:
                    target = None
                if target and target >= today:
                    dates.add(target)
                    break
                candidate = (candidate + timedelta(days=32)).replace(day=1)
    parts = []
    if re.search(r"\b(morning|mornings|am\s+slot|manana\s+temprano|en\s+la\s+manana|early)\b", clean):
        parts.append("morning")
    if re.search(r"\b(afternoon|afternoons|lunch|lunchtime|midday|tarde)\b", clean):
        parts.append("afternoon")
    if re.search(r"\b(evening|evenings|after\s+work|tonight|late|noche)\b", clean):
        parts.append("evening")
    pref.parts_of_day = parts
    after = re.search(rf"\b(after|past|from|no\s+earlier\s+than|despues\s+de\s+las?)\s+{_TIME}", clean)
    if after:
        moment = _clock(after.group(2), after.group(3), after.group(4))
        pref.earliest = moment.strftime("%H:%M") if moment else None
    before = re.search(rf"\b(before|by|until|no\s+later\s+than|antes\s+de\s+las?)\s+{_TIME}", clean)
    if before:
        moment = _clock(before.group(2), before.group(3), before.group(4))
        pref.latest = moment.strftime("%H:%M") if moment else None
    if re.search(r"\bbefore\s+(noon|lunch|12)\b", clean):
        pref.latest = "12:00"
    pref.dates = sorted(d.isoformat() for d in dates)
    return pref


def parse_choice(text: str, offered: list[datetime] | None) -> int | None:
    """Which of the offered times the patient picked: "2", "#3", "the second one", "the 2:30 works"."""
    if not offered:
        return None
    clean = normalize(text).strip()
    bare = re.fullmatch(
        r"(?:#|no\.?\s*|option\s+|number\s+|opcion\s+)?([1-9])[\s!.)]*(?:please|pls|works|por\s+favor)?", clean
    )
    if bare and 1 <= int(bare.group(1)) <= len(offered):
        return int(bare.group(1))
    for word, index in _ORDINALS.items():
        if re.search(rf"\b{word}\b", clean) and (
            re.fullmatch(
                rf"(the\s+|la\s+|el\s+)?{word}(\s+(one|option|time|slot|opcion|please|pls|works|por\s+favor))*[!. ]*",
                clean,
            )
            or re.search(rf"\b{word}\s+(one|option|time|slot|opcion)\b", clean)
        ):
            if index == -1:
                return len(offered)
            if index <= len(offered):
                return index
    option = re.search(r"\b(?:option|#|opcion)\s*([1-9])\b", clean)
    if option and int(option.group(1)) <= len(offered):
        return int(option.group(1))
    clock = re.search(r"\b(\d{1,2})(?::(\d{2}))\s*(am|pm)?\b|\b(\d{1,2})\s*(am|pm)\b", clean)
    if clock:
        hour = int(clock.group(1) or clock.group(4))
        minute = int(clock.group(2) or 0)
        for index, slot in enumerate(offered, start=1):
            if slot.minute == minute and slot.hour % 12 == hour % 12:
                return index
    for word, weekday in _WEEKDAYS.items():
        if re.search(rf"\b{word}\b", clean):
            matches = [i for i, slot in enumerate(offered, start=1) if slot.weekday() == weekday]
            if len(matches) == 1:
                return matches[0]
    return None


class RuleBasedUnderstander:
    """Rules and lexicons: every decision names the rule that made it."""

    def understand(self, text, *, menu, now, zone, offered=None, locations=None) -> Understanding:
        clean = normalize(text)
        result = Understanding(intent="other")
        result.service, matched_words = match_service(text, menu)
        if result.service:
            result.reasons.append(f"service: '{matched_words}'")
        result.times = parse_times(text, now=now, zone=zone)
        result.choice = parse_choice(text, offered)
        if re.search(r"\b(first\s+time|never\s+(been|had|done)|new\s+(patient|client|here)|primera\s+vez)\b", clean):
            result.new_patient = True
        elif re.search(
            r"\b(again|last\s+time|returning|i'?ve\s+been\s+(there|before|in)|my\s+usual|touch\s*-?\s*up|"
            r"otra\s+vez)\b",
            clean,
        ):
            result.new_patient = False
        for slug, words in (locations or {}).items():
            if any(re.search(rf"\b{re.escape(normalize(w))}\b", clean) for w in words):
                result.location = slug
        if re.search(r"\b(vip|event|open\s+house|night|promo|special|evento)\b", clean):
            result.cues.append("event")
        if re.search(r"\b(member|membership|glow\s+club|credits?|membresia)\b", clean):
            result.cues.append("membership")

        consent = consent_intent(text)
        if consent is not None:
            reply = _REPLY_WORDS.get(re.sub(r"[^a-z ]", "", clean).strip())
            if consent == ConsentIntent.OPT_IN and reply == "confirm":
                result.intent = "confirm"  # a plain "yes" answers us; the consent layer handles YES after STOP
            else:
                result.intent = str(consent)
            result.reasons.append(f"consent: {consent}")
            return result

        detection = detect(text)
        if detection is not None:
            result.escalation = str(detection.category)
            result.reasons.append(f"escalation: {detection.category} ({', '.join(detection.reasons)})")
            if detection.category in _ESCALATION_INTENT:
                result.intent = _ESCALATION_INTENT[detection.category]
                return result

        letters = " ".join(re.sub(r"[^a-z ]", " ", clean).split())
        reply = _REPLY_WORDS.get(letters) or _leading_reply(clean)
        if reply:
            result.intent = reply
            result.reasons.append(f"reply word: {clean}")
            return result
        if _GREETING.match(letters):
            result.intent = "greeting"
            result.reasons.append("greeting")
            return result
        if result.escalation == Category.EXCEPTION and "membership" in result.cues:
            result.intent = "membership"
            result.reasons.append("a membership exception")
            return result
        if result.escalation == Category.EXCEPTION:
            result.intent = "question"
            result.reasons.append("an exception is a question for staff")
            return result
        if result.choice is not None and offered:
            result.intent = "book"
            result.reasons.append(f"picked option {result.choice}")
            return result
        for intent, pattern in _INTENT_COMPILED:
            match = pattern.search(clean)
            if match:
                result.intent = intent
                result.reasons.append(f"{intent}: '{match.group(0).strip()}'")
                return result
        if result.service and (not result.times.is_empty() or len(clean.split()) <= 6):
            result.intent = "book"
            result.reasons.append("names a service" + (" and a time" if not result.times.is_empty() else ""))
            return result
        if not result.times.is_empty():
            result.intent = "book"
            result.reasons.append("names a time")
        return result


def _leading_reply(clean: str) -> str | None:
    """A reminder reply with a note after it: "C. sorry sick kid", "Y see you then"."""
    match = re.match(r"^([cry])\s*[.!,;:-]+\s*\S", clean) or re.match(
        r"^([cry])\s+(sorry|thanks|thank|pls|please)\b", clean
    )
    return _REPLY_WORDS.get(match.group(1)) if match else None


def default_understander() -> Understander:
    return RuleBasedUnderstander()


__all__ = [
    "INTENTS",
    "MenuItem",
    "TimePreference",
    "Understanding",
    "Understander",
    "RuleBasedUnderstander",
    "default_understander",
    "match_service",
    "parse_times",
    "parse_choice",
]
