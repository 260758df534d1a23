"""Phone number normalization shared by routing keys, numbers and webhooks."""

import phonenumbers


def normalize_e164(number, region=None):
    """Return ``number`` in E.164 (``+14155550123``) or ``None``.

    ``region`` (ISO country code) reads national formats. Numbers written with
    the ``00`` international prefix are read as international whatever the
    region. A number is kept when it is *possible* (right length for its
    country): routing must also match numbers that phonenumbers' metadata
    does not know yet.
    """
    if not number or not isinstance(number, str):
        return None
    candidate = number.strip()
    digits = "".join(ch for ch in candidate if ch.isdigit())
    if not digits or len(candidate) > 64:
        return None
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        parsed = phonenumbers.parse(candidate, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164_from_digits(number):
    """Providers writing E.164 without its + sign (14155550123): the number with
    it; anything else as given."""
    return f"+{number}" if number.isascii() and number.isdecimal() else number
