"""Files of inbound messages (MMS): which are kept, and what they really are.

Plain Python, shared by the providers' downloads (``SmsProviderApi.download_media``).
A file is kept when its type is allowed and, for the types with a signature
(pictures, PDF, contact cards), its first bytes agree with that type: a
program sent as "image/jpeg" is refused. A program is refused whatever its
declared type.
"""

import ipaddress

# Kept types; "audio/*" keeps every audio type.
ALLOWED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "image/heif",
    "application/pdf",
    "text/vcard",
    "text/x-vcard",
    "audio/*",
)
# Types saying nothing of the content: the bytes tell.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
EXECUTABLE = "application/x-executable"
# Windows (MZ), Linux (ELF) and macOS (Mach-O: both byte orders, universal) programs.
EXECUTABLE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
VCARD_TYPES = frozenset({"text/vcard", "text/x-vcard"})
# HEIF brands of pictures taken by phones (ISO/IEC 23008-12).
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "application/pdf": ".pdf",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/amr": ".amr",
    "audio/ogg": ".ogg",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/3gpp": ".3gp",
    "audio/aac": ".aac",
}


def mimetype(content_type):
    """The media type of a Content-Type value, without its parameters, in lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_allowed(value, allowed_types=ALLOWED_TYPES):
    family = value.split("/", 1)[0]
    return value in allowed_types or f"{family}/*" in allowed_types


def sniff(data):
    """The type the first bytes of ``data`` show, among those with a signature; "" otherwise."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").upper().startswith(b"BEGIN:VCARD"):
        return "text/vcard"
    if head.startswith(EXECUTABLE_SIGNATURES):
        return EXECUTABLE
    return ""


def check_content(declared, data, allowed_types=ALLOWED_TYPES):
    """(type to store the file with, None), or (None, (reason, detail)) when the
    file is refused: reason "type" (not allowed) or "mismatch" (the bytes are
    not what the declared type says)."""
    sniffed = sniff(data)
    if sniffed == EXECUTABLE:
        return None, ("mismatch", declared or EXECUTABLE)
    value = sniffed if declared in GENERIC_TYPES else declared
    if not value or not is_allowed(value, allowed_types):
        return None, ("type", value or declared or "unknown")
    if value.startswith("image/"):
        if not sniffed.startswith("image/"):
            return None, ("mismatch", value)
        # A PNG sent as "image/jpeg" is a picture all the same: stored as what it is.
        return sniffed, None
    if value == "application/pdf" and sniffed != value:
        return None, ("mismatch", value)
    if value in VCARD_TYPES and sniffed != "text/vcard":
        return None, ("mismatch", value)
    return value, None


def file_name(kind_index, value):
    """A name for the ``kind_index``-th file (from 1) of a message: picture-1.jpg, document-2.pdf."""
    family = value.split("/", 1)[0]
    stem = {"image": "picture", "audio": "audio"}.get(family) or ("contact" if value in VCARD_TYPES else "document")
    return f"{stem}-{kind_index}{EXTENSIONS.get(value, '')}"


def is_public_address(address):
    """Whether an IP address (a string, maybe with an IPv6 zone) is a public one:
    neither private, loopback, link-local, reserved nor multicast."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
