"""Consent keywords of text messages: opt-out (STOP), opt-in (START), help.

Plain Python. A keyword counts only alone in the message; case, accents,
inner spacing and trailing punctuation do not matter ("Stop!", " opt  out ",
"BAIXA." all match).
"""

import re
import unicodedata

OPT_OUT = "opt_out"
OPT_IN = "opt_in"
HELP = "help"

# The keywords carriers and providers honour in the US and the UK (CTIA, Twilio's defaults).
DEFAULT_KEYWORDS = {
    OPT_OUT: ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"),
    OPT_IN: ("START", "YES", "UNSTOP"),
    HELP: ("HELP", "INFO"),
}
# Localized defaults, added to the above: Spanish and Galician.
DEFAULT_LOCAL_KEYWORDS = {
    OPT_OUT: ("BAJA", "DARSE DE BAJA", "PARAR", "CANCELAR", "BAIXA", "DARSE DE BAIXA"),
    OPT_IN: ("ALTA", "DARSE DE ALTA"),
    HELP: ("AYUDA", "AXUDA"),
}

_SPACES_RE = re.compile(r"[\s_-]+")
_TRAILING_PUNCTUATION_RE = re.compile(r"[\s.,;:!?¡¿'\"()\-]+$")
_LEADING_PUNCTUATION_RE = re.compile(r"^[\s¡¿'\"(\-]+")
# Beyond this length a message is a sentence, not a keyword.
MAX_KEYWORD_LENGTH = 40


def normalize_keyword(text):
    """The comparable form of ``text``: upper case, without accents, single
    spaces (hyphens and underscores count as spaces: "opt-out" is "OPT OUT"),
    no leading or trailing punctuation. '' for anything longer than
    a keyword."""
    text = (text or "").strip()
    if not text or len(text) > MAX_KEYWORD_LENGTH * 2:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    text = _TRAILING_PUNCTUATION_RE.sub("", _LEADING_PUNCTUATION_RE.sub("", text))
    text = _SPACES_RE.sub(" ", text).upper()
    return text if len(text) <= MAX_KEYWORD_LENGTH else ""


def parse_keywords(text):
    """Keywords typed by an admin, one per line or comma separated, normalized."""
    return {keyword for keyword in map(normalize_keyword, re.split(r"[,\n]", text or "")) if keyword}


def keyword_sets(extra=None):
    """{kind: frozenset of normalized keywords}: the defaults, the localized
    defaults and ``extra`` ({kind: iterable of keywords})."""
    sets = {}
    for kind in (OPT_OUT, OPT_IN, HELP):
        words = {*DEFAULT_KEYWORDS[kind], *DEFAULT_LOCAL_KEYWORDS[kind], *((extra or {}).get(kind) or ())}
        sets[kind] = frozenset(filter(None, map(normalize_keyword, words)))
    return sets


def classify(body, sets):
    """(kind, keyword) of a message that is a consent keyword alone, else (None, '').
    Opt-out wins over the others when an admin listed a word twice."""
    keyword = normalize_keyword(body)
    if keyword:
        for kind in (OPT_OUT, OPT_IN, HELP):
            if keyword in sets[kind]:
                return kind, keyword
    return None, ""
