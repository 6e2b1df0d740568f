"""Consent words, handled before anything else a patient writes.

Whole-message keywords follow the carriers (and Twilio's defaults); clear wording such as "please
stop texting me" opts out too. "Can you stop by" does not: a phrase must be about messages to them.
"""

import re
import unicodedata
from enum import StrEnum


class ConsentIntent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


OPT_OUT_KEYWORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
OPT_IN_KEYWORDS = {"start", "unstop", "yes"}
HELP_KEYWORDS = {"help", "info", "ayuda"}

_OPT_OUT_PHRASES = [
    r"\b(stop|quit|cease|pls stop|please stop)\s+(texting|txting|messaging|msging|sending|contacting|emailing|calling)\b",
    r"\bunsubscribe\b",
    r"\bopt\s*-?\s*(me\s+)?out\b",
    r"\bremove\s+(me|my\s+(number|phone))\b",
    r"\btake\s+me\s+off\b",
    r"\b(do\s*n[o']?t|dont|never)\s+(text|txt|message|msg|contact)\s+me\b",
    r"\bno\s+more\s+(texts|txts|messages|msgs)\b",
    r"\bstop\s+(all\s+)?(texts|messages|msgs)\b",
    r"\bleave\s+me\s+alone\b",
    r"\bdon'?t\s+want\s+(these|your|any|the)\s+(\w+\s+)?(messages|texts|msgs)\b",
    r"\b(messages|texts)\s+any\s*more\b",
    r"\bno\s+me\s+(manden|envien|escriban)\b",
    r"\bno\s+quiero\s+recibir\s+(mas\s+)?(mensajes|textos)\b",
    r"\b(dejen|deja)\s+de\s+(mandarme|enviarme|escribirme)\b",
]
_OPT_IN_PHRASES = [
    r"\b(add|put|sign)\s+me\s+back\b",
    r"\bopt\s+me\s+back\s+in\b",
    r"\bresubscribe\b",
    r"\b(start|begin)\s+(getting|receiving)\s+(your\s+)?(texts|messages)\b",
    r"\bvolver\s+a\s+recibir\b",
]
_OPT_IN_RE = re.compile("|".join(_OPT_IN_PHRASES), re.IGNORECASE)
_OPT_OUT_RE = re.compile("|".join(_OPT_OUT_PHRASES), re.IGNORECASE)


def _keyword(body: str) -> str:
    """The message as one bare word: letters only, lower case ("Stop." and " STOP!! " are "stop")."""
    return re.sub(r"[^a-z]", "", body.lower())


def consent_intent(body: str) -> ConsentIntent | None:
    word = _keyword(body)
    if word in OPT_OUT_KEYWORDS:
        return ConsentIntent.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return ConsentIntent.OPT_IN
    if word in HELP_KEYWORDS:
        return ConsentIntent.HELP
    folded = _fold(body)
    if _OPT_OUT_RE.search(folded):
        return ConsentIntent.OPT_OUT
    if _OPT_IN_RE.search(folded):
        return ConsentIntent.OPT_IN
    return None


def _fold(body: str) -> str:
    """Accents off and quotes straight, so that "más" and "don’t" read like "mas" and "don't"."""
    text = unicodedata.normalize("NFKD", body.replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))
