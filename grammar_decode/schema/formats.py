"""Regexes for JSON Schema ``format`` values, over canonical JSON string bodies.

The reference is the ``jsonschema`` format checker with its format-nongpl extras
(``Draft202012Validator.FORMAT_CHECKER``); where that checker departs from the RFCs we follow
the checker, so that generated values are exactly the values the benchmark validator accepts:

* ``date-time`` / ``time``: RFC 3339 with exact days per month (Feb 29 only in leap years,
  proleptic Gregorian, year >= 1); the checker upper-cases the text first, so ``t``/``z`` are
  accepted, leap seconds (``:60``) are not, and a single trailing newline is accepted (its regex
  ends in ``$``).
* ``uri`` / ``uri-reference``: RFC 3986 (IPv4 octets inside IPv6 literals may have leading
  zeros), plus the trailing newline.
* ``hostname``: RFC 1123 labels (1-63 chars, no leading/trailing ``-``), total length <= 253
  (254 with a trailing dot); the checker lower-cases and matches ``\\d`` and ``[A-Z]`` with
  Unicode semantics, so Unicode decimal digits and the few letters that case-fold into ASCII
  are accepted too, and a trailing newline.
* ``email`` / ``idn-email``: the checker only requires an ``@``.

Formats stricter than the checker ("narrowed", recorded but never fatal): ``uuid`` (RFC 4122
hex form only; ``uuid.UUID`` also takes braces, ``urn:uuid:``, ``0x``/sign/underscore forms),
``duration`` (RFC 3339 Appendix A grammar; the checker also takes decimals, signs, commas and
a date-time form), ``relative-json-pointer`` (ASCII digits only; like the checker, no digit may
follow a ``0``, so ``100`` is rejected). Formats known to the checker
but not regular or too complex (``regex``, ``idn-hostname``, ``iri``, ``iri-reference``,
``uri-template``) are reported as unsupported; unknown formats are ignored (annotations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from grammar_decode.schema.ecma_regex import (
    UNIT, UNITS, all_scalars, chars, complement, encode_set, intersect, normalize)
from grammar_decode.schema.unsupported import Reporter


@dataclass(frozen=True)
class FormatRegex:
    """``body`` fully matches the canonical body; each lookahead sees ``body + '"'``."""

    body: str
    lookaheads: tuple[str, ...] = ()


NEWLINE = r"(?:\\n)?"   # the canonical unit of an optional trailing "\n"

# ---------------------------------------------------------------- dates and times

_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
              r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              r"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_HOUR = r"(?:[01][0-9]|2[0-3])"
_MINUTE = r"[0-5][0-9]"
TIME = (rf"{_HOUR}:{_MINUTE}:{_MINUTE}(?:\.[0-9]+)?"
        rf"(?:[Zz]|[+\-]{_HOUR}:{_MINUTE})")
DATE_TIME = rf"{DATE}[Tt]{TIME}"

# RFC 3339 Appendix A
_DUR_TIME = r"T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)"
DURATION = (r"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)"
            rf"(?:{_DUR_TIME})?|{_DUR_TIME}|[0-9]+W)")

# ---------------------------------------------------------------- IP addresses, URIs

_HEX = "[0-9A-Fa-f]"
DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_DEC_OCTET_LAX = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
IPV4 = rf"{DEC_OCTET}(?:\.{DEC_OCTET}){{3}}"


def ipv6_regex(octet: str) -> str:
    """RFC 3986 ``IPv6address`` with the given IPv4 octet rule in ``ls32``."""
    h16 = f"{_HEX}{{1,4}}"
    h = f"{h16}:"
    ls32 = rf"(?:{h16}:{h16}|{octet}(?:\.{octet}){{3}})"
    alts = [f"(?:{h}){{6}}{ls32}", f"::(?:{h}){{5}}{ls32}", f"(?:{h16})?::(?:{h}){{4}}{ls32}"]
    tails = {1: f"(?:{h}){{3}}{ls32}", 2: f"(?:{h}){{2}}{ls32}", 3: f"{h}{ls32}", 4: ls32,
             5: h16, 6: ""}
    alts += [f"(?:(?:{h}){{0,{k}}}{h16})?::{tail}" for k, tail in tails.items()]
    return "(?:" + "|".join(alts) + ")"


IPV6 = ipv6_regex(DEC_OCTET)

_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PCT = f"%{_HEX}{{2}}"
_PCHAR = rf"(?:[{_UNRESERVED_SUB}:@]|{_PCT})"
_USERINFO = rf"(?:[{_UNRESERVED_SUB}:]|{_PCT})*"
_REG_NAME = rf"(?:[{_UNRESERVED_SUB}]|{_PCT})*"
_IPVFUTURE = rf"v{_HEX}+\.[{_UNRESERVED_SUB}:]+"
_HOST = rf"(?:\[(?:{ipv6_regex(_DEC_OCTET_LAX)}|{_IPVFUTURE})\]|{_REG_NAME})"
_AUTHORITY = rf"(?:{_USERINFO}@)?{_HOST}(?::[0-9]*)?"
_PATH_ABEMPTY = rf"(?:\/{_PCHAR}*)*"
_PATH_ABSOLUTE = rf"\/(?:{_PCHAR}+{_PATH_ABEMPTY})?"
_PATH_ROOTLESS = rf"{_PCHAR}+{_PATH_ABEMPTY}"
_PATH_NOSCHEME = rf"(?:[{_UNRESERVED_SUB}@]|{_PCT})+{_PATH_ABEMPTY}"
_QUERY = rf"(?:{_PCHAR}|[\/?])*"
_TAIL = rf"(?:\?{_QUERY})?(?:#{_QUERY})?"
URI = (rf"[A-Za-z][A-Za-z0-9+\-.]*:(?:\/\/{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}"
       rf"|{_PATH_ROOTLESS}|){_TAIL}")
RELATIVE_REF = rf"(?:\/\/{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME}|){_TAIL}"
URI_REFERENCE = f"(?:{URI}|{RELATIVE_REF})"

UUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"


# ---------------------------------------------------------------- hostnames, pointers

@lru_cache(maxsize=1)
def hostname_label_chars() -> tuple:
    """Code points the checker's ``[-A-Z\\d]`` (IGNORECASE, Unicode) accepts after ``.lower()``."""
    import regex

    rx = re.compile(r"[-A-Z\d]", re.IGNORECASE)
    text = all_scalars()
    direct = {m.group() for m in rx.finditer(text)}
    changing = regex.findall(r"\p{Changes_When_Lowercased}", text)
    found = {c for c in direct if c.lower() == c}
    found |= {c for c in changing if len(c.lower()) == 1 and rx.fullmatch(c.lower())}
    return normalize((ord(c), ord(c)) for c in found)


def _hostname() -> FormatRegex:
    label_chars = hostname_label_chars()
    edge = encode_set(intersect(label_chars, complement(chars("-"))))[0]
    inner = encode_set(label_chars)[0]
    label = f"{edge}(?:{inner}{{0,61}}{edge})?"
    body = rf"(?:{label}\.)*{label}\.?{NEWLINE}"
    return FormatRegex(body, (rf'(?={UNIT}{{1,253}}\.?")',))


def _json_pointer_body() -> str:
    plain = encode_set(complement(chars("/~")))[0]
    return rf"(?:\/(?:{plain}|~[01])*)*"


_EMAIL = FormatRegex(f"{UNITS}@{UNITS}")

# name -> (builder, status); status None = exact w.r.t. the checker, "narrowed" = stricter.
_FORMATS: dict[str, tuple[Callable[[], FormatRegex], str | None]] = {
    "date": (lambda: FormatRegex(DATE), None),
    "time": (lambda: FormatRegex(TIME + NEWLINE), None),
    "date-time": (lambda: FormatRegex(DATE_TIME + NEWLINE), None),
    "email": (lambda: _EMAIL, None),
    "idn-email": (lambda: _EMAIL, None),
    "ipv4": (lambda: FormatRegex(IPV4), None),
    "ipv6": (lambda: FormatRegex(IPV6), None),
    "hostname": (_hostname, None),
    "uri": (lambda: FormatRegex(URI + NEWLINE), None),
    "uri-reference": (lambda: FormatRegex(URI_REFERENCE + NEWLINE), None),
    "json-pointer": (lambda: FormatRegex(_json_pointer_body()), None),
    "relative-json-pointer": (
        lambda: FormatRegex(f"[1-9]*[0-9](?:#|{_json_pointer_body()})"),
        "only ASCII digits in the leading integer (the checker accepts any Unicode digit)"),
    "uuid": (lambda: FormatRegex(UUID),
             "RFC 4122 hex form only (uuid.UUID also accepts braces, urn:uuid:, 0x, signs)"),
    "duration": (lambda: FormatRegex(DURATION),
                 "RFC 3339 Appendix A grammar (the checker also accepts decimals, signs, "
                 "commas and the PYYYY-MM-DDThh:mm:ss form)"),
}
_UNSUPPORTED = {
    "regex": "the set of valid regexes is not regular",
    "idn-hostname": "IDNA 2008 validity is not expressed as a regex",
    "iri": "RFC 3987 IRIs are not translated",
    "iri-reference": "RFC 3987 IRIs are not translated",
    "uri-template": "RFC 6570 templates are not translated",
}


def format_regex(name: str, pointer: str, reporter: Reporter | None = None) -> FormatRegex | None:
    """The regex for ``format: name``; None when the format does not constrain the value.

    Unknown formats are recorded as ignored; known but untranslated ones raise
    UnsupportedKeyword (strict) or are recorded and left unconstrained (lenient).
    """
    reporter = reporter or Reporter(approximate=False)
    if name in _FORMATS:
        build, narrowed = _FORMATS[name]
        if narrowed:
            reporter.narrowed("format", pointer, f"{name}: {narrowed}")
        return _cached(name, build)
    if name in _UNSUPPORTED:
        reporter.unsupported("format", pointer, f"{name}: {_UNSUPPORTED[name]}")
        return None
    reporter.ignored("format", pointer, f"unknown format {name!r} is an annotation")
    return None


_CACHE: dict[str, FormatRegex] = {}


def _cached(name: str, build: Callable[[], FormatRegex]) -> FormatRegex:
    if name not in _CACHE:
        _CACHE[name] = build()
    return _CACHE[name]


def known_formats() -> list[str]:
    return sorted(_FORMATS)


