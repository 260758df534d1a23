#!/usr/bin/env python3
"""Check (and optionally sync) the .po translations of crm_sms_conversation.

Plain Python 3, standard library only: no Odoo, no polib, no gettext needed.

Check (exit 0 when every file passes, 1 when a problem is found, 2 on usage
or parse errors)::

    python3 scripts/i18n_check.py i18n/crm_sms_conversation.pot i18n/es.po i18n/gl.po

Problems reported for each .po, compared with the .pot:

* MISSING      a msgid of the .pot is not in the .po;
* EMPTY        a msgstr is empty;
* FUZZY        an entry carries the ``fuzzy`` flag;
* PLACEHOLDER  the placeholders of msgid and msgstr differ (compared as
               multisets): ``%(name)s``/``%(name)d``, ``%s``/``%d``,
               ``{{ ... }}`` and HTML tags ``<...>``;
* NEWLINES     the number of ``\\n`` differs between msgid and msgstr;
* WHITESPACE   the leading/trailing whitespace of msgid and msgstr differ;
* HEADER       the header lacks ``Language:``, ``Plural-Forms:`` or a UTF-8
               ``Content-Type``.

Entries of the .po that are no longer in the .pot are only warned about
(``OBSOLETE``); ``--strict`` turns that warning into a problem.

After a re-export of the .pot, bring the .po files in line with it::

    python3 scripts/i18n_check.py --sync i18n/crm_sms_conversation.pot i18n/es.po i18n/gl.po

``--sync`` rewrites each .po in the order and with the ``#.``/``#:``
comments of the .pot, keeps every existing translation, adds the new msgids
with an empty msgstr and drops the entries the .pot no longer has (they are
listed). A .po that does not exist yet is created from the .pot, its
``Language`` taken from the file name (``es.po`` -> ``es``). Then run the
check: the new entries are listed as EMPTY until they are translated.
"""

import argparse
import os
import re
import sys
from collections import Counter

PLACEHOLDER_RE = re.compile(
    r"%%"  # escaped percent sign: matched only to be ignored
    r"|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]"  # %(name)s, %(perSegment)s, %(count)d
    r"|%[sd]"  # %s, %d
    r"|\{\{.*?\}\}"  # {{ expression }}
    r"|<[^>]+>"  # HTML tags with their attributes
)

PLURAL_FORMS = "nplurals=2; plural=(n != 1);"
WRAP_WIDTH = 79


class PoError(Exception):
    pass


class Entry:
    """One msgid/msgstr pair of a .po/.pot file, with its comments."""

    def __init__(self):
        self.comments = []  # raw comment lines ("#.", "#:", "# ", ...), flags excluded
        self.flags = []  # flags of the "#," lines, in order
        self.msgctxt = None
        self.msgid = ""
        self.msgid_plural = None
        self.msgstr = ""
        self.msgstr_plural = {}  # index -> text
        self.msgid_lines = []  # raw lines of msgctxt/msgid/msgid_plural, to copy verbatim
        self.lineno = 0

    @property
    def key(self):
        return (self.msgctxt, self.msgid)

    @property
    def fuzzy(self):
        return "fuzzy" in self.flags

    def translations(self):
        if self.msgid_plural is not None:
            return [self.msgstr_plural[i] for i in sorted(self.msgstr_plural)] or [""]
        return [self.msgstr]


def _unquote(text, path, lineno):
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise PoError(f"{path}:{lineno}: expected a quoted string, got {text!r}")
    out = []
    i, body = 0, text[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
    while i < len(body):
        char = body[i]
        if char == "\\":
            i += 1
            if i >= len(body) or body[i] not in escapes:
                raise PoError(f"{path}:{lineno}: bad escape in {text!r}")
            out.append(escapes[body[i]])
        else:
            out.append(char)
        i += 1
    return "".join(out)


def parse_po(path):
    """Return (header_entry_or_None, [Entry]) of a .po/.pot file."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    entries = []
    entry = Entry()
    field = None  # name of the field that continuation lines extend
    seen_msgid = False

    def finish():
        nonlocal entry, field, seen_msgid
        if seen_msgid:
            entries.append(entry)
        entry, field, seen_msgid = Entry(), None, False

    for lineno, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            finish()
            continue
        if stripped.startswith("#~"):  # obsolete entry: ignored
            continue
        if stripped.startswith("#"):
            if seen_msgid and field is not None:
                finish()  # a comment after a msgstr starts the next entry
            if stripped.startswith("#,"):
                entry.flags += [flag.strip() for flag in stripped[2:].split(",") if flag.strip()]
            elif not stripped.startswith("#|"):
                entry.comments.append(line)
            continue
        match = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(.*)$", stripped)
        if match:
            keyword, index, rest = match.groups()
            after_msgstr = field == "msgstr" or isinstance(field, tuple)
            if keyword in ("msgctxt", "msgid") and after_msgstr:
                finish()  # no blank line between two entries
            if not entry.lineno:
                entry.lineno = lineno
            value = _unquote(rest, path, lineno)
            if keyword == "msgctxt":
                entry.msgctxt = value
                entry.msgid_lines.append(line)
                seen_msgid = True
                field = "msgctxt"
            elif keyword == "msgid":
                entry.msgid = value
                entry.msgid_lines.append(line)
                seen_msgid = True
                field = "msgid"
            elif keyword == "msgid_plural":
                entry.msgid_plural = value
                entry.msgid_lines.append(line)
                field = "msgid_plural"
            elif index is not None:
                entry.msgstr_plural[int(index)] = value
                field = ("msgstr_plural", int(index))
            else:
                entry.msgstr = value
                field = "msgstr"
            continue
        if stripped.startswith('"'):
            if field is None:
                raise PoError(f"{path}:{lineno}: continuation line outside of an entry")
            value = _unquote(stripped, path, lineno)
            if isinstance(field, tuple):
                entry.msgstr_plural[field[1]] += value
            else:
                setattr(entry, field, getattr(entry, field) + value)
                if field in ("msgctxt", "msgid", "msgid_plural"):
                    entry.msgid_lines.append(line)
            continue
        raise PoError(f"{path}:{lineno}: cannot parse {line!r}")
    finish()

    header = None
    if entries and entries[0].msgid == "" and entries[0].msgctxt is None:
        header = entries.pop(0)
    return header, entries


def placeholders(text):
    return Counter(match for match in PLACEHOLDER_RE.findall(text) if match != "%%")


def _edges(text):
    leading = text[: len(text) - len(text.lstrip())]
    trailing = text[len(text.rstrip()) :]
    return leading, trailing


def _short(text, width=70):
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def check_entry(entry):
    """Return the list of problems of one translated entry (msgid present)."""
    problems = []
    texts = entry.translations()
    if any(text == "" for text in texts):
        problems.append(("EMPTY", "msgstr is empty"))
    if entry.fuzzy:
        problems.append(("FUZZY", "entry is marked fuzzy"))
    sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
    for index, text in enumerate(texts):
        if not text:
            continue
        source = sources[min(index, len(sources) - 1)]
        expected, found = placeholders(source), placeholders(text)
        if entry.msgid_plural is not None and index == 0 and found == placeholders(entry.msgid_plural):
            expected = found  # a singular form may use the placeholders of the plural msgid
        if expected != found:
            missing = sorted((expected - found).elements())
            extra = sorted((found - expected).elements())
            detail = []
            if missing:
                detail.append("missing " + ", ".join(missing))
            if extra:
                detail.append("unexpected " + ", ".join(extra))
            problems.append(("PLACEHOLDER", "; ".join(detail)))
        if source.count("\n") != text.count("\n"):
            problems.append(("NEWLINES", f"{source.count(chr(10))} \\n in msgid, {text.count(chr(10))} in msgstr"))
        if _edges(source) != _edges(text):
            problems.append(("WHITESPACE", f"msgid edges {_edges(source)!r}, msgstr edges {_edges(text)!r}"))
    return problems


def header_fields(header):
    fields = {}
    if header is None:
        return fields
    for line in header.msgstr.split("\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip()] = value.strip()
    return fields


def check_po(pot_entries, po_path, strict=False):
    """Return (problems, warnings, stats) of one .po file."""
    problems, warnings = [], []
    header, entries = parse_po(po_path)
    fields = header_fields(header)
    if not fields.get("Language"):
        problems.append(("HEADER", 0, "", "no Language in the header"))
    if not fields.get("Plural-Forms"):
        problems.append(("HEADER", 0, "", "no Plural-Forms in the header"))
    if "charset=utf-8" not in fields.get("Content-Type", "").lower().replace(" ", ""):
        problems.append(("HEADER", 0, "", "Content-Type is not text/plain; charset=UTF-8"))

    by_key = {}
    for entry in entries:
        if entry.key in by_key:
            problems.append(("DUPLICATE", entry.lineno, entry.msgid, "msgid appears twice"))
        by_key[entry.key] = entry
    pot_keys = set()
    for pot_entry in pot_entries:
        pot_keys.add(pot_entry.key)
        entry = by_key.get(pot_entry.key)
        if entry is None:
            problems.append(("MISSING", pot_entry.lineno, pot_entry.msgid, "msgid of the .pot not in the .po"))
            continue
        for kind, detail in check_entry(entry):
            problems.append((kind, entry.lineno, entry.msgid, detail))
    for entry in entries:
        if entry.key not in pot_keys:
            item = ("OBSOLETE", entry.lineno, entry.msgid, "msgid not in the .pot (run --sync to drop it)")
            (problems if strict else warnings).append(item)
    translated = sum(1 for entry in entries if entry.key in pot_keys and all(entry.translations()) and not entry.fuzzy)
    stats = {"entries": len(entries), "translated": translated, "pot": len(pot_entries)}
    return problems, warnings, stats


# --- writing ---------------------------------------------------------------


def _escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def _wrap(escaped, width):
    """Split an escaped string into chunks of at most width chars, after spaces."""
    chunks = []
    while len(escaped) > width:
        cut = escaped.rfind(" ", 0, width)
        if cut <= 0:
            cut = escaped.find(" ", width)
            if cut < 0:
                break
        chunks.append(escaped[: cut + 1])
        escaped = escaped[cut + 1 :]
    if escaped or not chunks:
        chunks.append(escaped)
    return chunks


def format_string(keyword, text):
    """Lines of `keyword "text"`, wrapped like gettext does (79 columns)."""
    escaped = _escape(text)
    single = f'{keyword} "{escaped}"'
    if len(single) <= WRAP_WIDTH and "\\n" not in escaped[:-2]:
        return [single]
    pieces = re.split(r"(?<=\\n)", escaped)
    lines = [f'{keyword} ""']
    for piece in pieces:
        if piece:
            lines += [f'"{chunk}"' for chunk in _wrap(piece, WRAP_WIDTH - 2)]
    return lines


def format_header(pot_header, language, old_header=None):
    fields = []
    source = old_header if old_header is not None else pot_header
    for line in source.msgstr.split("\n"):
        if ":" in line:
            name, value = line.split(":", 1)
            fields.append([name.strip(), value.strip()])
    names = [name for name, _value in fields]

    def put(name, value, after=None):
        if name in names:
            fields[names.index(name)][1] = value
        else:
            position = names.index(after) + 1 if after in names else len(fields)
            fields.insert(position, [name, value])
            names.insert(position, name)

    if pot_header is not None:
        pot_fields = header_fields(pot_header)
        for name in ("Project-Id-Version", "POT-Creation-Date"):
            if pot_fields.get(name):
                put(name, pot_fields[name])
    put("Language", language, after="Language-Team")
    put("Content-Type", "text/plain; charset=UTF-8")
    put("Plural-Forms", PLURAL_FORMS)
    text = "".join(f"{name}: {value}\n" for name, value in fields)
    comments = (old_header or pot_header).comments if (old_header or pot_header) else []
    return comments + ['msgid ""', 'msgstr ""'] + [f'"{_escape(line)}\\n"' for line in text.split("\n") if line]


def format_entry(pot_entry, old_entry):
    lines = [line for line in (old_entry.comments if old_entry else []) if line.startswith("# ")]
    lines += [line for line in pot_entry.comments if not line.startswith("# ")]
    flags = [flag for flag in pot_entry.flags if flag != "fuzzy"]
    if old_entry is not None and old_entry.fuzzy:
        flags.insert(0, "fuzzy")
    if flags:
        lines.append("#, " + ", ".join(flags))
    lines += pot_entry.msgid_lines
    if pot_entry.msgid_plural is None:
        text = old_entry.msgstr if old_entry is not None and old_entry.msgid_plural is None else ""
        lines += format_string("msgstr", text)
    else:
        old = old_entry.msgstr_plural if old_entry is not None else {}
        for index in range(2):
            lines += format_string(f"msgstr[{index}]", old.get(index, ""))
    return lines


def sync_po(pot_path, po_path, translations=None):
    """Rewrite po_path from pot_path, keeping the translations of po_path.

    translations: optional {msgid: msgstr} applied on top (used by tooling).
    Return (added msgids, dropped msgids).
    """
    pot_header, pot_entries = parse_po(pot_path)
    old_header, old_entries = (None, [])
    if os.path.exists(po_path):
        old_header, old_entries = parse_po(po_path)
    language = header_fields(old_header).get("Language") or os.path.splitext(os.path.basename(po_path))[0]
    old_by_key = {entry.key: entry for entry in old_entries}
    out = format_header(pot_header, language, old_header)
    added = []
    for pot_entry in pot_entries:
        old_entry = old_by_key.get(pot_entry.key)
        if translations and pot_entry.msgid in translations:
            if old_entry is None:
                old_entry = Entry()
            old_entry.msgstr = translations[pot_entry.msgid]
            old_entry.flags = [flag for flag in old_entry.flags if flag != "fuzzy"]
        elif old_entry is None:
            added.append(pot_entry.msgid)
        out.append("")
        out += format_entry(pot_entry, old_entry)
    pot_keys = {entry.key for entry in pot_entries}
    dropped = [entry.msgid for entry in old_entries if entry.key not in pot_keys]
    with open(po_path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(out) + "\n")
    return added, dropped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pot", help="the exported template, e.g. i18n/crm_sms_conversation.pot")
    parser.add_argument("po", nargs="+", help="the translations to check, e.g. i18n/es.po i18n/gl.po")
    parser.add_argument("--sync", action="store_true", help="first rewrite each .po from the .pot (keeps translations)")
    parser.add_argument("--strict", action="store_true", help="entries no longer in the .pot are problems too")
    parser.add_argument(
        "--current", metavar="EXPORTED_POT", help="a fresh export of the module: the .pot must hold the same msgids"
    )
    parser.add_argument(
        "--within",
        action="store_true",
        help="with --current: the .pot may also hold msgids of another Odoo series (the export's must all be there)",
    )
    args = parser.parse_args(argv)

    try:
        _pot_header, pot_entries = parse_po(args.pot)
        stale = False
        if args.current:
            current = {entry.msgid for entry in parse_po(args.current)[1]}
            committed = {entry.msgid for entry in pot_entries}
            for msgid in sorted(current - committed):
                print(f"{args.pot}: missing (run the export again): {_short(msgid)!r}")
            if not args.within:
                for msgid in sorted(committed - current):
                    print(f"{args.pot}: no longer in the code: {_short(msgid)!r}")
            stale = not current <= committed if args.within else current != committed
            print(f"{args.pot}: {'STALE' if stale else 'OK'}: {len(committed)} msgids, export has {len(current)}")
        if args.sync:
            for po_path in args.po:
                added, dropped = sync_po(args.pot, po_path)
                print(f"{po_path}: synced with {args.pot}: {len(added)} new msgid(s), {len(dropped)} dropped")
                for msgid in added:
                    print(f"  + {_short(msgid)}")
                for msgid in dropped:
                    print(f"  - {_short(msgid)}")
        failed = False
        for po_path in args.po:
            problems, warnings, stats = check_po(pot_entries, po_path, strict=args.strict)
            status = "FAIL" if problems else "OK"
            print(
                f"{po_path}: {status}: {stats['entries']} entries, {stats['translated']}/{stats['pot']} msgids "
                f"of the .pot translated, {len(problems)} problem(s), {len(warnings)} warning(s)"
            )
            for kind, lineno, msgid, detail in problems:
                print(f"  {kind:<11} line {lineno}: {_short(msgid)!r}: {detail}")
            for kind, lineno, msgid, detail in warnings:
                print(f"  warning {kind} line {lineno}: {_short(msgid)!r}: {detail}")
            failed = failed or bool(problems)
    except (OSError, PoError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if failed or stale else 0


if __name__ == "__main__":
    sys.exit(main())
