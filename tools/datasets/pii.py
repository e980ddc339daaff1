#!/usr/bin/env python3
"""Labelled corpus of personal data and look-alike numbers.

    python3 tools/datasets/pii.py --seed 1 --out pii.jsonl

Writes one JSON object per line:

    text    the sample
    label   1 if the sample holds at least one labelled value, else 0
    spans   [{"start", "end", "type"}]: UTF-8 byte offsets, end exclusive, of each value
            as written (a grouped card number or IBAN includes its spaces; a phone number
            includes its "+", brackets and separators; an IPv6 address in a URL excludes
            the brackets).  type is one of pii.email, pii.phone, pii.credit_card,
            pii.iban, pii.ssn, pii.ip_address.
    format  the container (prose, email, ticket, csv, json, log, chat, form, vcard, sql,
            html, and for negatives also code, css, config)
    group   the locale of the row's personal data (en_US, de_DE, ...) or, for negative
            rows, the negative class (neg_*)
    split   "dev" or "holdout", see below
    note    a short description of what the row contains

Only the six types above are labelled.  Names, postal addresses, company names and
postcodes appear in many rows and are deliberately not labelled.  Every value is random:
card numbers pass the Luhn check, IBANs carry correct mod-97 check digits, SSNs use valid
area/group/serial ranges, phone numbers follow each country's numbering plan.  Negative
rows hold numbers that only look like those: versions, order and invoice numbers, ISBNs,
tracking numbers, dates, prices, coordinates, MAC addresses, Luhn-invalid card numbers,
IBANs with wrong check digits, nine-digit numbers without SSN context, and so on.

Split.  A row is "holdout" when its format is in HOLDOUT_FORMATS or its group is in
HOLDOUT_GROUPS, otherwise "dev".  Tune on dev rows only and report figures on holdout
rows: those contain locales, containers and negative classes that dev never shows.  A
dev row never contains a decoy of a holdout negative class.

The output depends only on --seed.
"""

import ipaddress
import json
import random
import re
import string
import unicodedata
from dataclasses import dataclass, field

HOLDOUT_FORMATS = frozenset({"html", "sql", "vcard"})
HOLDOUT_GROUPS = frozenset({
    "ja_JP",
    "pt_BR",
    "neg_coordinates",
    "neg_isbn",
    "neg_mac_address",
    "neg_tracking_number",
})

EMAIL, PHONE, CARD, IBAN, SSN, IP = ("pii.email", "pii.phone", "pii.credit_card", "pii.iban",
                                     "pii.ssn", "pii.ip_address")


def split_of(fmt, group):
    return "holdout" if fmt in HOLDOUT_FORMATS or group in HOLDOUT_GROUPS else "dev"


# ---------------------------------------------------------------------------
# Text assembly: plain strings and Mark(value, type); offsets computed on join.


@dataclass(frozen=True)
class Mark:
    text: str
    type: str


def flatten(parts):
    for part in parts:
        if isinstance(part, (list, tuple)):
            yield from flatten(part)
        else:
            yield part


def plain(parts):
    return "".join(p.text if isinstance(p, Mark) else p for p in flatten(parts))


def mapped(parts, fn):
    return [Mark(fn(p.text), p.type) if isinstance(p, Mark) else fn(p) for p in flatten(parts)]


def assemble(parts):
    chunks, marks = [], []
    chars = 0
    for part in flatten(parts):
        s = part.text if isinstance(part, Mark) else part
        if isinstance(part, Mark):
            assert s
            marks.append((chars, chars + len(s), part))
        chunks.append(s)
        chars += len(s)
    text = "".join(chunks)
    raw = text.encode("utf-8")
    spans = []
    for cs, ce, mark in marks:
        start, end = len(text[:cs].encode("utf-8")), len(text[:ce].encode("utf-8"))
        assert raw[start:end].decode("utf-8") == mark.text
        # The span must be the whole value: no digit or word character glued to it.
        assert cs == 0 or not (text[cs - 1].isascii() and text[cs - 1].isalnum()), (text, mark)
        assert ce == len(text) or not (text[ce].isascii() and text[ce].isalnum()), (text, mark)
        validate(mark)
        spans.append({"start": start, "end": end, "type": mark.type})
    return text, spans


def make_row(parts, fmt, group, note):
    text, spans = assemble(parts)
    return {"text": text, "label": 1 if spans else 0, "spans": spans, "format": fmt,
            "group": group, "split": split_of(fmt, group), "note": note}


# ---------------------------------------------------------------------------
# Checksums and validators (used to build values and to assert every span).

FULLWIDTH = str.maketrans("0123456789-()+", "０１２３４５６７８９－（）＋")
HALFWIDTH = str.maketrans("０１２３４５６７８９－（）＋", "0123456789-()+")


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number):
    return luhn_digit(number[:-1]) == number[-1]


def iban_ok(compact):
    s = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def ssn_ok(digits):
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return 0 < area < 900 and area != 666 and group > 0 and serial > 0


def validate(mark):
    v = mark.text
    if mark.type == CARD:
        d = re.sub(r"[ -]", "", v)
        assert d.isdigit() and 14 <= len(d) <= 19 and luhn_ok(d), v
    elif mark.type == IBAN:
        c = v.replace(" ", "")
        assert IBAN_LENGTHS[c[:2]] == len(c) and iban_ok(c), v
    elif mark.type == SSN:
        d = re.sub(r"[ -]", "", v)
        assert len(d) == 9 and d.isdigit() and ssn_ok(d), v
    elif mark.type == IP:
        ipaddress.ip_address(v)
    elif mark.type == EMAIL:
        local, _, domain = v.rpartition("@")
        assert local and "." in domain and " " not in v, v
    elif mark.type == PHONE:
        d = re.sub(r"\D", "", v.translate(HALFWIDTH))
        assert 8 <= len(d) <= 15, v


# ---------------------------------------------------------------------------
# Random helpers.

DIGITS = string.digits
HEX = "0123456789abcdef"


def digits(rng, n, first="0123456789"):
    return rng.choice(first) + "".join(rng.choice(DIGITS) for _ in range(n - 1))


def grouped(s, sizes, sep=" "):
    out, i = [], 0
    for size in sizes:
        out.append(s[i:i + size])
        i += size
    if i < len(s):
        out.append(s[i:])
    return sep.join(x for x in out if x)


def uuid4(rng):
    h = "".join(rng.choice(HEX) for _ in range(32))
    h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_timestamp(rng):
    return (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z")


# ---------------------------------------------------------------------------
# Phone numbers, written the national way of each locale or internationally.


def phone_de(rng, mobile):
    if mobile:
        area, n = rng.choice([("151", 8), ("152", 8), ("157", 8), ("160", 7), ("162", 7),
                              ("170", 7), ("171", 7), ("172", 7), ("175", 7), ("176", 8),
                              ("177", 7), ("178", 7), ("179", 7)])
    else:
        area, n = rng.choice([("30", 8), ("40", 8), ("89", 8), ("69", 8), ("221", 7),
                              ("211", 7), ("711", 7), ("341", 7), ("351", 7), ("511", 7),
                              ("911", 7), ("421", 7), ("6221", 6)])
    sub = digits(rng, n, "23456789")
    if rng.random() < 0.35:
        return rng.choice([f"+49 {area} {sub}", f"+49 (0){area} {sub}", f"+49{area}{sub}",
                           f"0049 {area} {sub}", f"+49{area}{sub[:-2]} {sub[-2:]}",
                           f"+49-{area}-{sub}"]), "international"
    return rng.choice([f"0{area} {sub}", f"0{area}/{sub}", f"(0{area}) {sub[:-4]}-{sub[-4:]}",
                       f"0{area}-{sub}", f"0{area} {grouped(sub, [3, 4] if n == 7 else [4, 4])}"
                       ]), "national"


def phone_nl(rng, mobile):
    if mobile:
        sub = digits(rng, 8, "12345")
        if rng.random() < 0.35:
            return rng.choice([f"+31 6 {sub}", f"+316{sub}", f"0031 6 {grouped(sub, [4, 4])}",
                               f"+31 (0)6 {sub}"]), "international"
        return rng.choice([f"06-{sub}", f"06 {grouped(sub, [4, 4])}", f"06 {grouped(sub, [2, 2, 2, 2])}",
                           f"06{sub}"]), "national"
    if rng.random() < 0.7:
        area = rng.choice(["10", "13", "15", "20", "23", "24", "26", "30", "33", "35", "40",
                           "43", "50", "53", "70", "71", "73", "76"])
        sub = digits(rng, 7, "2345678")
        national = rng.choice([f"0{area}-{sub[:3]} {sub[3:]}", f"0{area} {sub[:3]} {sub[3:]}",
                               f"0{area}-{sub}", f"(0{area}) {sub[:3]} {sub[3:5]} {sub[5:]}"])
        intl = rng.choice([f"+31 {area} {sub[:3]} {sub[3:]}", f"+31 (0){area} {sub[:3]} {sub[3:]}",
                           f"+31{area}{sub}"])
    else:
        area = rng.choice(["251", "418", "513", "546", "570", "591", "113", "172", "222", "343"])
        sub = digits(rng, 6, "2345678")
        national = rng.choice([f"0{area}-{sub}", f"0{area} {grouped(sub, [2, 2, 2])}"])
        intl = f"+31 {area} {sub}"
    return (intl, "international") if rng.random() < 0.35 else (national, "national")


def phone_br(rng, mobile):
    ddd = rng.choice(["11", "21", "31", "41", "51", "61", "71", "81", "85", "19", "27", "48",
                      "62", "92", "91", "84"])
    if mobile:
        sub = "9" + digits(rng, 8, "6789")
        local = rng.choice([f"{sub[:5]}-{sub[5:]}", f"{sub[0]} {sub[1:5]}-{sub[5:]}"])
    else:
        sub = digits(rng, 8, "2345")
        local = f"{sub[:4]}-{sub[4:]}"
    if rng.random() < 0.3:
        return rng.choice([f"+55 {ddd} {local}", f"+55 ({ddd}) {local}", f"+55{ddd}{sub}"]), \
            "international"
    return rng.choice([f"({ddd}) {local}", f"{ddd} {local}", f"({ddd}) {sub}",
                       f"({ddd}){local}"]), "national"


def phone_jp(rng, mobile):
    if mobile:
        area = rng.choice(["90", "80", "70"])
        a, b = digits(rng, 4, "123456789"), digits(rng, 4)
    else:
        r = rng.random()
        if r < 0.5:
            area = rng.choice(["3", "6"])
            a, b = digits(rng, 4, "23456789"), digits(rng, 4)
        elif r < 0.85:
            area = rng.choice(["45", "52", "11", "92", "75", "78", "22", "82"])
            a, b = digits(rng, 3, "23456789"), digits(rng, 4)
        else:
            area = rng.choice(["422", "467", "276", "532", "859", "954"])
            a, b = digits(rng, 2, "23456789"), digits(rng, 4)
    if rng.random() < 0.3:
        return rng.choice([f"+81 {area}-{a}-{b}", f"+81-{area}-{a}-{b}", f"+81{area}{a}{b}",
                           f"+81 {area} {a} {b}"]), "international"
    text = rng.choice([f"0{area}-{a}-{b}", f"0{area}-{a}-{b}", f"0{area}({a}){b}",
                       f"(0{area}){a}-{b}", f"0{area}{a}{b}"])
    if rng.random() < 0.12:
        return text.translate(FULLWIDTH), "national, full-width digits"
    return text, "national"


def phone_fr(rng, mobile):
    if mobile:
        z = rng.choice(["6", "6", "7"])
        rest = digits(rng, 8, "3456789" if z == "7" else DIGITS)
    else:
        z = rng.choice(["1", "2", "3", "4", "5", "9"])
        rest = digits(rng, 8)
    pairs = grouped(rest, [2, 2, 2, 2])
    if rng.random() < 0.35:
        return rng.choice([f"+33 {z} {pairs}", f"+33 (0){z} {pairs}", f"+33{z}{rest}",
                           f"0033 {z} {pairs}"]), "international"
    return rng.choice([f"0{z} {pairs}", f"0{z}.{pairs.replace(' ', '.')}", f"0{z}{rest}",
                       f"0{z}-{pairs.replace(' ', '-')}"]), "national"


def phone_in(rng, mobile):
    if mobile:
        num = digits(rng, 10, "6789")
        if rng.random() < 0.35:
            return rng.choice([f"+91 {num[:5]} {num[5:]}", f"+91-{num}", f"+91{num}",
                               f"0091 {num[:5]} {num[5:]}"]), "international"
        return rng.choice([f"{num[:5]} {num[5:]}", f"0{num[:5]} {num[5:]}", num,
                           f"{num[:5]}-{num[5:]}"]), "national"
    std = rng.choice(["11", "22", "33", "44", "80", "40", "20"])
    sub = digits(rng, 8, "234567")
    if rng.random() < 0.35:
        return rng.choice([f"+91 {std} {sub[:4]} {sub[4:]}", f"+91-{std}-{sub}"]), "international"
    return rng.choice([f"0{std} {sub[:4]} {sub[4:]}", f"0{std}-{sub[:4]} {sub[4:]}",
                       f"(0{std}) {sub}", f"0{std}-{sub}"]), "national"


def phone_gb(rng, mobile):
    if mobile:
        body = "7" + rng.choice("1234579") + digits(rng, 8)
        national = rng.choice([f"0{body[:4]} {body[4:]}", f"0{body[:4]}-{body[4:]}", f"0{body}"])
        intl = rng.choice([f"+44 {body[:4]} {body[4:]}", f"+44{body}", f"+44 (0){body[:4]} {body[4:]}",
                           f"0044 {body[:4]} {body[4:]}"])
    else:
        r = rng.random()
        if r < 0.5:
            body = "20" + rng.choice("378") + digits(rng, 7)
            national = rng.choice([f"0{body[:2]} {body[2:6]} {body[6:]}", f"(0{body[:2]}) {body[2:6]} {body[6:]}"])
            intl = rng.choice([f"+44 {body[:2]} {body[2:6]} {body[6:]}", f"+44 (0){body[:2]} {body[2:6]} {body[6:]}"])
        elif r < 0.8:
            body = rng.choice(["161", "113", "121", "131", "141", "117", "151", "114"]) + digits(rng, 7, "2345689")
            national = f"0{body[:3]} {body[3:6]} {body[6:]}"
            intl = f"+44 {body[:3]} {body[3:6]} {body[6:]}"
        else:
            body = rng.choice(["1223", "1865", "1904", "1273", "1392"]) + digits(rng, 6, "2345689")
            national = f"0{body[:4]} {body[4:]}"
            intl = f"+44 {body[:4]} {body[4:]}"
    return (intl, "international") if rng.random() < 0.35 else (national, "national")


def phone_es(rng, mobile):
    if mobile:
        num = "6" + digits(rng, 8) if rng.random() < 0.8 else "7" + rng.choice("1234") + digits(rng, 7)
        national = rng.choice([f"{num[:3]} {num[3:5]} {num[5:7]} {num[7:]}", f"{num[:3]} {num[3:6]} {num[6:]}",
                               num, f"{num[:3]}-{num[3:5]}-{num[5:7]}-{num[7:]}"])
    elif rng.random() < 0.6:
        num = rng.choice(["91", "93"]) + digits(rng, 7, "2345678")
        national = rng.choice([f"{num[:2]} {num[2:5]} {num[5:7]} {num[7:]}", f"{num[:3]} {num[3:6]} {num[6:]}"])
    else:
        num = rng.choice(["954", "963", "985", "976", "945", "928"]) + digits(rng, 6)
        national = rng.choice([f"{num[:3]} {num[3:5]} {num[5:7]} {num[7:]}", f"{num[:3]} {num[3:6]} {num[6:]}"])
    if rng.random() < 0.35:
        return rng.choice([f"+34 {national}", f"+34{num}", f"0034 {national}", f"(+34) {national}"]), \
            "international"
    return national, "national"


def phone_it(rng, mobile):
    if mobile:
        num = "3" + rng.choice("23456789") + digits(rng, 8)
        national = rng.choice([f"{num[:3]} {num[3:6]} {num[6:]}", f"{num[:3]} {num[3:]}",
                               f"{num[:3]}-{num[3:]}", num])
    else:
        area, n = rng.choice([("06", 8), ("02", 8), ("011", 7), ("055", 7), ("081", 7),
                              ("051", 7), ("010", 7), ("041", 7), ("0471", 6)])
        sub = digits(rng, n, "2345678")
        num = area + sub
        national = rng.choice([f"{area} {grouped(sub, [4, 4] if n == 8 else [3, 4] if n == 7 else [3, 3])}",
                               f"{area} {sub}", f"{area}-{sub}", f"{area}/{sub}"])
    if rng.random() < 0.35:
        spaced = national.replace("-", " ").replace("/", " ")
        return rng.choice([f"+39 {spaced}", f"+39{num}", f"0039 {spaced}"]), "international"
    return national, "national"


def phone_us(rng, mobile):
    npa = rng.choice(["212", "213", "305", "312", "415", "512", "617", "646", "702", "713",
                      "718", "206", "303", "404", "503", "602", "619", "773", "818", "917"])
    while True:
        nxx = digits(rng, 3, "23456789")
        if nxx[1:] != "11":
            break
    line = f"01{rng.randint(0, 99):02d}" if nxx == "555" else digits(rng, 4)
    if rng.random() < 0.25:
        nxx, line = "555", f"01{rng.randint(0, 99):02d}"
    if rng.random() < 0.3:
        return rng.choice([f"+1 {npa} {nxx} {line}", f"+1 ({npa}) {nxx}-{line}",
                           f"+1-{npa}-{nxx}-{line}", f"+1{npa}{nxx}{line}"]), "international"
    return rng.choice([f"({npa}) {nxx}-{line}", f"{npa}-{nxx}-{line}", f"{npa}.{nxx}.{line}",
                       f"{npa} {nxx} {line}", f"1-{npa}-{nxx}-{line}"]), "national"


# ---------------------------------------------------------------------------
# Cards, IBANs, SSNs, IP addresses.

CARD_BRANDS = [
    ("Visa", ["4"], 16, (4, 4, 4, 4), 5),
    ("Visa", ["4"], 19, (4, 4, 4, 4, 3), 1),
    ("Mastercard", ["51", "52", "53", "54", "55"], 16, (4, 4, 4, 4), 3),
    ("Mastercard", [str(p) for p in range(2221, 2721)], 16, (4, 4, 4, 4), 2),
    ("American Express", ["34", "37"], 15, (4, 6, 5), 2),
    ("Discover", ["6011", "644", "645", "646", "647", "648", "649", "65"], 16, (4, 4, 4, 4), 1),
    ("JCB", [str(p) for p in range(3528, 3590)], 16, (4, 4, 4, 4), 1),
    ("Diners Club", ["36", "38", "300", "301", "302", "303", "304", "305"], 14, (4, 6, 4), 1),
    ("Maestro", ["5018", "5020", "5038", "6304", "6759", "6761", "6763"], 19, (4, 4, 4, 4, 3), 1),
]


def card_number(rng, valid=True):
    brand, prefixes, length, groups, _ = rng.choices(CARD_BRANDS, weights=[b[4] for b in CARD_BRANDS])[0]
    prefix = rng.choice(prefixes)
    body = prefix + digits(rng, length - len(prefix) - 1)
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    number = body + check
    style = rng.random()
    if style < 0.55:
        return grouped(number, groups, " "), brand
    if style < 0.7:
        return grouped(number, groups, "-"), brand
    return number, brand


# BBAN layout per country: (count, kind) with n = digit, a = upper letter, c = digit or letter.
IBAN_LAYOUTS = {
    "DE": "8n10n", "AT": "5n11n", "CH": "5n12n", "NL": "4a10n", "BE": "12n", "FR": "10n11n2n",
    "ES": "20n", "IT": "1a10n12n", "PT": "21n", "GB": "4a14n", "IE": "4a14n", "LU": "3n13n",
    "PL": "24n", "SE": "20n", "DK": "14n", "NO": "11n", "FI": "14n", "BR": "23n1a1c", "CZ": "20n",
    "GR": "7n16n", "AE": "19n", "SA": "2n18c", "TR": "5n17n",
}
IBAN_BANKS = {
    "DE": ["10010010", "37040044", "50010517", "20041133", "10070000", "70150000", "12030000",
           "76026000", "50070010", "43060967"],
    "NL": ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "KNAB", "ASNB", "BUNQ"],
    "GB": ["NWBK", "BARC", "HBUK", "LOYD", "MIDL", "MONZ"],
    "IE": ["AIBK", "BOFI"],
    "FR": ["30004", "30003", "20041", "10278", "30002"],
    "ES": ["2100", "0049", "0182", "0081", "2038"],
    "IT": ["X03069", "X02008", "X05034", "X03104"],
    "BE": ["001", "068", "310", "363"],
    "PT": ["0035", "0033", "0007"],
}


def parse_layout(layout):
    return [(int(n), k) for n, k in re.findall(r"(\d+)([nac])", layout)]


IBAN_LENGTHS = {cc: 4 + sum(n for n, _ in parse_layout(layout)) for cc, layout in IBAN_LAYOUTS.items()}


def iban_check_digits(cc, bban):
    s = bban + cc + "00"
    return f"{98 - int(''.join(str(int(c, 36)) for c in s)) % 97:02d}"


def iban(rng, cc, valid=True):
    alphabet = {"n": DIGITS, "a": string.ascii_uppercase, "c": DIGITS + string.ascii_uppercase}
    bban = "".join(rng.choice(alphabet[k]) for n, k in parse_layout(IBAN_LAYOUTS[cc]) for _ in range(n))
    if cc in IBAN_BANKS:
        bank = rng.choice(IBAN_BANKS[cc])
        if bank.startswith("X"):
            bank = rng.choice(string.ascii_uppercase) + bank[1:]
        bban = bank + bban[len(bank):]
    check = iban_check_digits(cc, bban)
    if not valid:
        check = f"{(int(check) + rng.randint(1, 90)) % 97 + 2:02d}"
        if iban_ok(cc + check + bban):
            check = f"{(int(check) + 1) % 97 + 2:02d}"
    compact = cc + check + bban
    assert iban_ok(compact) == valid
    if rng.random() < 0.6:
        return grouped(compact, [4] * 8, " ")
    return compact


def ssn(rng):
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}"


IPV4_FIRST = [23, 31, 37, 45, 46, 49, 52, 54, 62, 64, 66, 68, 71, 73, 77, 78, 81, 82, 84, 85, 86,
              87, 88, 89, 91, 93, 94, 95, 98, 99, 104, 107, 108, 109, 122, 124, 133, 141, 145, 150,
              151, 153, 176, 178, 180, 182, 185, 187, 188, 189, 193, 194, 195, 200, 201, 212, 213, 217]


def ipv4(rng):
    r = rng.random()
    if r < 0.15:
        return rng.choice([f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                           f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                           f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])
    if r < 0.3:
        return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randint(1, 254)}"
    return f"{rng.choice(IPV4_FIRST)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng):
    r = rng.random()
    if r < 0.2:
        mac = [rng.randint(0, 255) for _ in range(6)]
        iid = [mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]]
        words = [0xfe80, 0, 0, 0] + [iid[i] << 8 | iid[i + 1] for i in range(0, 8, 2)]
        addr = ipaddress.IPv6Address(":".join(f"{w:x}" for w in words))
        return addr.compressed, "link-local"
    if r < 0.32:
        return f"::ffff:{ipv4(rng)}", "IPv4-mapped"
    prefix = rng.choice([[0x2001, 0xdb8], [0x2a00, rng.randint(0, 0xfff)], [0x2a02, rng.randint(0, 0xffff)],
                         [0x2600, rng.randint(0, 0xffff)], [0x2001, rng.randint(0x400, 0x4ff)],
                         [0x2400, rng.randint(0, 0xfff)], [0x2800, rng.randint(0, 0xfff)]])
    words = prefix + [rng.randint(0, 0xffff) for _ in range(6)]
    zeros = rng.choice([0, 2, 3, 4])
    if zeros:
        start = rng.randint(2, 8 - zeros)
        words[start:start + zeros] = [0] * zeros
    addr = ipaddress.IPv6Address(":".join(f"{w:x}" for w in words))
    style = rng.random()
    if style < 0.15:
        return addr.exploded, "full form"
    if style < 0.25:
        return addr.compressed.upper(), "compressed, upper case"
    return addr.compressed, "compressed"


# ---------------------------------------------------------------------------
# Locales.


@dataclass
class Locale:
    code: str
    lang: str
    first: list
    last: list
    mail_providers: list
    companies: list
    cities: list
    phone: object
    iban_countries: list
    romaji: dict = field(default_factory=dict)


LOCALES = [
    Locale("en_US", "en", ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David",
                           "Linda", "Ashley", "Tyler"],
           ["Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez",
            "Martinez", "Wilson"],
           ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "comcast.net"],
           ["brightpath.com", "northwind-traders.com", "pinecrest-dental.com", "lakeside-realty.us"],
           ["Austin, TX 78701", "Chicago, IL 60614", "Seattle, WA 98101", "Boston, MA 02116"],
           phone_us, ["GB", "DE"]),
    Locale("en_GB", "en", ["Oliver", "Amelia", "George", "Isla", "Harry", "Emily", "Jack", "Sophie",
                           "Charlotte", "Thomas"],
           ["Taylor", "Davies", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes",
            "Edwards", "Green"],
           ["btinternet.com", "gmail.com", "hotmail.co.uk", "sky.com", "outlook.com", "yahoo.co.uk"],
           ["harbourview.co.uk", "thamesworks.co.uk", "greenfield-estates.co.uk", "kestrel-legal.co.uk"],
           ["London SW1A 2AA", "Manchester M1 1AE", "Leeds LS1 4DY", "Bristol BS1 5TR"],
           phone_gb, ["GB", "GB", "GB", "IE"]),
    Locale("en_IN", "en", ["Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya",
                           "Rahul", "Divya"],
           ["Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Mehta", "Rao", "Banerjee"],
           ["gmail.com", "rediffmail.com", "yahoo.co.in", "outlook.com"],
           ["sunrise-textiles.in", "infobridge.co.in", "kaveri-exports.com", "lotus-pharma.in"],
           ["Mumbai 400001", "Bengaluru 560001", "New Delhi 110001", "Chennai 600002"],
           phone_in, ["AE", "GB"]),
    Locale("de_DE", "de", ["Lukas", "Anna", "Jürgen", "Sophie", "Maximilian", "Marie", "Jörg", "Lena",
                           "Stefan", "Käthe"],
           ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schäfer", "Groß"],
           ["gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de"],
           ["nordwind-logistik.de", "alpenblick-reisen.de", "hansetrans.de", "rheintal-consult.de",
            "bäckerei-schmidt.de"],
           ["10115 Berlin", "80331 München", "20095 Hamburg", "50667 Köln"],
           phone_de, ["DE", "DE", "DE", "AT", "CH"]),
    Locale("fr_FR", "fr", ["Élodie", "Jean", "Camille", "Léa", "François", "Chloé", "Hugo", "Anaïs",
                           "Théo", "Jérôme"],
           ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau",
            "Mercier", "Dupré"],
           ["orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr", "wanadoo.fr"],
           ["atelier-lumiere.fr", "transports-girard.fr", "cabinet-moreau.fr", "vignobles-laurent.fr"],
           ["75008 Paris", "69002 Lyon", "13001 Marseille", "31000 Toulouse"],
           phone_fr, ["FR", "FR", "FR", "BE", "LU"]),
    Locale("nl_NL", "nl", ["Daan", "Emma", "Sem", "Sophie", "Lucas", "Julia", "Bram", "Tess", "Ruben",
                           "Fleur"],
           ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "de Jong", "Mulder",
            "van Dijk", "Bos"],
           ["ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.nl", "outlook.com", "xs4all.nl"],
           ["vandijk-installatie.nl", "bakkerij-visser.nl", "dutchflow.nl", "groenrijk.nl"],
           ["1012 AB Amsterdam", "3011 AD Rotterdam", "3511 LN Utrecht", "2511 CV Den Haag"],
           phone_nl, ["NL", "NL", "NL", "BE"]),
    Locale("pt_BR", "pt", ["João", "Maria", "Lucas", "Ana", "Gabriel", "Juliana", "Matheus", "Beatriz",
                           "Rafael", "Larissa"],
           ["Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Rodrigues", "Almeida",
            "Gonçalves", "Araújo"],
           ["gmail.com", "hotmail.com", "uol.com.br", "bol.com.br", "terra.com.br", "yahoo.com.br"],
           ["construtora-horizonte.com.br", "padaria-sol.com.br", "logtech.com.br", "agro-vale.com.br"],
           ["São Paulo - SP, 01310-100", "Rio de Janeiro - RJ, 20040-020", "Belo Horizonte - MG, 30130-010"],
           phone_br, ["BR", "BR", "PT"]),
    Locale("ja_JP", "ja", ["太郎", "花子", "翔太", "美咲", "健一", "陽菜", "大輔", "さくら"],
           ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村"],
           ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "icloud.com", "outlook.jp"],
           ["sakura-shoji.co.jp", "yamato-tech.co.jp", "fujimi-design.jp", "kawasemi.co.jp"],
           ["東京都千代田区丸の内1-1-1", "大阪府大阪市北区梅田2-2-2", "神奈川県横浜市西区3-3-3"],
           phone_jp, ["DE", "GB"],
           romaji={"太郎": "taro", "花子": "hanako", "翔太": "shota", "美咲": "misaki", "健一": "kenichi",
                   "陽菜": "hina", "大輔": "daisuke", "さくら": "sakura", "山田": "yamada", "佐藤": "sato",
                   "鈴木": "suzuki", "高橋": "takahashi", "田中": "tanaka", "伊藤": "ito",
                   "渡辺": "watanabe", "中村": "nakamura"}),
    Locale("es_ES", "es", ["Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Álvaro", "María", "Javier",
                           "Paula", "José"],
           ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
            "Gómez", "Núñez"],
           ["gmail.com", "hotmail.es", "telefonica.net", "yahoo.es", "outlook.es"],
           ["talleres-garcia.es", "viajes-solmar.es", "iberdatos.es", "bodegas-lopez.es"],
           ["28013 Madrid", "08002 Barcelona", "41004 Sevilla", "46002 Valencia"],
           phone_es, ["ES", "ES", "ES", "PT"]),
    Locale("it_IT", "it", ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sofia",
                           "Matteo", "Martina", "Niccolò"],
           ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
            "Marino", "Greco"],
           ["libero.it", "gmail.com", "virgilio.it", "alice.it", "tiscali.it", "outlook.it"],
           ["ferramenta-rossi.it", "studio-bianchi.it", "trasporti-greco.it", "cantina-ricci.it"],
           ["00184 Roma", "20121 Milano", "10121 Torino", "50123 Firenze"],
           phone_it, ["IT", "IT", "IT", "CH"]),
]
LOCALE_BY_CODE = {loc.code: loc for loc in LOCALES}
EXTRA_IBAN_COUNTRIES = ["PL", "SE", "DK", "NO", "FI", "CZ", "GR", "SA", "TR", "PT", "LU", "AT"]


def ascii_fold(s, lang):
    if lang == "de":
        s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
        s = s.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class Person:
    first: str
    last: str
    loc: Locale

    @property
    def full(self):
        return f"{self.last} {self.first}" if self.loc.lang == "ja" else f"{self.first} {self.last}"


def new_person(rng, loc):
    return Person(rng.choice(loc.first), rng.choice(loc.last), loc)


def email_address(rng, person):
    loc = person.loc
    if loc.romaji:
        first, last = loc.romaji[person.first], loc.romaji[person.last]
        unicode_ok = False
    else:
        first, last = person.first.lower(), person.last.lower().replace(" ", "")
        unicode_ok = first != ascii_fold(first, loc.lang) or last != ascii_fold(last, loc.lang)
    if not (unicode_ok and rng.random() < 0.25):
        first, last = ascii_fold(first, loc.lang), ascii_fold(last, loc.lang)
    r = rng.random()
    if r < 0.3:
        local = f"{first}.{last}"
    elif r < 0.45:
        local = f"{first[0]}{last}"
    elif r < 0.55:
        local = f"{first}_{last}"
    elif r < 0.7:
        local = f"{first}{last}{rng.randint(1, 99)}"
    elif r < 0.8:
        local = f"{last}.{first}"
    else:
        tag = rng.choice(["shop", "newsletter", "invoices", "github", "work", "2024"])
        local = f"{rng.choice([first, first + '.' + last])}+{tag}"
    if rng.random() < 0.55:
        domain = rng.choice(loc.mail_providers)
    else:
        domain = rng.choice(loc.companies)
        if rng.random() < 0.25:
            domain = rng.choice(["mail.", "eu.", "corp.", "office.", "lists."]) + domain
    return f"{local}@{domain}"


def company_email(rng, loc):
    role = rng.choice(["info", "support", "kontakt" if loc.lang == "de" else "contact", "billing",
                       "service"])
    return f"{role}@{rng.choice(loc.companies)}"


# ---------------------------------------------------------------------------
# Phrases per language: field labels, sentences that mention a value ({v}), and the
# furniture of letters, forms and tickets.

PACKS = {
    "en": {
        "labels": {"name": "Name", "email": "Email", "phone": "Phone", "mobile": "Mobile",
                   "fax": "Fax", "iban": "IBAN", "card": "Card number", "ssn": "SSN",
                   "ip": "IP address", "order": "Order no.", "invoice": "Invoice no.",
                   "date": "Date", "amount": "Amount", "tracking": "Tracking number",
                   "account": "Account no.", "city": "City"},
        "say": {
            "email": ["You can email me at {v}.", "Please send the documents to {v}.",
                      "My new address is {v}, the old one bounces.", "Contact: {v}",
                      "please cc {v} on the reply"],
            "phone": ["Call me on {v} after 5pm.", "My number is {v}.",
                      "Best number to reach me: {v}", "Please call back at {v}."],
            "mobile": ["My cell is {v}.", "Text me on {v} if anything changes.", "Mobile: {v}"],
            "fax": ["Fax the signed form to {v}.", "Our fax number is {v}."],
            "iban": ["Please refund to IBAN {v}.", "Our new bank details: {v}",
                     "Pay the deposit to {v} please."],
            "card": ["I was charged twice on my card {v}.", "Card used: {v}",
                     "Please charge {v} for the renewal."],
            "ip": ["I logged in from {v} this morning.", "The requests came from {v}.",
                   "Please whitelist {v}."],
            "order": ["This is about order {v}.", "Order {v} never arrived."],
            "invoice": ["Regarding invoice {v}:", "Invoice {v} is still unpaid."],
            "date": ["The parcel arrived on {v}.", "Last contact: {v}."],
            "amount": ["{v} was debited from my account.", "The total was {v}."],
            "tracking": ["Tracking number: {v}", "The parcel {v} is stuck in customs."],
            "account": ["Account no. {v}", "Customer account {v}."],
        },
        "hello": ["Hi {first},", "Hello {first},", "Dear {first} {last},"],
        "regards": ["Best regards,", "Thanks,", "Cheers,", "Kind regards,"],
        "subjects": ["Update to my account", "Refund request", "Contact details", "Re: your order",
                     "Change of bank details"],
        "form_title": ["Contact form", "Customer registration", "Change of details"],
        "intro": ["I'm writing about my account.", "Following up on our call.",
                  "Quick update from my side."],
        "notes": ["Customer called about a missing delivery.", "Asked to update contact details.",
                  "Callback requested, customer was polite but in a hurry."],
        "chat": ["hey, quick question", "sure, here you go", "ok one sec", "thanks!"],
        "colon": ": ",
    },
    "de": {
        "labels": {"name": "Name", "email": "E-Mail", "phone": "Telefon", "mobile": "Mobil",
                   "fax": "Fax", "iban": "IBAN", "card": "Kartennummer", "ip": "IP-Adresse",
                   "order": "Bestellnummer", "invoice": "Rechnungsnummer", "date": "Datum",
                   "amount": "Betrag", "tracking": "Sendungsnummer", "account": "Kontonummer",
                   "city": "Ort"},
        "say": {
            "email": ["Sie erreichen mich per E-Mail unter {v}.",
                      "Bitte schicken Sie die Unterlagen an {v}.", "Meine neue Adresse lautet {v}."],
            "phone": ["Rufen Sie mich gerne unter {v} an.", "Ich bin unter {v} erreichbar.",
                      "Rückruf erbeten unter {v}."],
            "mobile": ["Mobil bin ich unter {v} zu erreichen.", "Handy: {v}"],
            "fax": ["Bitte faxen Sie das Formular an {v}.", "Fax: {v}"],
            "iban": ["Bitte überweisen Sie die Erstattung auf {v}.",
                     "Unsere neue Bankverbindung: IBAN {v}",
                     "Die Lastschrift soll künftig von {v} eingezogen werden."],
            "card": ["Meine Kreditkarte {v} wurde doppelt belastet.",
                     "Bezahlt habe ich mit der Karte {v}."],
            "ip": ["Der Zugriff kam von {v}.", "Ich war heute früh von {v} aus eingeloggt."],
            "order": ["Es geht um die Bestellung {v}.", "Die Bestellung {v} ist nicht angekommen."],
            "invoice": ["Zur Rechnung {v}:", "Die Rechnung {v} ist noch offen."],
            "date": ["Das Paket kam am {v} an.", "Letzter Kontakt: {v}."],
            "amount": ["Der Betrag von {v} wurde abgebucht.", "Insgesamt waren es {v}."],
            "tracking": ["Sendungsnummer: {v}", "Die Sendung {v} hängt im Zoll."],
            "account": ["Kontonummer {v}", "Kundenkonto {v}."],
        },
        "hello": ["Hallo {first},", "Sehr geehrte Damen und Herren,", "Liebe Frau {last},"],
        "regards": ["Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße"],
        "subjects": ["Rückfrage zu Ihrer Bestellung", "Neue Bankverbindung", "Kontaktdaten",
                     "AW: Erstattung"],
        "form_title": ["Kontaktformular", "Kundendaten ändern", "Anmeldung"],
        "intro": ["ich melde mich wegen meines Kundenkontos.", "wie telefonisch besprochen:",
                  "kurze Rückmeldung von mir."],
        "notes": ["Kundin hat wegen fehlender Lieferung angerufen.",
                  "Möchte die Kontaktdaten aktualisieren.", "Bittet um Rückruf."],
        "chat": ["hi, kurze Frage", "klar, hier", "moment", "danke!"],
        "colon": ": ",
    },
    "fr": {
        "labels": {"name": "Nom", "email": "E-mail", "phone": "Téléphone", "mobile": "Portable",
                   "fax": "Fax", "iban": "IBAN", "card": "Numéro de carte", "ip": "Adresse IP",
                   "order": "Commande n°", "invoice": "Facture n°", "date": "Date",
                   "amount": "Montant", "tracking": "Numéro de suivi", "account": "N° de compte",
                   "city": "Ville"},
        "say": {
            "email": ["Vous pouvez m'écrire à {v}.", "Merci d'envoyer les documents à {v}.",
                      "Ma nouvelle adresse est {v}."],
            "phone": ["Vous pouvez me joindre au {v}.", "Merci de me rappeler au {v}.",
                      "Mon numéro : {v}"],
            "mobile": ["Mon portable : {v}", "Envoyez-moi un SMS au {v}."],
            "fax": ["Faxez le formulaire au {v}.", "Fax : {v}"],
            "iban": ["Merci de rembourser sur l'IBAN {v}.", "Nouvelles coordonnées bancaires : {v}"],
            "card": ["Ma carte {v} a été débitée deux fois.", "Carte utilisée : {v}"],
            "ip": ["La connexion venait de {v}.", "Je me suis connecté depuis {v} ce matin."],
            "order": ["Concernant la commande {v}.", "La commande {v} n'est jamais arrivée."],
            "invoice": ["Au sujet de la facture {v} :", "La facture {v} reste impayée."],
            "date": ["Le colis est arrivé le {v}.", "Dernier contact : {v}."],
            "amount": ["Le montant de {v} a été prélevé.", "Total : {v}."],
            "tracking": ["Numéro de suivi : {v}", "Le colis {v} est bloqué en douane."],
            "account": ["N° de compte {v}", "Compte client {v}."],
        },
        "hello": ["Bonjour {first},", "Madame, Monsieur,", "Bonjour Madame {last},"],
        "regards": ["Cordialement,", "Bien à vous,", "Bonne journée,"],
        "subjects": ["Demande de remboursement", "Changement de coordonnées", "Votre commande"],
        "form_title": ["Formulaire de contact", "Inscription", "Modification de vos données"],
        "intro": ["je vous écris au sujet de mon compte.", "suite à notre appel :",
                  "petit point de mon côté."],
        "notes": ["La cliente a appelé pour une livraison manquante.",
                  "Souhaite mettre à jour ses coordonnées.", "Rappel demandé."],
        "chat": ["salut, petite question", "oui, voilà", "une seconde", "merci !"],
        "colon": " : ",
    },
    "nl": {
        "labels": {"name": "Naam", "email": "E-mail", "phone": "Telefoon", "mobile": "Mobiel",
                   "fax": "Fax", "iban": "IBAN", "card": "Kaartnummer", "ip": "IP-adres",
                   "order": "Bestelnummer", "invoice": "Factuurnummer", "date": "Datum",
                   "amount": "Bedrag", "tracking": "Trackingnummer", "account": "Klantnummer",
                   "city": "Plaats"},
        "say": {
            "email": ["Je kunt me mailen op {v}.", "Stuur de documenten naar {v}.",
                      "Mijn nieuwe adres is {v}."],
            "phone": ["Bel me op {v}.", "Ik ben bereikbaar op {v}.", "Graag terugbellen op {v}."],
            "mobile": ["Mijn mobiel: {v}", "App me even op {v}."],
            "fax": ["Fax het formulier naar {v}."],
            "iban": ["Graag terugstorten op {v}.", "Ons nieuwe rekeningnummer is {v}."],
            "card": ["Mijn creditcard {v} is twee keer belast.", "Betaald met kaart {v}."],
            "ip": ["De login kwam van {v}.", "Ik was vanochtend ingelogd vanaf {v}."],
            "order": ["Het gaat om bestelling {v}.", "Bestelling {v} is nooit aangekomen."],
            "invoice": ["Over factuur {v}:", "Factuur {v} staat nog open."],
            "date": ["Het pakket kwam op {v} aan.", "Laatste contact: {v}."],
            "amount": ["Er is {v} afgeschreven.", "Totaal: {v}."],
            "tracking": ["Trackingnummer: {v}", "Pakket {v} zit vast bij de douane."],
            "account": ["Klantnummer {v}"],
        },
        "hello": ["Hoi {first},", "Beste {first},", "Geachte heer/mevrouw {last},"],
        "regards": ["Met vriendelijke groet,", "Groeten,", "Groetjes,"],
        "subjects": ["Terugbetaling", "Nieuwe contactgegevens", "Uw bestelling"],
        "form_title": ["Contactformulier", "Aanmelden", "Gegevens wijzigen"],
        "intro": ["ik mail over mijn account.", "zoals net telefonisch besproken:",
                  "even een update van mijn kant."],
        "notes": ["Klant belde over een ontbrekende levering.", "Wil contactgegevens aanpassen.",
                  "Terugbelverzoek."],
        "chat": ["hoi, snelle vraag", "ja hoor, hier", "momentje", "top, dank je!"],
        "colon": ": ",
    },
    "pt": {
        "labels": {"name": "Nome", "email": "E-mail", "phone": "Telefone", "mobile": "Celular",
                   "fax": "Fax", "iban": "IBAN", "card": "Número do cartão", "ip": "Endereço IP",
                   "order": "Pedido", "invoice": "Nota fiscal", "date": "Data", "amount": "Valor",
                   "tracking": "Código de rastreio", "account": "Conta", "city": "Cidade"},
        "say": {
            "email": ["Pode me mandar um e-mail em {v}.", "Envie os documentos para {v}.",
                      "Meu novo e-mail é {v}."],
            "phone": ["Me liga no {v}.", "Meu telefone é {v}.", "Pode retornar no {v}."],
            "mobile": ["Meu celular é {v}.", "Pode falar comigo no WhatsApp {v}."],
            "fax": ["Envie o formulário por fax para {v}."],
            "iban": ["Favor reembolsar na conta {v}.", "Dados bancários: IBAN {v}"],
            "card": ["Meu cartão {v} foi cobrado duas vezes.", "Paguei com o cartão {v}."],
            "ip": ["O acesso veio do IP {v}.", "Entrei hoje de manhã pelo IP {v}."],
            "order": ["É sobre o pedido {v}.", "O pedido {v} não chegou."],
            "invoice": ["Sobre a nota fiscal {v}:"],
            "date": ["A encomenda chegou em {v}.", "Último contato: {v}."],
            "amount": ["Foi debitado {v} da minha conta.", "O total foi {v}."],
            "tracking": ["Código de rastreio: {v}", "A encomenda {v} está parada na alfândega."],
            "account": ["Conta {v}"],
        },
        "hello": ["Olá {first},", "Oi {first},", "Prezado(a) {first},"],
        "regards": ["Atenciosamente,", "Abraços,", "Obrigado,"],
        "subjects": ["Pedido de reembolso", "Atualização de cadastro", "Seu pedido"],
        "form_title": ["Formulário de contato", "Cadastro", "Atualizar dados"],
        "intro": ["estou escrevendo sobre minha conta.", "conforme conversamos por telefone:",
                  "segue uma atualização."],
        "notes": ["Cliente ligou sobre entrega não recebida.", "Quer atualizar o cadastro.",
                  "Pediu retorno."],
        "chat": ["oi, uma dúvida", "claro, segue", "só um minuto", "valeu!"],
        "colon": ": ",
    },
    "ja": {
        "labels": {"name": "氏名", "email": "メールアドレス", "phone": "電話番号", "mobile": "携帯電話",
                   "fax": "FAX", "iban": "IBAN", "card": "カード番号", "ip": "IPアドレス",
                   "order": "注文番号", "invoice": "請求書番号", "date": "日付", "amount": "金額",
                   "tracking": "追跡番号", "account": "お客様番号", "city": "住所"},
        "say": {
            "email": ["メールは{v}までお願いします。", "資料は{v}宛てに送ってください。",
                      "新しいメールアドレスは{v}です。"],
            "phone": ["お電話は{v}までお願いします。", "折り返しは{v}にお願いします。",
                      "電話番号：{v}"],
            "mobile": ["携帯：{v}", "携帯電話は{v}です。"],
            "fax": ["FAXは{v}へお送りください。"],
            "iban": ["返金は{v}の口座にお願いします。", "振込先IBAN：{v}"],
            "card": ["カード{v}で二重に請求されています。", "支払いはカード{v}で行いました。"],
            "ip": ["{v}からのアクセスがありました。", "今朝{v}からログインしました。"],
            "order": ["注文番号{v}の件です。", "注文{v}がまだ届いていません。"],
            "invoice": ["請求書{v}について"],
            "date": ["荷物は{v}に届きました。", "最終連絡日：{v}"],
            "amount": ["{v}が引き落とされました。", "合計{v}でした。"],
            "tracking": ["追跡番号：{v}", "荷物{v}が税関で止まっています。"],
            "account": ["お客様番号{v}"],
        },
        "hello": ["{last}様", "{last} {first}様", "ご担当者様"],
        "regards": ["よろしくお願いいたします。", "以上、よろしくお願いします。"],
        "subjects": ["返金のお願い", "連絡先変更のお知らせ", "ご注文について"],
        "form_title": ["お問い合わせフォーム", "会員登録", "登録情報の変更"],
        "intro": ["お世話になっております。", "先ほどお電話した件です。", "ご連絡ありがとうございます。"],
        "notes": ["配送未着の件で電話あり。", "連絡先の変更希望。", "折り返し希望。"],
        "chat": ["すみません、質問です", "はい、こちらです", "少々お待ちください", "ありがとうございます！"],
        "colon": "：",
    },
    "es": {
        "labels": {"name": "Nombre", "email": "Correo electrónico", "phone": "Teléfono",
                   "mobile": "Móvil", "fax": "Fax", "iban": "IBAN", "card": "Número de tarjeta",
                   "ip": "Dirección IP", "order": "Pedido", "invoice": "Factura", "date": "Fecha",
                   "amount": "Importe", "tracking": "Número de seguimiento", "account": "N.º de cliente",
                   "city": "Ciudad"},
        "say": {
            "email": ["Puedes escribirme a {v}.", "Envía la documentación a {v}.",
                      "Mi nuevo correo es {v}."],
            "phone": ["Llámame al {v}.", "Estoy disponible en el {v}.", "Devolved la llamada al {v}."],
            "mobile": ["Mi móvil es el {v}.", "Escríbeme por WhatsApp al {v}."],
            "fax": ["Envía el formulario por fax al {v}."],
            "iban": ["Por favor, haced el reembolso a {v}.", "Nuevos datos bancarios: IBAN {v}"],
            "card": ["Me han cobrado dos veces en la tarjeta {v}.", "Pagué con la tarjeta {v}."],
            "ip": ["El acceso vino de {v}.", "Esta mañana entré desde {v}."],
            "order": ["Es sobre el pedido {v}.", "El pedido {v} no ha llegado."],
            "invoice": ["Sobre la factura {v}:", "La factura {v} sigue pendiente."],
            "date": ["El paquete llegó el {v}.", "Último contacto: {v}."],
            "amount": ["Me han cargado {v}.", "El total fue {v}."],
            "tracking": ["Número de seguimiento: {v}", "El paquete {v} está retenido en aduanas."],
            "account": ["N.º de cliente {v}"],
        },
        "hello": ["Hola {first},", "Estimado/a {first}:", "Buenos días,"],
        "regards": ["Un saludo,", "Atentamente,", "Gracias,"],
        "subjects": ["Solicitud de reembolso", "Cambio de datos", "Su pedido"],
        "form_title": ["Formulario de contacto", "Registro", "Modificar datos"],
        "intro": ["os escribo por mi cuenta.", "según lo hablado por teléfono:",
                  "un pequeño resumen."],
        "notes": ["La clienta llamó por un envío no recibido.", "Quiere actualizar sus datos.",
                  "Pide que le devolvamos la llamada."],
        "chat": ["hola, una pregunta", "claro, aquí tienes", "un segundo", "¡gracias!"],
        "colon": ": ",
    },
    "it": {
        "labels": {"name": "Nome", "email": "Email", "phone": "Telefono", "mobile": "Cellulare",
                   "fax": "Fax", "iban": "IBAN", "card": "Numero carta", "ip": "Indirizzo IP",
                   "order": "Ordine n.", "invoice": "Fattura n.", "date": "Data", "amount": "Importo",
                   "tracking": "Numero di tracciamento", "account": "Codice cliente",
                   "city": "Città"},
        "say": {
            "email": ["Potete scrivermi a {v}.", "Inviate i documenti a {v}.",
                      "Il mio nuovo indirizzo è {v}."],
            "phone": ["Chiamami al {v}.", "Sono raggiungibile al {v}.", "Richiamatemi al {v}."],
            "mobile": ["Il mio cellulare è {v}.", "Scrivimi su WhatsApp al {v}."],
            "fax": ["Inviate il modulo via fax al {v}."],
            "iban": ["Vi prego di effettuare il rimborso sull'IBAN {v}.", "Nuove coordinate bancarie: {v}"],
            "card": ["La mia carta {v} è stata addebitata due volte.", "Ho pagato con la carta {v}."],
            "ip": ["L'accesso proveniva da {v}.", "Stamattina ho fatto login da {v}."],
            "order": ["Riguarda l'ordine {v}.", "L'ordine {v} non è mai arrivato."],
            "invoice": ["In merito alla fattura {v}:"],
            "date": ["Il pacco è arrivato il {v}.", "Ultimo contatto: {v}."],
            "amount": ["Mi sono stati addebitati {v}.", "Il totale era {v}."],
            "tracking": ["Numero di tracciamento: {v}", "Il pacco {v} è fermo in dogana."],
            "account": ["Codice cliente {v}"],
        },
        "hello": ["Ciao {first},", "Gentile {first},", "Buongiorno,"],
        "regards": ["Cordiali saluti,", "A presto,", "Grazie,"],
        "subjects": ["Richiesta di rimborso", "Aggiornamento dati", "Il suo ordine"],
        "form_title": ["Modulo di contatto", "Registrazione", "Modifica dati"],
        "intro": ["vi scrivo riguardo al mio account.", "come da telefonata:",
                  "un breve aggiornamento."],
        "notes": ["La cliente ha chiamato per una consegna mancante.", "Vuole aggiornare i contatti.",
                  "Chiede di essere richiamata."],
        "chat": ["ciao, una domanda", "certo, eccolo", "un attimo", "grazie!"],
        "colon": ": ",
    },
}

SSN_CONTEXT = ["My social security number is {v}.", "SSN: {v}", "Social Security No. {v}",
               "SSN {v} for the background check.", "her social security number ({v}) is on the W-4"]
SSN_BARE = ["ID on file: {v}", "{v} (verified by phone)", "Tax ID {v} matches."]


# ---------------------------------------------------------------------------
# Fields: one value with the words used around it.


@dataclass
class Field:
    key: str            # email, phone, ... for personal data; the decoy's key otherwise
    label: str          # label in the row's language ("Telefon", "IBAN", ...)
    column: str         # machine name used by csv, json, sql and log lines
    value: list         # parts
    say: str            # a sentence mentioning the value, with {v}
    group: str = ""     # the negative class of a decoy; "" for personal data
    note: str = ""


def label_of(lang, key):
    return PACKS[lang]["labels"].get(key) or PACKS["en"]["labels"][key]


def sentence_of(rng, lang, key):
    return rng.choice(PACKS[lang]["say"].get(key) or PACKS["en"]["say"][key])


PII_COLUMNS = {"email": "email", "phone": "phone", "mobile": "mobile", "fax": "fax",
               "iban": "iban", "card": "card_number", "ssn": "ssn", "ip": "ip_address"}


def pii_field(rng, key, person, fmt):
    loc, lang = person.loc, person.loc.lang
    label, column = label_of(lang, key) if key != "ssn" else "SSN", PII_COLUMNS[key]
    say = sentence_of(rng, lang, key) if key != "ssn" else ""
    if key == "email":
        return Field(key, label, column, [Mark(email_address(rng, person), EMAIL)], say, note="email")
    if key in ("phone", "mobile", "fax"):
        text, how = loc.phone(rng, key == "mobile")
        return Field(key, label, column, [Mark(text, PHONE)], say, note=f"{key} {how}")
    if key == "iban":
        cc = rng.choice(loc.iban_countries if rng.random() < 0.85 else EXTRA_IBAN_COUNTRIES)
        return Field(key, label, column, [Mark(iban(rng, cc), IBAN)], say, note=f"IBAN {cc}")
    if key == "card":
        text, brand = card_number(rng)
        return Field(key, label, column, [Mark(text, CARD)], say, note=brand)
    if key == "ssn":
        area, group, serial = ssn(rng)
        style = rng.random()
        if style < 0.6:
            text, how = f"{area}-{group}-{serial}", "dashed"
            say = rng.choice(SSN_CONTEXT + SSN_BARE)
        else:
            text, how = (f"{area} {group} {serial}", "spaced") if style < 0.8 else (area + group + serial, "plain")
            say = rng.choice(SSN_CONTEXT)
            label = rng.choice(["SSN", "Social Security Number", "SSN#"])
        return Field(key, label, column, [Mark(text, SSN)], say, note=f"SSN {how}")
    if key == "ip":
        if rng.random() < 0.65:
            return Field(key, label, column, [Mark(ipv4(rng), IP)], say, note="IPv4")
        addr, how = ipv6(rng)
        if fmt in ("log", "prose", "chat", "ticket") and rng.random() < 0.3 and ":" in addr:
            port = rng.choice(["8080", "443", "3000", "9090"])
            say = rng.choice(["The service at {v} is not reachable from my network.",
                              "Health check failed for {v}"])
            return Field(key, "URL", "url", [f"http://[", Mark(addr, IP), f"]:{port}/"], say,
                         note=f"IPv6 {how} in a URL")
        return Field(key, label, column, [Mark(addr, IP)], say, note=f"IPv6 {how}")
    raise ValueError(key)


# ---------------------------------------------------------------------------
# Negative classes: numbers and strings that resemble personal data but are not.


def not_card_like(fn):
    """Regenerate a value until no 13-19 digit run in it passes the Luhn check."""
    def wrapped(rng):
        while True:
            value = fn(rng)
            runs = re.findall(r"\d[\d -]{11,}\d", value)
            if not any(13 <= len(d) <= 19 and luhn_ok(d)
                       for d in (re.sub(r"\D", "", r) for r in runs)):
                return value
    return wrapped


def isbn13(rng):
    group = rng.choice(["0", "1", "3", "2", "84", "88", "4", "85", "91"])
    publisher = digits(rng, rng.randint(2, 5), "123456789")
    title = digits(rng, 9 - len(group) - len(publisher))
    body = "978" + group + publisher + title
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return f"978-{group}-{publisher}-{title}-{check}"


def isbn10(rng):
    group, publisher = rng.choice(["0", "1", "3"]), digits(rng, rng.randint(2, 4), "123456789")
    title = digits(rng, 9 - len(group) - len(publisher))
    body = group + publisher + title
    check = (11 - sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11) % 11
    return f"{group}-{publisher}-{title}-{'X' if check == 10 else check}"


def aba_routing(rng):
    while True:
        d = digits(rng, 8, "0123")
        for last in range(10):
            n = d + str(last)
            w = [3, 7, 1] * 3
            if sum(int(x) * y for x, y in zip(n, w)) % 10 == 0:
                return n


def ean13(rng):
    body = rng.choice(["400", "401", "500", "590", "800", "870", "490", "789"]) + digits(rng, 9)
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def ymd(rng):
    return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def hms(rng):
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


COMMON_PORTS = [22, 80, 443, 3000, 5432, 6379, 8080, 8443, 9090]


@dataclass
class Variant:
    key: str            # label key (localised when the packs have it) or a literal label
    column: str
    make: object        # rng -> value text
    says: tuple = ()    # sentences; empty means the localised sentences of `key`


def V(key, column, make, *says):
    return Variant(key, column, make, tuple(says))


NEG_CLASSES = {
    "neg_version": [
        V("Version", "version", lambda r: f"{r.randint(1, 12)}.{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}",
          "Updated the app to version {v}, still broken.", "Installed version {v}.", "Running build {v}."),
        V("Version", "version", lambda r: f"v10.0.{r.choice([19041, 19045, 22621, 22631])}.{r.randint(1, 4000)}",
          "Microsoft Windows [Version {v}]", "OS build {v}"),
        V("Firmware", "firmware", lambda r: f"{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
          "Firmware {v} did not fix it."),
        V("Browser", "user_agent", lambda r: f"Chrome/{r.randint(100, 125)}.0.{r.randint(4000, 6500)}.{r.randint(10, 200)}",
          "User agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) {v} Safari/537.36"),
    ],
    "neg_order_number": [
        V("order", "order_id", not_card_like(lambda r: f"{digits(r, 3, '1234')}-{digits(r, 7)}-{digits(r, 7)}")),
        V("order", "order_id", lambda r: f"ORD-2024-{digits(r, 6)}"),
        V("order", "order_id", lambda r: f"#{digits(r, 10, '4')}"),
        V("order", "order_id", lambda r: f"SO{digits(r, 8)}"),
    ],
    "neg_invoice_number": [
        V("invoice", "invoice_no", lambda r: f"INV-2024-{digits(r, 5)}"),
        V("invoice", "invoice_no", lambda r: f"RE-2024-{digits(r, 4)}"),
        V("invoice", "invoice_no", lambda r: f"{r.randint(2019, 2024)}/{digits(r, 4)}"),
        V("invoice", "invoice_no", lambda r: f"FA{digits(r, 8)}"),
    ],
    "neg_isbn": [
        V("ISBN", "isbn", not_card_like(isbn13), "The book (ISBN {v}) never arrived.", "ISBN {v}",
          "Please reorder ISBN {v}."),
        V("ISBN", "isbn", isbn10, "ISBN-10: {v}", "Old edition, ISBN {v}."),
    ],
    "neg_tracking_number": [
        V("tracking", "tracking_no",
          lambda r: "1Z" + "".join(r.choice(string.ascii_uppercase + DIGITS) for _ in range(6))
          + digits(r, 10)),
        V("tracking", "tracking_no", lambda r: grouped("9400" + digits(r, 18), [4, 4, 4, 4, 4, 2])),
        V("tracking", "tracking_no", lambda r: f"{r.choice(['AB', 'RR', 'LX', 'CP'])}{digits(r, 9)}GB"),
        V("tracking", "tracking_no", not_card_like(lambda r: digits(r, 14, "0"))),
        V("tracking", "tracking_no", not_card_like(lambda r: "JJD" + digits(r, 18, "0"))),
    ],
    "neg_datetime": [
        V("date", "created_at", lambda r: f"{ymd(r)} {hms(r)}"),
        V("date", "created_at", lambda r: f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2024 {hms(r)[:5]}"),
        V("date", "time", lambda r: f"{hms(r)}.{r.randint(0, 999):03d}"),
        V("date", "created_at", lambda r: f"{ymd(r)}T{hms(r)[:5]}:00+02:00"),
        V("date", "date", lambda r: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/2024"),
    ],
    "neg_duration": [
        V("Duration", "duration", lambda r: f"{r.randint(0, 3):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
          "The call lasted {v}.", "Hold time: {v}"),
        V("Duration", "duration_ms", lambda r: f"{r.randint(5, 99999)} ms", "Processing took {v}."),
        V("Duration", "duration", lambda r: f"PT{r.randint(1, 9)}H{r.randint(1, 59)}M", "Estimated: {v}"),
        V("Duration", "uptime", lambda r: f"{r.randint(1, 90)} days {hms(r)}",
          "Uptime: {v}"),
    ],
    "neg_price": [
        V("amount", "amount", lambda r: f"${r.randint(1, 9)},{r.randint(0, 999):03d}.{r.randint(0, 99):02d}"),
        V("amount", "amount", lambda r: f"{r.randint(1, 9)}.{r.randint(0, 999):03d},{r.randint(0, 99):02d} €"),
        V("amount", "amount", lambda r: f"R$ {r.randint(1, 9)}.{r.randint(0, 999):03d},{r.randint(0, 99):02d}"),
        V("amount", "amount", lambda r: f"¥{r.randint(1, 99)},{r.randint(0, 999):03d}"),
        V("amount", "amount", lambda r: f"₹{r.randint(1, 9)},{r.randint(10, 99)},{r.randint(0, 999):03d}.00"),
        V("amount", "amount", lambda r: f"£{r.randint(1, 999)}.{r.randint(0, 99):02d}"),
    ],
    "neg_coordinates": [
        V("Location", "location", lambda r: f"{r.uniform(-60, 70):.6f}, {r.uniform(-170, 170):.6f}",
          "Pickup location: {v}", "The driver was at {v}."),
        V("Location", "location",
          lambda r: f"{r.randint(0, 89)}°{r.randint(0, 59)}′{r.randint(0, 59)}″N "
                    f"{r.randint(0, 179)}°{r.randint(0, 59):02d}′{r.randint(0, 59):02d}″E",
          "Site coordinates: {v}"),
        V("Location", "location", lambda r: f"lat={r.uniform(-60, 70):.4f}, lon={r.uniform(-170, 170):.4f}",
          "Last known position {v}"),
    ],
    "neg_port_list": [
        V("Ports", "ports",
          lambda r: ", ".join(str(p) for p in sorted(r.sample(COMMON_PORTS, 3))),
          "Please open ports {v} on the firewall.", "Exposed ports: {v}"),
        V("Ports", "ports", lambda r: f"{r.choice([10000, 30000, 50000])}-{r.choice([10100, 30100, 50100])}/udp",
          "RTP range {v}"),
        V("Ports", "port_mapping", lambda r: f"{r.choice([5432, 6379, 8080])}:{r.choice([5432, 6379, 8080])}",
          "Run it with -p {v}."),
    ],
    "neg_mac_address": [
        V("MAC address", "mac", lambda r: ":".join(f"{r.randint(0, 255):02X}" for _ in range(6)),
          "Device MAC {v} was blocked.", "The router lists {v} as unknown."),
        V("MAC address", "mac", lambda r: "-".join(f"{r.randint(0, 255):02x}" for _ in range(6)),
          "Physical Address. . . . . . . . . : {v}"),
        V("MAC address", "mac", lambda r: ".".join(f"{r.randint(0, 65535):04x}" for _ in range(3)),
          "Port Gi0/1 learned {v}"),
    ],
    "neg_code_path": [
        V("Symbol", "symbol", lambda r: r.choice(["std::vector<int>", "std::chrono::milliseconds",
                                                  "boost::asio::ip::tcp", "tokio::sync::mpsc",
                                                  "crate::db::Pool", "Foo::bar()", "ns::detail::impl",
                                                  "std::map<std::string, int>", "a::b", "std::string_view"]),
          "Crash in {v} again.", "The stack points at {v}.", "Replace {v} with a span."),
    ],
    "neg_hex_colour": [
        V("Colour", "colour", lambda r: "#" + "".join(r.choice(HEX) for _ in range(r.choice([3, 6]))),
          "Use {v} for the header.", "Brand colour is {v}."),
    ],
    "neg_uuid": [
        V("Request ID", "request_id", uuid4, "Request ID {v}", "Reference {v}"),
    ],
    "neg_luhn_invalid": [
        V("Reference", "reference", lambda r: card_number(r, valid=False)[0],
          "The number {v} was rejected as invalid.", "Reference {v}"),
        V("card", "card_number", lambda r: card_number(r, valid=False)[0],
          "Card {v} was declined: invalid number."),
    ],
    "neg_iban_invalid": [
        V("iban", "iban", lambda r: iban(r, r.choice(sorted(IBAN_LAYOUTS)), valid=False),
          "IBAN {v} was rejected (wrong check digits), please resend.", "Bank details: {v}"),
    ],
    "neg_nine_digit": [
        V("ZIP+4", "zip", lambda r: f"{digits(r, 5, '123456789')}-{digits(r, 4)}", "Ship to ZIP {v}."),
        V("SKU", "sku", lambda r: digits(r, 9, "123456789"), "SKU {v} is out of stock."),
        V("Routing number", "routing_number", aba_routing, "Routing number {v}"),
        V("EIN", "ein", lambda r: f"{digits(r, 2, '123456789')}-{digits(r, 7)}", "Company EIN {v}"),
        V("Part no.", "part_no", lambda r: digits(r, 9, "123456789"), "Part no. {v} fits the model."),
    ],
    "neg_phone_like": [
        V("Build", "build", lambda r: f"2023-{r.randint(1, 12):02d}-{r.randint(1, 9999):04d}", "build {v}"),
        V("Case", "case_no", lambda r: f"#555-{r.randint(100, 199):04d}-{r.randint(10, 99)}", "case {v}"),
        V("account", "account_no", lambda r: "0" + digits(r, 9, "23456789"), "ref. {v}",
          "Account number {v}"),
        V("EAN", "ean", not_card_like(ean13), "EAN {v}", "Barcode {v}"),
        V("Ticket", "ticket", lambda r: f"INC{digits(r, 7, '0')}", "Ticket {v}"),
    ],
    "neg_at_sign": [
        V("Package", "package", lambda r: r.choice(["lodash@4.17.21", "react@18.2.0", "express@4.19.2",
                                                    "typescript@5.4.5", "@types/node", "@babel/core@7.24.0"]),
          "Bump {v} please.", "npm install {v}"),
        V("Annotation", "annotation", lambda r: r.choice(["@Override", "@dataclass", "@Autowired", "@pytest.fixture"]),
          "Missing {v} on the method."),
        V("Mention", "mention", lambda r: r.choice(["@channel", "@here", "@sam-k", "@ops-oncall"]),
          "{v} deploy is done"),
    ],
}

# Decoys that may sit beside personal data in a positive row.
POSITIVE_DECOYS = ["neg_order_number", "neg_invoice_number", "neg_datetime", "neg_price",
                   "neg_uuid", "neg_luhn_invalid", "neg_iban_invalid", "neg_nine_digit",
                   "neg_phone_like", "neg_version", "neg_duration", "neg_isbn",
                   "neg_tracking_number", "neg_coordinates", "neg_mac_address"]

# Values allowed to parse as IP addresses: they are versions or code in context.
IP_LIKE_OK = {"neg_version", "neg_code_path"}


# Prices are written in the currency of the row's locale.
PRICE_VARIANT = {"en_US": 0, "en_GB": 5, "en_IN": 4, "pt_BR": 2, "ja_JP": 3}


def neg_field(rng, cls, variant, loc):
    lang = loc.lang
    if cls == "neg_price":
        variant = PRICE_VARIANT.get(loc.code, 1)
    v = NEG_CLASSES[cls][variant]
    value = v.make(rng)
    if cls not in IP_LIKE_OK:
        try:
            ipaddress.ip_address(value)
            raise AssertionError(f"{cls} value parses as an IP address: {value}")
        except ValueError:
            pass
    localised = v.key in PACKS["en"]["labels"]
    label = label_of(lang, v.key) if localised else v.key
    say = rng.choice(v.says) if v.says else sentence_of(rng, lang, v.key)
    return Field(v.key, label, v.column, [value], say, group=cls, note=cls)


# ---------------------------------------------------------------------------
# Containers.  A row is a list of records, each a person with fields; `contacts`
# says whether the container may add its own addresses (an email's From: line).


def spoken(field):
    before, after = field.say.split("{v}")
    return [before, field.value, after]


def join_sentences(lang, parts_list):
    """Sentences joined by a space, or by nothing after Japanese full stops."""
    out = []
    for parts in parts_list:
        if out:
            out.append("" if lang == "ja" and plain(out).endswith(("。", "！", "？")) else " ")
        out.append(parts)
    return out


def c_prose(rng, lang, records, contacts):
    pack = PACKS[lang]
    out = []
    for person, fields in records:
        sentences = [spoken(f) for f in fields]
        if rng.random() < 0.4:
            sentences.insert(0, [rng.choice(pack["intro"]).capitalize()])
        out += [join_sentences(lang, sentences), "\n"]
    return out


def c_form(rng, lang, records, contacts):
    pack = PACKS[lang]
    c = pack["colon"]
    person, fields = records[0]
    out = [rng.choice(pack["form_title"]), "\n\n", f"{label_of(lang, 'name')}{c}{person.full}\n"]
    for f in fields:
        out += [f"{f.label}{c}", f.value, "\n"]
    if rng.random() < 0.5:
        out.append(f"{label_of(lang, 'city')}{c}{rng.choice(person.loc.cities)}\n")
    return out


def c_email(rng, lang, records, contacts):
    pack = PACKS[lang]
    person, fields = records[0]
    loc = person.loc
    out = []
    body = list(fields)
    if contacts:
        own = next((f for f in body if f.key == "email"), None)
        if own:
            body.remove(own)
            sender = own.value
        else:
            sender = [Mark(email_address(rng, person), EMAIL)]
        out += [f"From: {person.full} <", sender, ">\n",
                "To: ", Mark(company_email(rng, loc), EMAIL), "\n"]
    out.append(f"Subject: {rng.choice(pack['subjects'])}\n\n")
    out.append(rng.choice(pack["hello"]).format(first=rng.choice(loc.first), last=rng.choice(loc.last)))
    out.append("\n\n")
    signature = [f for f in body if f.key in ("phone", "mobile", "fax") and rng.random() < 0.6]
    body = [f for f in body if f not in signature]
    sentences = [[rng.choice(pack["intro"])]] + [spoken(f) for f in body]
    out += [join_sentences(lang, sentences), "\n\n", rng.choice(pack["regards"]), "\n", person.full, "\n"]
    if signature or rng.random() < 0.5:
        out.append("-- \n")
        out.append(f"{rng.choice(loc.companies).split('.')[0].replace('-', ' ').title()}\n")
        for f in signature:
            out += [f"{f.label}{pack['colon']}", f.value, "\n"]
        out.append(f"{rng.choice(loc.cities)}\n")
    return out


def c_ticket(rng, lang, records, contacts):
    pack = PACKS[lang]
    person, fields = records[0]
    status = rng.choice(["Open", "Pending", "Waiting on customer", "Escalated"])
    channel = rng.choice(["Phone", "Email", "Web form", "Chat"])
    out = [f"Ticket #{rng.randint(10000, 99999)} · {status} · {channel}\n",
           f"Customer: {person.full}\n"]
    header = [f for f in fields if rng.random() < 0.5]
    for f in header:
        out += [f"{f.label}: ", f.value, "\n"]
    notes = [[rng.choice(pack["notes"])]] + [spoken(f) for f in fields if f not in header]
    out += ["\nNotes:\n", join_sentences(lang, notes), "\n"]
    return out


def c_chat(rng, lang, records, contacts):
    pack = PACKS[lang]
    person, fields = records[0]
    agent = rng.choice(["Support", "Agent", "Mia (Support)", "Bot"])
    minute = rng.randint(0, 40)
    out = [f"[09:{minute:02d}] {person.first}: {pack['chat'][0]}\n",
           f"[09:{minute + 1:02d}] {agent}: {pack['chat'][1]}\n"]
    for i, f in enumerate(fields):
        out += [f"[09:{minute + 2 + i:02d}] {person.first}: ", spoken(f), "\n"]
    out.append(f"[09:{minute + 3 + len(fields):02d}] {agent}: {pack['chat'][3]}\n")
    return out


def csv_cell(parts):
    text = plain(parts)
    if any(c in text for c in ',"\n'):
        return ['"', mapped(parts, lambda s: s.replace('"', '""')), '"']
    return parts


def c_csv(rng, lang, records, contacts):
    columns = ["name"] + [f.column for f in records[0][1]]
    out = [",".join(columns), "\n"]
    for person, fields in records:
        out += [csv_cell([person.full])]
        for f in fields:
            out += [",", csv_cell(f.value)]
        out.append("\n")
    return out


def jesc(s):
    return json.dumps(s, ensure_ascii=False)[1:-1]


def c_json(rng, lang, records, contacts):
    def obj(person, fields, indent):
        pad = " " * indent
        out = ["{\n", f'{pad}  "id": {rng.randint(1000, 99999)},\n',
               f'{pad}  "name": "{jesc(person.full)}"']
        for f in fields:
            out += [f',\n{pad}  "{f.column}": "', mapped(f.value, jesc), '"']
        return out + [f"\n{pad}}}"]

    if len(records) == 1:
        return [obj(*records[0], 0), "\n"]
    out = ["[\n"]
    for i, (person, fields) in enumerate(records):
        out += ["  ", obj(person, fields, 2), ",\n" if i < len(records) - 1 else "\n"]
    return out + ["]\n"]


USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
]


def c_log(rng, lang, records, contacts):
    out = []
    for person, fields in records:
        ip = next((f for f in fields if f.key == "ip" and f.column == "ip_address"), None)
        if ip and rng.random() < 0.4:
            rest = [f for f in fields if f is not ip]
            out += [ip.value, f' - - [{rng.randint(1, 28):02d}/May/2024:{rng.randint(0, 23):02d}:'
                    f'{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000] "'
                    f'{rng.choice(["GET /account", "POST /login", "GET /api/v1/orders"])} HTTP/1.1" '
                    f'{rng.choice([200, 302, 401])} {rng.randint(200, 9000)} "-" "{rng.choice(USER_AGENTS)}"']
            for f in rest:
                out += [f" {f.column}=", f.value]
            out.append("\n")
            continue
        event = rng.choice(["user.login", "profile.updated", "payment.failed", "signup.completed",
                            "password.reset_requested"])
        out.append(f"{iso_timestamp(rng)} {rng.choice(['INFO', 'WARN', 'DEBUG'])} [{event.split('.')[0]}] {event}")
        for f in fields:
            text = plain(f.value)
            if " " in text:
                out += [f' {f.column}="', f.value, '"']
            else:
                out += [f" {f.column}=", f.value]
        out.append("\n")
    return out


VCARD_TYPES = {"email": "EMAIL;TYPE=INTERNET", "phone": "TEL;TYPE=WORK,VOICE",
               "mobile": "TEL;TYPE=CELL", "fax": "TEL;TYPE=FAX"}


def c_vcard(rng, lang, records, contacts):
    out = []
    for person, fields in records:
        out.append(f"BEGIN:VCARD\nVERSION:3.0\nN:{person.last};{person.first};;;\nFN:{person.full}\n")
        if rng.random() < 0.5:
            out.append(f"ORG:{rng.choice(person.loc.companies).split('.')[0].replace('-', ' ').title()}\n")
        for f in fields:
            prop = VCARD_TYPES.get(f.key)
            if prop:
                out += [f"{prop}:", f.value, "\n"]
            else:
                out += [f"NOTE:{f.label}: ", f.value, "\n"]
        out.append("END:VCARD\n")
    return out


def c_sql(rng, lang, records, contacts):
    columns = ["name"] + [f.column for f in records[0][1]]
    table = rng.choice(["customers", "contacts", "users", "crm_leads"])
    out = [f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n"]
    esc = lambda s: s.replace("'", "''")
    for i, (person, fields) in enumerate(records):
        out.append(f"  ('{esc(person.full)}'")
        for f in fields:
            out += [", '", mapped(f.value, esc), "'"]
        out.append("),\n" if i < len(records) - 1 else ");\n")
    return out


def html_value(f):
    text = plain(f.value)
    if f.key == "email" and f.group == "":
        return ['<a href="mailto:', f.value, '">', f.value, "</a>"]
    if f.key in ("phone", "mobile", "fax") and f.group == "" and "＋" not in text:
        href = re.sub(r"[^\d+]", "", text)
        return ['<a href="tel:', Mark(href, PHONE), '">', f.value, "</a>"]
    return mapped(f.value, lambda s: s.replace("&", "&amp;").replace("<", "&lt;"))


def c_html(rng, lang, records, contacts):
    if len(records) > 1:
        head = "".join(f"<th>{f.label}</th>" for f in records[0][1])
        out = [f"<table>\n  <tr><th>{label_of(lang, 'name')}</th>{head}</tr>\n"]
        for person, fields in records:
            out.append(f"  <tr><td>{person.full}</td>")
            for f in fields:
                out += ["<td>", html_value(f), "</td>"]
            out.append("</tr>\n")
        return out + ["</table>\n"]
    person, fields = records[0]
    out = [f'<div class="contact">\n  <h3>{person.full}</h3>\n']
    for f in fields:
        out += [f"  <p><strong>{f.label}:</strong> ", html_value(f), "</p>\n"]
    return out + ["</div>\n"]


def c_config(rng, lang, records, contacts):
    """Service configuration: an access list of addresses, contacts for alerts."""
    out = [f"# {rng.choice(['access control', 'alerting', 'edge proxy'])} - managed by ops\n"]
    for person, fields in records:
        ips = [f for f in fields if f.key == "ip" and f.column == "ip_address"]
        others = [f for f in fields if f not in ips]
        if ips and rng.random() < 0.5:
            out.append("location /admin {\n")
            out += [["    allow ", f.value, ";\n"] for f in ips]
            out.append("    deny all;\n}\n")
            ips = []
        if ips:
            out.append("trusted_proxies:\n")
            out += [["  - ", f.value, "\n"] for f in ips]
        if others:
            out.append(f"oncall:\n  name: {person.full}\n")
            for f in others:
                text = plain(f.value)
                value = ['"', f.value, '"'] if " " in text or text.startswith(("+", "(")) else f.value
                out += [f"  {f.column}: ", value, "\n"]
    return out


CONTAINERS = {"prose": c_prose, "form": c_form, "email": c_email, "ticket": c_ticket,
              "chat": c_chat, "csv": c_csv, "json": c_json, "log": c_log, "vcard": c_vcard,
              "sql": c_sql, "html": c_html, "config": c_config}
MULTI_RECORD = {"csv", "json", "log", "vcard", "sql", "html"}


# ---------------------------------------------------------------------------
# Containers that only negative classes use: code, stylesheets, configuration.


def native_row(rng, cls, fmt):
    """Rows where the negative value sits in its natural habitat."""
    variants = NEG_CLASSES[cls]
    if cls == "neg_code_path":
        v = [neg_field(rng, cls, 0, LOCALE_BY_CODE["en_US"]).value[0] for _ in range(3)]
        if fmt == "code":
            return [f"#include <vector>\n\nvoid run({v[0]}& items) {{\n",
                    f"    using {v[1]};\n    auto it = {v[2]};\n    for (auto x : items) {{ process(x); }}\n}}\n"]
        return [f"src/main.cpp:42:17: error: no matching function for call to '{v[0]}::push_back'\n",
                f"src/main.cpp:57:5: note: candidate: '{v[1]}'\n",
                f"src/util.cpp:12:9: warning: unused variable in '{v[2]}'\n"]
    if cls == "neg_hex_colour":
        out = []
        for sel in rng.sample([".btn-primary", "header", "body", ".alert", ":root", "a:hover"], 3):
            out.append(f"{sel} {{\n  color: {variants[0].make(rng)};\n  border-color: {variants[0].make(rng)};\n}}\n")
        return out
    if cls == "neg_port_list":
        ports = sorted(rng.sample([22, 80, 443, 3000, 5432, 6379, 8080, 8443, 9090, 9229], 3))
        if rng.random() < 0.5:
            return ["services:\n  web:\n    image: nginx:1.25\n    ports:\n"] + \
                [f'      - "{p}:{p}"\n' for p in ports]
        return [f"ufw allow {p}/tcp\n" for p in ports] + ["ufw allow 10000:10100/udp\n"]
    if cls == "neg_mac_address":
        mac = variants[0].make(rng).lower()
        return [f"wlan0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n",
                f"        ether {mac}  txqueuelen 1000  (Ethernet)\n",
                f"        RX packets {rng.randint(1000, 99999)}  bytes {rng.randint(10**6, 10**9)}\n"]
    if cls == "neg_version":
        return [f"{iso_timestamp(rng)} INFO [http] GET /api/v1/health 200 "
                f'ua="{rng.choice(USER_AGENTS)}" app_version={variants[0].make(rng)}\n'
                for _ in range(rng.randint(1, 3))]
    if cls == "neg_datetime":
        return [f"{iso_timestamp(rng)} INFO [scheduler] job=nightly-export started_at="
                f'"{variants[0].make(rng)}" elapsed={variants[2].make(rng)}\n'
                for _ in range(rng.randint(1, 3))]
    if cls == "neg_coordinates":
        lat, lon = rng.uniform(-60, 70), rng.uniform(-170, 170)
        return ['{"type": "Feature", "geometry": {"type": "Point", ',
                f'"coordinates": [{lon:.6f}, {lat:.6f}]}}, "properties": {{"name": "depot"}}}}\n']
    raise ValueError((cls, fmt))


NATIVE_FORMATS = {
    "neg_code_path": ["code", "code", "log"],
    "neg_hex_colour": ["css", "css"],
    "neg_port_list": ["config", "config"],
    "neg_mac_address": ["config"],
    "neg_version": ["log"],
    "neg_datetime": ["log"],
    "neg_coordinates": ["json"],
}
NEG_FORMATS = ["prose", "form", "email", "ticket", "chat", "csv", "json", "log", "sql", "html"]
# Technical values only in the containers where they occur.
NEG_FORMATS_BY_CLASS = {
    "neg_code_path": ["chat", "ticket", "prose", "json", "log"],
    "neg_hex_colour": ["chat", "ticket", "json", "html"],
    "neg_port_list": ["chat", "ticket", "prose", "json", "csv"],
    "neg_mac_address": ["chat", "ticket", "csv", "json", "log", "sql"],
    "neg_at_sign": ["chat", "ticket", "prose", "email", "log", "csv"],
    "neg_coordinates": ["chat", "ticket", "prose", "email", "csv", "json", "sql", "html"],
}


# ---------------------------------------------------------------------------
# Rows.

POSITIVE_FORMAT_WEIGHTS = {"prose": 12, "email": 12, "ticket": 10, "chat": 10, "form": 10,
                           "csv": 9, "json": 9, "log": 9, "config": 5, "vcard": 5, "sql": 5,
                           "html": 5}
KEY_WEIGHTS = {"email": 0.6, "phone": 0.45, "mobile": 0.35, "fax": 0.06, "iban": 0.3,
               "card": 0.22, "ssn": 0.65, "ip": 0.2}
CONFIG_KEY_WEIGHTS = {"email": 0.5, "phone": 0.3, "mobile": 0.1, "fax": 0.0, "iban": 0.0,
                      "card": 0.0, "ssn": 0.0, "ip": 0.9}
LOG_KEY_WEIGHTS = {"email": 0.5, "phone": 0.1, "mobile": 0.05, "fax": 0.0, "iban": 0.05,
                   "card": 0.15, "ssn": 0.05, "ip": 0.85}
# en_US has more rows: it is the only locale with SSNs.
POSITIVE_ROWS = {"en_US": 300}
POSITIVE_ROWS_DEFAULT = 215
NEGATIVE_ROWS_PER_CLASS = 105


def pick_keys(rng, loc, fmt):
    weights = {"log": LOG_KEY_WEIGHTS, "config": CONFIG_KEY_WEIGHTS}.get(fmt, KEY_WEIGHTS)
    keys = [k for k in weights if (k != "ssn" or loc.code == "en_US") and rng.random() < weights[k]]
    if not keys:
        options = [k for k in weights if k != "ssn" or loc.code == "en_US"]
        keys = [rng.choices(options, weights=[weights[k] + 0.01 for k in options])[0]]
    rng.shuffle(keys)
    return keys


def pick_decoys(rng, split, count):
    options = [c for c in POSITIVE_DECOYS if split == "holdout" or c not in HOLDOUT_GROUPS]
    chosen = rng.sample(options, count)
    return [(c, rng.randrange(len(NEG_CLASSES[c]))) for c in chosen]


def positive_row(rng, loc):
    fmt = rng.choices(sorted(POSITIVE_FORMAT_WEIGHTS),
                      weights=[POSITIVE_FORMAT_WEIGHTS[f] for f in sorted(POSITIVE_FORMAT_WEIGHTS)])[0]
    split = split_of(fmt, loc.code)
    keys = pick_keys(rng, loc, fmt)
    decoys = pick_decoys(rng, split, 0 if fmt == "config" else rng.choice([0, 0, 1, 1, 2]))
    n = rng.randint(2, 4) if fmt in MULTI_RECORD and rng.random() < 0.7 else 1
    records = []
    for _ in range(n):
        person = new_person(rng, loc)
        fields = [pii_field(rng, k, person, fmt) for k in keys]
        fields += [neg_field(rng, cls, variant, loc) for cls, variant in decoys]
        records.append((person, fields))
    # Rows of one table share their columns.
    if fmt in ("csv", "sql", "html") and n > 1:
        columns = [f.column for f in records[0][1]]
        records = [(p, fs) for p, fs in records if [f.column for f in fs] == columns] or records[:1]
    parts = CONTAINERS[fmt](rng, loc.lang, records, True)
    kinds = sorted({f.note for _, fs in records for f in fs if not f.group})
    note = f"{fmt}, {len(records)} record(s): " + ", ".join(kinds)
    if decoys:
        note += "; decoys: " + ", ".join(sorted(c for c, _ in decoys))
    return make_row(parts, fmt, loc.code, note)


def negative_row(rng, cls):
    fmts = NEG_FORMATS_BY_CLASS.get(cls, NEG_FORMATS) + NATIVE_FORMATS.get(cls, [])
    fmt = rng.choice(fmts)
    split = split_of(fmt, cls)
    if fmt in ("code", "css", "config") or (fmt in ("log", "json") and cls in NATIVE_FORMATS
                                             and fmt in NATIVE_FORMATS[cls] and rng.random() < 0.6):
        return make_row(native_row(rng, cls, fmt), fmt, cls, f"{cls} in {fmt}")
    locales = [loc for loc in LOCALES if split == "holdout" or loc.code not in HOLDOUT_GROUPS]
    loc = rng.choice(locales)
    variant = rng.randrange(len(NEG_CLASSES[cls]))
    extra = pick_decoys(rng, split, 1) if rng.random() < 0.3 else []
    extra = [(c, v) for c, v in extra if c != cls]
    n = rng.randint(2, 4) if fmt in MULTI_RECORD and rng.random() < 0.7 else 1
    records = []
    for _ in range(n):
        person = new_person(rng, loc)
        fields = [neg_field(rng, cls, variant, loc)]
        if fmt not in MULTI_RECORD and rng.random() < 0.4:
            fields.append(neg_field(rng, cls, rng.randrange(len(NEG_CLASSES[cls])), loc))
        fields += [neg_field(rng, c, v, loc) for c, v in extra]
        records.append((person, fields))
    if fmt in ("csv", "sql", "html") and n > 1:
        columns = [f.column for f in records[0][1]]
        records = [(p, fs) for p, fs in records if [f.column for f in fs] == columns]
    parts = CONTAINERS[fmt](rng, loc.lang, records, False)
    note = f"{cls} in {fmt} ({loc.code} text)"
    if extra:
        note += "; also " + ", ".join(c for c, _ in extra)
    return make_row(parts, fmt, cls, note)


def build_rows(seed):
    rng = random.Random(seed)
    rows = []
    for loc in LOCALES:
        count = POSITIVE_ROWS.get(loc.code, POSITIVE_ROWS_DEFAULT)
        rows += [positive_row(rng, loc) for _ in range(count)]
    positives = len(rows)
    for cls in NEG_CLASSES:
        for _ in range(NEGATIVE_ROWS_PER_CLASS):
            row = negative_row(rng, cls)
            assert row["label"] == 0, row
            rows.append(row)
    for row in rows[:positives]:
        assert row["label"] == 1, row
    rng.shuffle(rows)
    return rows



if __name__ == "__main__":
    import common

    common.main(__doc__, build_rows)
