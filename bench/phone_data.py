"""Deterministic phone data shared by the benchmarks.

Record ``i`` of a model always gets the same numbers for a given seed, so the
ground truth (the E.164 of each stored number) is re-derived from here, never
read back from the columns under test. Pure Python (phonenumbers only): the
benchmarks run inside ``odoo-bin shell`` or as plain scripts.
"""

import random
import re

import phonenumbers
from phonenumbers import PhoneNumberFormat

# Countries of the routing benchmark (its database was filled with these).
COUNTRY_WEIGHTS = {"US": 30, "GB": 20, "BE": 15, "FR": 20, "DE": 15}
# Countries of the scale benchmark: the same, with Spain.
SCALE_COUNTRY_WEIGHTS = {"US": 25, "GB": 17, "ES": 15, "BE": 13, "FR": 17, "DE": 13}
US_AREAS = ["201", "202", "206", "212", "213", "303", "305", "312", "404", "415", "512", "617", "646", "702", "818"]
# Countries whose national format has no trunk prefix ("0").
NO_TRUNK = frozenset({"US", "ES"})


def _digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def _nsn(rng, country, mobile):
    """A national significant number (no trunk prefix) of the country."""
    if country == "US":
        exchange = rng.choice([e for e in range(200, 1000) if e % 100 != 11 and e != 555])
        return rng.choice(US_AREAS) + str(exchange) + _digits(rng, 4)
    if country == "GB":
        if mobile:
            return "7" + rng.choice("4579") + _digits(rng, 8)
        return rng.choice(
            [
                "20" + rng.choice("378") + _digits(rng, 7),
                "121" + rng.choice("234567") + _digits(rng, 6),
                "161" + rng.choice("234789") + _digits(rng, 6),
            ]
        )
    if country == "ES":
        if mobile:
            return rng.choice("67") + _digits(rng, 8)
        return rng.choice(["91", "93", "95", "96", "98"]) + _digits(rng, 7)
    if country == "BE":
        if mobile:
            return "4" + rng.choice("789") + _digits(rng, 7)
        return rng.choice("239") + rng.choice("2345678") + _digits(rng, 6)
    if country == "FR":
        if mobile:
            return rng.choice(["6", "6", "7"]) + _digits(rng, 8)
        return rng.choice("12345") + _digits(rng, 8)
    if country == "DE":
        if mobile:
            prefix = rng.choice(["151", "152", "157", "160", "170", "171", "172", "176", "177", "179"])
            return prefix + _digits(rng, 8 if prefix.startswith("15") else rng.choice([7, 8]))
        return rng.choice(["30", "40", "89"]) + rng.choice("2345678") + _digits(rng, 7)
    raise ValueError(country)


# Stored formats: (kind, weight); national kinds have no country code.
FORMAT_WEIGHTS = [
    ("nat_spaced", 18),  # (415) 555-0123, 020 7946 0958, 0470 12 34 56, 06 12 34 56 78, 912 34 56 78
    ("nat_compact", 12),  # 4155550123, 02079460958
    ("nat_dotted", 12),  # 415.555.0123, 06.12.34.56.78, 0470/12.34.56 (BE), 030/12345678 (DE)
    ("e164", 22),  # +14155550123
    ("intl_spaced", 22),  # +1 415-555-0123, +44 20 7946 0958
    ("intl_00", 8),  # 0044 20 7946 0958
    ("intl_trunk", 6),  # +44 (0)20 7946 0958 (not for countries without a trunk prefix)
]
KINDS, KIND_WEIGHTS = zip(*FORMAT_WEIGHTS, strict=True)


def is_national(kind):
    return kind.startswith("nat_")


def _format(parsed, country, kind):
    national = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
    trunk = "" if country in NO_TRUNK else "0"
    nsn = phonenumbers.national_significant_number(parsed)
    if kind == "nat_spaced":
        return national
    if kind == "nat_compact":
        return trunk + nsn
    if kind == "nat_dotted":
        if country in ("BE", "DE"):
            head, _sep, tail = national.partition(" ")
            return f"{head}/{tail.replace(' ', '.') if country == 'BE' else tail.replace(' ', '')}"
        return re.sub(r"[\s-]+", ".", re.sub(r"[()]", "", national))
    if kind == "e164":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if kind == "intl_spaced" or (kind == "intl_trunk" and country in NO_TRUNK):
        return international
    if kind == "intl_00":
        return "00" + international[1:]
    if kind == "intl_trunk":
        return f"+{parsed.country_code} (0){national[1:]}"
    raise ValueError(kind)


def _number(rng, country, mobile):
    """(stored text, E.164 truth, format kind) of a valid number."""
    for _attempt in range(50):
        parsed = phonenumbers.parse(f"+{phonenumbers.country_code_for_region(country)}{_nsn(rng, country, mobile)}")
        if phonenumbers.is_valid_number(parsed):
            break
    else:
        raise RuntimeError(f"no valid {country} number generated")
    kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
    return _format(parsed, country, kind), phonenumbers.format_number(parsed, PhoneNumberFormat.E164), kind


def gen_record(model, i, seed, countries=None):
    """Deterministic data of benchmark record ``i`` of ``model``: its country
    and, for ``phone`` and ``mobile``, None or (stored text, E.164, format kind)."""
    countries = countries or COUNTRY_WEIGHTS
    rng = random.Random(f"{seed}:{model}:{i}")
    country = rng.choices(list(countries), list(countries.values()))[0]
    record = {"country": country, "phone": None, "mobile": None}
    if rng.random() < 0.70:
        record["phone"] = _number(rng, country, mobile=rng.random() < 0.2)
    if rng.random() < 0.50:
        record["mobile"] = _number(rng, country, mobile=True)
    return record


def gen_scale_lead(i, seed, n_partners, shared=0.1):
    """Lead ``i`` of the scale benchmark: like ``gen_record``, except that a
    share ``shared`` of the leads carry the phone of a benchmark contact
    (a customer known as a contact and as a lead, possibly in another format).
    Returns the record and the index of the contact it shares with (or None)."""
    rng = random.Random(f"{seed}:crm.lead:shared:{i}")
    if n_partners and rng.random() < shared:
        j = rng.randrange(n_partners)
        partner = gen_record("res.partner", j, seed, SCALE_COUNTRY_WEIGHTS)
        number = partner["mobile"] or partner["phone"]
        if number:
            text, e164, _kind = number
            # The lead's copy, written the way the contact holds it or as E.164.
            kind = "e164" if rng.random() < 0.5 else _kind
            stored = text if kind == _kind else e164
            return {"country": partner["country"], "phone": (stored, e164, kind), "mobile": None}, j
    return gen_record("crm.lead", i, seed, SCALE_COUNTRY_WEIGHTS), None


def phone_sanitized(record):
    """What Odoo stores in ``phone_sanitized`` for valid numbers: the mobile's
    E.164, else the phone's (``mail.thread.phone``'s order on both models)."""
    number = record["mobile"] or record["phone"]
    return number[1] if number else None
