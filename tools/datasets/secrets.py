#!/usr/bin/env python3
"""Labelled corpus of secrets and look-alike non-secrets.

    python3 tools/datasets/secrets.py --seed 1 --out secrets.jsonl

Writes one JSON object per line:

    text    the sample
    label   1 if the sample holds at least one secret, else 0
    spans   [{"start", "end", "type": "secrets"}]: UTF-8 byte offsets of each secret
            value, end exclusive.  A span covers the value only: not the variable name,
            not the quotes, only the password of a URL's user:password, only the base64
            of `Authorization: Basic ...`, and the whole BEGIN..END block of a PEM key.
    format  the container the text imitates (dotenv, yaml, curl, chat, ...)
    group   the provider or kind of the row's main value (aws, github, db_url,
            assignment_named, ...) or, for negative rows, the negative class (neg_*)
    split   "dev" or "holdout", see below
    note    a short description of what the row contains

All tokens are random bodies in the provider's published shape; none is a real key.
The only fixed credentials are the examples the providers publish in their own docs,
and they are labelled 0 (group neg_docs_example).

Split.  A row is "holdout" when its format is in HOLDOUT_FORMATS or its group is in
HOLDOUT_GROUPS, otherwise "dev".  Tune on dev rows only and report figures on holdout
rows: those contain containers and kinds of secret that dev never shows.  A dev row
never contains a secondary value (an extra secret or a decoy) from a holdout group.

The output depends only on --seed.
"""

import base64
import json
import random
import re
import string
import struct
from dataclasses import dataclass

TYPE = "secrets"

HOLDOUT_FORMATS = frozenset({
    "powershell",
    "ruby",
    "stack-trace",
    "terraform",
    "ticket",
    "xml",
})

HOLDOUT_GROUPS = frozenset({
    "gitlab",
    "mailgun",
    "neg_public_key",
    "neg_public_token",
    "new_relic",
    "pypi",
    "shopify",
    "url_credentials",
    "vault",
})


def split_of(fmt, group):
    return "holdout" if fmt in HOLDOUT_FORMATS or group in HOLDOUT_GROUPS else "dev"


# ---------------------------------------------------------------------------
# Text assembly.  A sample is built from parts: plain strings and Mark(value)
# for each secret value; offsets are computed when the parts are joined.


@dataclass(frozen=True)
class Mark:
    text: str


def flatten(parts):
    for part in parts:
        if isinstance(part, (list, tuple)):
            yield from flatten(part)
        else:
            yield part


def plain(parts):
    return "".join(p.text if isinstance(p, Mark) else p for p in flatten(parts))


def mapped(parts, fn):
    """Apply a character-local transformation (escaping, indenting) to every part."""
    return [Mark(fn(p.text)) if isinstance(p, Mark) else fn(p) for p in flatten(parts)]


def has_mark(parts):
    return any(isinstance(p, Mark) for p in flatten(parts))


WORD_CHAR = re.compile(r"[A-Za-z0-9]")


def assemble(parts):
    chunks, spans, values = [], [], []
    chars = 0
    for part in flatten(parts):
        s = part.text if isinstance(part, Mark) else part
        if isinstance(part, Mark):
            assert s, "empty secret value"
            spans.append((chars, chars + len(s)))
            values.append(s)
        chunks.append(s)
        chars += len(s)
    text = "".join(chunks)
    raw = text.encode("utf-8")
    out = []
    for (cs, ce), value in zip(spans, values):
        start, end = len(text[:cs].encode("utf-8")), len(text[:ce].encode("utf-8"))
        assert raw[start:end].decode("utf-8") == value
        # A span must cover the whole token, never a piece of a longer word.
        assert cs == 0 or not WORD_CHAR.match(text[cs - 1]), (text, value)
        assert ce == len(text) or not WORD_CHAR.match(text[ce]), (text, value)
        out.append({"start": start, "end": end, "type": TYPE})
    return text, out


def make_row(parts, fmt, group, note):
    text, spans = assemble(parts)
    return {
        "text": text,
        "label": 1 if spans else 0,
        "spans": spans,
        "format": fmt,
        "group": group,
        "split": split_of(fmt, group),
        "note": note,
    }


# ---------------------------------------------------------------------------
# Random values.

UPPER, LOWER, DIGITS = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UPPER + LOWER + DIGITS
HEX = "0123456789abcdef"
B32 = UPPER + "234567"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def rstr(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uuid4(rng):
    h = rstr(rng, HEX, 32)
    h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def timestamp(rng):
    return (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999):03d}Z")


PW_WORDS = ["winter", "summer", "autumn", "spring", "sunshine", "dragon", "falcon", "tiger",
            "coffee", "purple", "harbor", "rocket", "maple", "orange", "silver", "thunder",
            "pepper", "galaxy", "river", "meadow", "copper", "lantern"]
PW_SUFFIXES = ["corp", "prod", "admin", "dev", "team", "ops", "db", "hq", "svc", "deploy"]
PW_SYMBOLS = "!@#*?._-+"
LEET = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})


def human_password(rng):
    word = rng.choice(PW_WORDS)
    year = str(rng.randint(2018, 2025))
    sym = rng.choice(PW_SYMBOLS)
    suffix = rng.choice(PW_SUFFIXES)
    pattern = rng.randrange(5)
    if pattern == 0:
        return f"{word.title()}{year}{sym}{suffix}"
    if pattern == 1:
        return f"{word.title()}{sym}{rng.randint(10, 99)}{rng.choice(['', '!', '?'])}"
    if pattern == 2:
        leet = word.translate(LEET).replace("$", "5")
        return f"{leet.title()}-{suffix.title()}-{rng.randint(1, 9)}"
    if pattern == 3:
        words = rng.sample(PW_WORDS, 3)
        return "-".join(words) + str(rng.randint(1, 99))
    return f"{suffix.title()}{sym}{word}{year[2:]}"


def random_password(rng, url_safe=False):
    alphabet = ALNUM + ("-._~" if url_safe else "!#*-_.+=%^")
    while True:
        pw = rstr(rng, alphabet, rng.randint(14, 32))
        if pw[0].isalnum() and pw[-1].isalnum() and any(c.isdigit() for c in pw):
            return pw


def password(rng, url_safe=False):
    if url_safe or rng.random() < 0.5:
        return random_password(rng, url_safe)
    return human_password(rng)


def opaque_token(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return rstr(rng, HEX, rng.choice([32, 40, 64]))
    if kind == 1:
        return b64(rng.randbytes(rng.choice([24, 32, 48])))
    if kind == 2:
        return b64url(rng.randbytes(32))
    return rstr(rng, ALNUM, rng.choice([32, 40, 48]))


# ---------------------------------------------------------------------------
# Provider-shaped tokens, from each provider's published format.


def jwt(rng):
    alg = rng.choice(["HS256", "RS256", "ES256"])
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = rstr(rng, HEX, 16)
    iat = rng.randint(1_690_000_000, 1_735_000_000)
    payload = {"sub": rng.choice([uuid4(rng), f"svc-{rng.choice(SERVICES)}",
                                  str(rng.randint(10_000, 9_999_999))]),
               "iss": f"https://auth.{rng.choice(COMPANIES)}.io/",
               "aud": rng.choice(["api", "internal", f"{rng.choice(SERVICES)}-api"]),
               "iat": iat, "exp": iat + rng.choice([900, 3600, 86_400])}
    if rng.random() < 0.5:
        payload["scope"] = rng.choice(["read:orders write:orders", "admin", "reports:read"])
    sig_len = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    enc = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode())
    return f"{enc(header)}.{enc(payload)}.{b64url(rng.randbytes(sig_len))}"


def der_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + struct.pack(">H", n)


def ssh_string(data):
    return struct.pack(">I", len(data)) + data


def private_key_pem(rng):
    kind = rng.choice(["rsa", "rsa", "pkcs8", "ec", "openssh", "openssh"])
    if kind == "rsa":
        bits = rng.choice([2048, 2048, 4096])
        head = bytes.fromhex("3082 04a4 020100 0282 0101 00" if bits == 2048
                             else "3082 0928 020100 0282 0201 00")
        total = 1192 if bits == 2048 else 2348
        der = head + rng.randbytes(total - len(head))
        label, width = "RSA PRIVATE KEY", 64
    elif kind == "pkcs8":
        head = bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"
                             "308204a30201000282010100")
        der = head + rng.randbytes(1217 - len(head))
        label, width = "PRIVATE KEY", 64
    elif kind == "ec":
        der = (bytes.fromhex("30770201010420") + rng.randbytes(32)
               + bytes.fromhex("a00a06082a8648ce3d030107a144034200") + b"\x04"
               + rng.randbytes(64))
        label, width = "EC PRIVATE KEY", 64
    else:
        pub = rng.randbytes(32)
        pub_blob = ssh_string(b"ssh-ed25519") + ssh_string(pub)
        check = rng.randbytes(4)
        comment = f"{rng.choice(USERS)}@{rng.choice(HOSTNAMES)}".encode()
        private = (check + check + ssh_string(b"ssh-ed25519") + ssh_string(pub)
                   + ssh_string(rng.randbytes(32) + pub) + ssh_string(comment))
        private += bytes(range(1, 1 + (-len(private)) % 8))
        der = (b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none")
               + ssh_string(b"") + struct.pack(">I", 1) + ssh_string(pub_blob)
               + ssh_string(private))
        label, width = "OPENSSH PRIVATE KEY", 70
    return pem_block(label, b64(der), width)


def pem_block(label, body, width=64):
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def ssh_public_key(rng):
    if rng.random() < 0.5:
        blob = ssh_string(b"ssh-ed25519") + ssh_string(rng.randbytes(32))
        algo = "ssh-ed25519"
    else:
        n = b"\x00" + bytes([rng.randint(0xc0, 0xff)]) + rng.randbytes(rng.choice([255, 383]))
        blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(n)
        algo = "ssh-rsa"
    return f"{algo} {b64(blob)} {rng.choice(USERS)}@{rng.choice(HOSTNAMES)}"


def public_key_pem(rng):
    if rng.random() < 0.5:
        der = (bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
               + rng.randbytes(256) + bytes.fromhex("0203010001"))
    else:
        der = (bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
               + b"\x04" + rng.randbytes(64))
    return pem_block("PUBLIC KEY", b64(der))


def certificate_pem(rng):
    size = rng.randint(700, 1300)
    der = b"\x30\x82" + struct.pack(">H", size - 4) + b"\x30\x82" + struct.pack(">H", size - 300)
    der += bytes.fromhex("a003020102") + rng.randbytes(size - len(der))
    return pem_block("CERTIFICATE", b64(der))


# ---------------------------------------------------------------------------
# Vocabulary.

COMPANIES = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne",
             "tyrell", "cyberdyne", "soylent", "wonka", "pied-piper", "aperture"]
SERVICES = ["billing", "orders", "checkout", "search", "ingest", "notifier", "reports",
            "auth", "inventory", "payments", "shipping", "catalog"]
USERS = ["app", "deploy", "ci", "admin", "svc_orders", "reporting", "etl", "backup",
         "jenkins", "grafana", "api", "worker"]
HOSTNAMES = ["build-01", "laptop", "bastion", "web-3", "ci-runner", "dev-vm", "mbp-jo"]
PEOPLE = ["Sam", "Alex", "Priya", "Jonas", "Mei", "Carlos", "Dana", "Olu", "Ines", "Tom"]
ENVS = ["production", "staging", "prod", "dev", "qa"]


@dataclass
class Ctx:
    app: str
    env: str
    section: str
    host: str


def new_ctx(rng):
    company = rng.choice(COMPANIES)
    service = rng.choice(SERVICES)
    return Ctx(app=f"{company}-{service}", env=rng.choice(ENVS),
               section=rng.choice(["secrets", "credentials", "integrations", service, "auth"]),
               host=f"api.{company}.io")


# ---------------------------------------------------------------------------
# Items: one named value each.  `value` is a list of parts; `raw` marks a code or
# config expression (env lookup, reference) that is written without quotes.


@dataclass
class Item:
    name: str
    value: list
    desc: str = ""
    raw: bool = False
    group: str = ""


def item(name, secret, desc, group):
    return Item(name, [Mark(secret)], desc, group=group)


def snake(name):
    return name.lower()


def camel(name):
    words = name.lower().split("_")
    return words[0] + "".join(w.title() for w in words[1:])


def pascal(name):
    return "".join(w.title() for w in name.lower().split("_"))


def dotted(name):
    return name.lower().replace("_", ".")


# ---------------------------------------------------------------------------
# Positive item makers.  Each returns the items of one row's main secret(s).


def p_aws(rng, lang):
    key_id, secret = "AKIA" + rstr(rng, B32, 16), rstr(rng, B64, 40)
    id_name, secret_name = rng.choice([
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("S3_ACCESS_KEY", "S3_SECRET_KEY"),
        ("AWS_KEY", "AWS_SECRET"), ("BACKUP_AWS_ACCESS_KEY_ID", "BACKUP_AWS_SECRET_ACCESS_KEY")])
    items = [item(id_name, key_id, "AWS access key id", "aws"),
             item(secret_name, secret, "AWS secret key", "aws")]
    r = rng.random()
    if r < 0.1:
        return items[:1]
    if r < 0.2:
        return items[1:]
    return items


def p_github(rng, lang):
    prefix = rng.choice(["ghp_", "ghp_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_"])
    name = rng.choice(["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT", "GH_ACCESS_TOKEN",
                       "GITHUB_API_TOKEN", "RELEASE_TOKEN"])
    return [item(name, prefix + rstr(rng, ALNUM, 36), "GitHub token", "github")]


def p_github_fine_grained(rng, lang):
    token = "github_pat_" + rstr(rng, ALNUM, 22) + "_" + rstr(rng, ALNUM, 59)
    name = rng.choice(["GITHUB_TOKEN", "GH_PAT", "GITHUB_FINE_GRAINED_TOKEN", "GH_TOKEN"])
    return [item(name, token, "GitHub token", "github_fine_grained")]


def p_gitlab(rng, lang):
    name = rng.choice(["GITLAB_TOKEN", "GL_TOKEN", "GITLAB_PRIVATE_TOKEN", "GITLAB_API_TOKEN"])
    return [item(name, "glpat-" + rstr(rng, B64URL, 20), "GitLab token", "gitlab")]


def p_slack(rng, lang):
    team = str(rng.randint(10**9, 10**12))
    if rng.random() < 0.6:
        token = f"xoxb-{team}-{rng.randint(10**11, 10**13)}-{rstr(rng, ALNUM, 24)}"
        name = rng.choice(["SLACK_BOT_TOKEN", "SLACK_TOKEN"])
    else:
        token = (f"xoxp-{team}-{rng.randint(10**11, 10**13)}-{rng.randint(10**11, 10**13)}"
                 f"-{rstr(rng, HEX, 32)}")
        name = rng.choice(["SLACK_USER_TOKEN", "SLACK_TOKEN"])
    return [item(name, token, "Slack token", "slack")]


def p_slack_webhook(rng, lang):
    url = (f"https://hooks.slack.com/services/T{rstr(rng, UPPER + DIGITS, rng.randint(8, 10))}"
           f"/B{rstr(rng, UPPER + DIGITS, rng.randint(8, 10))}/{rstr(rng, ALNUM, 24)}")
    name = rng.choice(["SLACK_WEBHOOK_URL", "ALERTS_WEBHOOK", "SLACK_HOOK", "DEPLOY_NOTIFY_URL"])
    return [item(name, url, "Slack webhook", "slack_webhook")]


def p_stripe(rng, lang):
    n = rng.choice([24, 24, 99, rng.randint(24, 99)])
    r = rng.random()
    if r < 0.7:
        items = [item(rng.choice(["STRIPE_SECRET_KEY", "STRIPE_API_KEY", "STRIPE_KEY"]),
                      "sk_live_" + rstr(rng, ALNUM, n), "Stripe key", "stripe")]
    elif r < 0.85:
        items = [item("STRIPE_RESTRICTED_KEY", "rk_live_" + rstr(rng, ALNUM, n),
                      "Stripe restricted key", "stripe")]
    else:
        items = []
    if not items or rng.random() < 0.3:
        items.append(item("STRIPE_WEBHOOK_SECRET", "whsec_" + rstr(rng, ALNUM, 32),
                          "Stripe webhook secret", "stripe"))
    return items


def p_openai(rng, lang):
    if rng.random() < 0.5:
        token = "sk-" + rstr(rng, ALNUM, 20) + "T3BlbkFJ" + rstr(rng, ALNUM, 20)
    elif rng.random() < 0.5:
        token = "sk-proj-" + rstr(rng, ALNUM, 48)
    else:
        token = "sk-proj-" + rstr(rng, B64URL, 74) + "T3BlbkFJ" + rstr(rng, B64URL, 74)
        token = token.rstrip("-_") + rng.choice(ALNUM)
    return [item(rng.choice(["OPENAI_API_KEY", "OPENAI_KEY", "LLM_API_KEY"]), token,
                 "OpenAI key", "openai")]


def p_anthropic(rng, lang):
    token = "sk-ant-api03-" + rstr(rng, B64URL, 93) + "AA"
    return [item(rng.choice(["ANTHROPIC_API_KEY", "CLAUDE_API_KEY", "ANTHROPIC_KEY"]), token,
                 "Anthropic key", "anthropic")]


def p_google_api(rng, lang):
    token = "AIza" + rstr(rng, B64URL, 34) + rng.choice(ALNUM)
    name = rng.choice(["GOOGLE_API_KEY", "GEMINI_API_KEY", "YOUTUBE_API_KEY", "GCP_API_KEY",
                       "TRANSLATE_API_KEY"])
    return [item(name, token, "Google API key", "google_api")]


def p_sendgrid(rng, lang):
    token = "SG." + rstr(rng, B64URL, 22) + "." + rstr(rng, B64URL, 42) + rng.choice(ALNUM)
    return [item(rng.choice(["SENDGRID_API_KEY", "SENDGRID_KEY", "SMTP_PASSWORD"]), token,
                 "SendGrid key", "sendgrid")]


def p_twilio(rng, lang):
    sid = Item("TWILIO_ACCOUNT_SID", ["AC" + rstr(rng, HEX, 32)], "account SID")
    if rng.random() < 0.6:
        return [sid, item("TWILIO_AUTH_TOKEN", rstr(rng, HEX, 32), "Twilio auth token", "twilio")]
    return [sid, item("TWILIO_API_KEY", "SK" + rstr(rng, HEX, 32), "Twilio API key", "twilio"),
            item("TWILIO_API_SECRET", rstr(rng, ALNUM, 32), "Twilio API secret", "twilio")]


def p_npm(rng, lang):
    return [item(rng.choice(["NPM_TOKEN", "NPM_AUTH_TOKEN", "NODE_AUTH_TOKEN"]),
                 "npm_" + rstr(rng, ALNUM, 36), "npm token", "npm")]


def p_pypi(rng, lang):
    token = "pypi-AgEIcHlwaS5vcmc" + rstr(rng, B64URL, rng.randint(70, 160))
    token = token.rstrip("-_") + rng.choice(ALNUM)
    return [item(rng.choice(["PYPI_TOKEN", "PYPI_API_TOKEN", "TWINE_PASSWORD"]), token,
                 "PyPI token", "pypi")]


def p_datadog(rng, lang):
    items = [item(rng.choice(["DD_API_KEY", "DATADOG_API_KEY"]), rstr(rng, HEX, 32),
                  "Datadog API key", "datadog")]
    if rng.random() < 0.5:
        items.append(item(rng.choice(["DD_APP_KEY", "DATADOG_APP_KEY"]), rstr(rng, HEX, 40),
                          "Datadog application key", "datadog"))
    return items


def p_new_relic(rng, lang):
    key = rstr(rng, HEX, 40) if rng.random() < 0.6 else rstr(rng, HEX, 36) + "NRAL"
    return [item(rng.choice(["NEW_RELIC_LICENSE_KEY", "NEW_RELIC_LICENSE_KEY", "NR_LICENSE_KEY"]),
                 key, "New Relic license key", "new_relic")]


def p_mailgun(rng, lang):
    return [item(rng.choice(["MAILGUN_API_KEY", "MAILGUN_KEY"]), "key-" + rstr(rng, HEX, 32),
                 "Mailgun key", "mailgun")]


def p_shopify(rng, lang):
    if rng.random() < 0.7:
        return [item(rng.choice(["SHOPIFY_ACCESS_TOKEN", "SHOPIFY_ADMIN_TOKEN"]),
                     "shpat_" + rstr(rng, HEX, 32), "Shopify token", "shopify")]
    return [item("SHOPIFY_API_SECRET", "shpss_" + rstr(rng, HEX, 32), "Shopify secret",
                 "shopify")]


def p_vault(rng, lang):
    n = rng.choice([24, 24, rng.randint(90, 100)])
    token = "hvs." + rstr(rng, B64URL, n - 1) + rng.choice(ALNUM)
    return [item(rng.choice(["VAULT_TOKEN", "VAULT_ROOT_TOKEN"]), token, "Vault token", "vault")]


def p_heroku(rng, lang):
    return [item("HEROKU_API_KEY", uuid4(rng), "Heroku API key", "heroku")]


def p_jwt(rng, lang):
    name = rng.choice(["ACCESS_TOKEN", "SERVICE_JWT", "AUTH_TOKEN", "ID_TOKEN", "API_JWT",
                       "REFRESH_TOKEN"])
    return [item(name, jwt(rng), "token", "jwt")]


def p_private_key(rng, lang):
    name = rng.choice(["PRIVATE_KEY", "SSH_PRIVATE_KEY", "JWT_PRIVATE_KEY", "TLS_KEY",
                       "DEPLOY_KEY", "GITHUB_APP_PRIVATE_KEY", "SIGNING_KEY"])
    return [item(name, private_key_pem(rng), "private key", "private_key")]


DB_SCHEMES = ["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "rediss", "amqp", "amqps"]


def db_url_parts(rng, pw):
    scheme = rng.choice(DB_SCHEMES)
    user = rng.choice(USERS)
    company, svc = rng.choice(COMPANIES), rng.choice(SERVICES)
    if scheme.startswith("postgres"):
        host = rng.choice([f"{svc}-db.internal", f"pg-{rng.choice(ENVS)}-01.{rstr(rng, LOWER + DIGITS, 12)}"
                           f".eu-west-1.rds.amazonaws.com", "10.0.3.17"])
        rest, name = f"@{host}:5432/{svc}", "DATABASE_URL"
    elif scheme == "mysql":
        rest, name = f"@mysql.{company}.internal:3306/{svc}", rng.choice(["MYSQL_URL", "DATABASE_URL"])
    elif scheme == "mongodb+srv":
        rest = (f"@cluster0.{rstr(rng, LOWER + DIGITS, 5)}.mongodb.net/{svc}"
                "?retryWrites=true&w=majority")
        name = rng.choice(["MONGODB_URI", "MONGO_URL"])
    elif scheme.startswith("redis"):
        rest = rng.choice([f"@redis-{rng.randint(10000, 19999)}.c{rng.randint(1, 300)}"
                           ".eu-west-1-2.ec2.cloud.redislabs.com:6379/0", "@cache.internal:6379/1"])
        name = rng.choice(["REDIS_URL", "CACHE_URL", "CELERY_RESULT_BACKEND"])
        if rng.random() < 0.4:
            user = "default" if rng.random() < 0.5 else ""
    else:
        rest = f"@rabbitmq.{company}.internal:5672/{svc}"
        name = rng.choice(["AMQP_URL", "CELERY_BROKER_URL", "RABBITMQ_URL"])
    return [f"{scheme}://{user}:", Mark(pw), rest], name


def p_db_url(rng, lang):
    value, name = db_url_parts(rng, password(rng, url_safe=True))
    return [Item(name, value, "connection string", group="db_url")]


def p_url_credentials(rng, lang):
    user, pw = rng.choice(USERS), password(rng, url_safe=True)
    company = rng.choice(COMPANIES)
    host, name = rng.choice([
        (f"nexus.{company}.io/repository/pypi/simple/", "PIP_INDEX_URL"),
        (f"git.{company}.io/platform/infra.git", "GIT_REMOTE"),
        (f"proxy.{company}.corp:3128", "HTTPS_PROXY"),
        (f"es.{company}.io:9200", "ELASTICSEARCH_URL"),
        (f"artifactory.{company}.io/artifactory/api/npm/npm/", "NPM_REGISTRY"),
        (f"grafana.{company}.io/api/", "GRAFANA_URL"),
        (f"registry.{company}.io/v2/", "REGISTRY_URL"),
    ])
    scheme = "http" if "proxy" in host else "https"
    return [Item(name, [f"{scheme}://{user}:", Mark(pw), f"@{host}"], "URL",
                 group="url_credentials")]


NAMED_PREFIXES = ["ACME", "PAYMENTS", "BILLING", "PARTNER", "CRM", "LEGACY", "SEARCH", "GEO",
                  "SHIPPING", "LEDGER", "ANALYTICS", "INTERNAL"]
NAMED_KEY_SUFFIXES = ["API_KEY", "API_SECRET", "SECRET_KEY", "CLIENT_SECRET", "ACCESS_TOKEN",
                      "AUTH_TOKEN", "SIGNING_SECRET", "WEBHOOK_SECRET", "PRIVATE_TOKEN",
                      "ENCRYPTION_KEY", "HMAC_KEY", "MASTER_KEY"]
NAMED_KEYS = ["CLIENT_SECRET", "SECRET_KEY", "JWT_SECRET", "SESSION_SECRET", "APP_SECRET",
              "API_SECRET", "CONSUMER_SECRET", "OAUTH_CLIENT_SECRET", "COOKIE_SECRET"]
NAMED_PASSWORDS = ["PASSWORD", "DB_PASSWORD", "SMTP_PASSWORD", "REDIS_PASSWORD",
                   "ADMIN_PASSWORD", "MYSQL_ROOT_PASSWORD", "POSTGRES_PASSWORD",
                   "RABBITMQ_DEFAULT_PASS", "KEYSTORE_PASSWORD", "LDAP_BIND_PASSWORD"]


def named_secret(rng):
    """A random or human secret recognisable only by the name it is assigned to."""
    r = rng.random()
    if r < 0.4:
        return f"{rng.choice(NAMED_PREFIXES)}_{rng.choice(NAMED_KEY_SUFFIXES)}", opaque_token(rng)
    if r < 0.6:
        return rng.choice(NAMED_KEYS), opaque_token(rng)
    return rng.choice(NAMED_PASSWORDS), password(rng)


def p_assignment_named(rng, lang):
    name, value = named_secret(rng)
    desc = "password" if "PASS" in name else "secret"
    return [item(name, value, desc, "assignment_named")]


# Literal defaults after an environment lookup, per language.
ENV_DEFAULT_LANGS = ("python", "javascript", "ruby", "go", "java", "php", "shell",
                     "docker-compose", "yaml", "properties", "github-actions", "powershell")


def env_default_expr(rng, lang, var, lit):
    q = [Mark(lit)]
    if lang == "python":
        fn = rng.choice(["os.environ.get", "os.getenv"])
        return [f'{fn}("{var}", "', q, '")']
    if lang == "javascript":
        op = rng.choice(["||", "??"])
        return [f"process.env.{var} {op} '", q, "'"]
    if lang == "ruby":
        return rng.choice([[f'ENV.fetch("{var}") {{ "', q, '" }'],
                           [f'ENV.fetch("{var}", "', q, '")'],
                           [f'ENV["{var}"] || "', q, '"']])
    if lang == "go":
        return [f'getEnv("{var}", "', q, '")']
    if lang == "java":
        return [f'System.getenv().getOrDefault("{var}", "', q, '")']
    if lang == "php":
        return rng.choice([[f"env('{var}', '", q, "')"], [f"getenv('{var}') ?: '", q, "'"]])
    if lang == "shell":
        return ['"${', var, rng.choice([":-", ":="]), q, '}"']
    if lang == "docker-compose":
        return ["${", var, ":-", q, "}"]
    if lang in ("yaml", "properties"):
        return ["${", var, ":", q, "}"]
    if lang == "github-actions":
        return ["${{ secrets.", var, " || '", q, "' }}"]
    if lang == "powershell":
        return [f"if ($env:{var}) {{ $env:{var} }} else {{ '", q, "' }"]
    raise ValueError(lang)


def p_env_default(rng, lang):
    r = rng.random()
    if r < 0.5:
        maker = rng.choice([p_stripe, p_github, p_openai, p_sendgrid, p_slack, p_aws, p_npm,
                            p_google_api, p_anthropic, p_jwt])
        inner = [it for it in maker(rng, lang) if has_mark(it.value)][0]
        var, lit = inner.name, plain(inner.value)
    else:
        var, lit = named_secret(rng)
    return [Item(var, env_default_expr(rng, lang, var, lit), "default", raw=True,
                 group="env_default")]


# ---------------------------------------------------------------------------
# Negative item makers: values that look like secrets but are not.

DOCS_EXAMPLES = [
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("AWS_ACCESS_KEY_ID", "AKIAI44QH8DHBEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
    ("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("STRIPE_SECRET_KEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc"),
    ("STRIPE_PUBLISHABLE_KEY", "pk_test_TYooMQauvdEDq54NiTphI7jx"),
    ("MAILGUN_API_KEY", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"),
    ("ACCESS_TOKEN", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpv"
                     "aG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T00000000/B00000000/"
                          "XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("AZURE_STORAGE_CONNECTION_STRING",
     "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJ"
     "PLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint="
     "http://127.0.0.1:10000/devstoreaccount1;"),
]


def n_docs_example(rng, lang):
    picks = [DOCS_EXAMPLES[rng.randrange(len(DOCS_EXAMPLES))]]
    if picks[0][1].startswith("AKIA") and rng.random() < 0.8:
        idx = DOCS_EXAMPLES.index(picks[0])
        picks.append(DOCS_EXAMPLES[idx + 1])
    return [Item(name, [value], group="neg_docs_example") for name, value in picks]


PROVIDER_PLACEHOLDERS = {
    "GITHUB_TOKEN": lambda rng: rng.choice(["ghp_" + "x" * 36, "ghp_" + "X" * 36, "ghp_...", "<YOUR_GITHUB_TOKEN>"]),
    "STRIPE_SECRET_KEY": lambda rng: rng.choice(["sk_live_" + "X" * 24, "sk_live_" + "x" * 32, "sk_live_..."]),
    "AWS_ACCESS_KEY_ID": lambda rng: rng.choice(["AKIA" + "X" * 16, "AKIA" + "x" * 16, "<ACCESS_KEY_ID>"]),
    "SLACK_TOKEN": lambda rng: "xoxb-" + "x" * 10 + "-" + "x" * 12 + "-" + "x" * 24,
    "OPENAI_API_KEY": lambda rng: rng.choice(["sk-" + "x" * 48, "sk-...", "sk-proj-XXXXXXXX"]),
    "NPM_TOKEN": lambda rng: rng.choice(["npm_" + "x" * 36, "00000000-0000-0000-0000-000000000000"]),
    "DATABASE_URL": lambda rng: rng.choice([
        "postgres://user:password@localhost/db", "postgres://USER:PASSWORD@HOST:5432/DBNAME",
        "mongodb+srv://<username>:<password>@cluster0.example.mongodb.net/",
        "redis://:password@localhost:6379/0", "mysql://root:root@localhost:3306/test"]),
    "PROXY_URL": lambda rng: rng.choice(["https://USER:PASSWORD@HOST/path",
                                          "http://user:pass@proxy:3128"]),
}
GENERIC_PLACEHOLDERS = ["your-api-key-here", "<YOUR_TOKEN>", "<your-secret>", "YOUR_API_KEY",
                        "changeme", "********", "REDACTED", "[REDACTED]", "TODO", "xxx", "dummy",
                        "secret", "<redacted>", "replace-me", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]
GENERIC_NAMES = ["API_KEY", "DB_PASSWORD", "SECRET_KEY", "AUTH_TOKEN", "CLIENT_SECRET",
                 "ADMIN_PASSWORD", "WEBHOOK_SECRET", "ACCESS_TOKEN"]
CONFIG_LANGS = {"dotenv", "yaml", "docker-compose", "k8s-secret", "k8s-manifest",
                "github-actions", "properties", "ini", "toml", "shell"}


def placeholder_item(rng, lang):
    """A value that stands in for a secret: dummy text, a masked value or a template."""
    r = rng.random()
    if r < 0.4:
        name = rng.choice(sorted(PROVIDER_PLACEHOLDERS))
        value = PROVIDER_PLACEHOLDERS[name](rng)
    else:
        name = rng.choice(GENERIC_NAMES + ["GITHUB_TOKEN", "STRIPE_SECRET_KEY", "NPM_TOKEN"])
        value = rng.choice(GENERIC_PLACEHOLDERS)
        if lang in CONFIG_LANGS and r > 0.7:
            value = rng.choice(["${" + name + "}", "{{ .Values." + camel(name) + " }}",
                                "%" + name + "%", "{{ " + snake(name) + " }}"])
            if lang == "github-actions":
                value = "${{ secrets." + name + " }}"
    return Item(name, [value], raw=value.startswith("$"), group="neg_placeholder")


def n_placeholder(rng, lang):
    items = [placeholder_item(rng, lang)]
    if rng.random() < 0.25:
        # A PEM block with its body elided.
        label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"])
        body = rng.choice(["...", "<key>", "<your private key here>", "MIIEvQ...", "xxxx"])
        pem = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"
        if lang in MULTILINE_OK:
            items.append(Item("PRIVATE_KEY", [pem], group="neg_placeholder"))
    return items


def public_token(rng):
    r = rng.random()
    if r < 0.3:
        user = rng.choice(COMPANIES) + rng.choice(["", "-maps", "dev"])
        payload = json.dumps({"u": user, "a": "cl" + rstr(rng, LOWER + DIGITS, 23)},
                             separators=(",", ":"))
        return ("MAPBOX_ACCESS_TOKEN", "pk." + b64url(payload.encode()) + "." + rstr(rng, B64URL, 21)
                + rng.choice(ALNUM), "Mapbox public token")
    if r < 0.7:
        mode = rng.choice(["live", "live", "test"])
        return ("STRIPE_PUBLISHABLE_KEY", f"pk_{mode}_" + rstr(rng, ALNUM, rng.choice([24, 99])),
                "Stripe publishable key")
    if r < 0.85:
        return ("RECAPTCHA_SITE_KEY", "6L" + rstr(rng, B64URL, 37) + rng.choice(ALNUM),
                "reCAPTCHA site key")
    return ("POSTHOG_KEY", "phc_" + rstr(rng, ALNUM, 43), "PostHog project key")


def n_public_token(rng, lang):
    name, value, desc = public_token(rng)
    if rng.random() < 0.3:
        name = "NEXT_PUBLIC_" + name
    return [Item(name, [value], desc, group="neg_public_token")]


REF_LANGS = ("python", "javascript", "ruby", "go", "java", "php", "shell", "docker-compose",
             "k8s-manifest", "terraform", "powershell", "yaml", "xml", "github-actions")


def reference_expr(rng, lang, var):
    low = snake(var)
    options = {
        "python": [f'os.environ["{var}"]', f"settings.{var}", f'config.get("{low}")',
                   f"get_{low}()", f'os.getenv("{var}")', f'secrets_client.get_secret("{low}")'],
        "javascript": [f"process.env.{var}", f"config.get('{camel(var)}')",
                       f"await getSecret('{low}')", f"process.env['{var}']"],
        "ruby": [f'ENV.fetch("{var}")', f'ENV["{var}"]',
                 f"Rails.application.credentials.dig(:{low})"],
        "go": [f'os.Getenv("{var}")', f"cfg.{pascal(var)}", f'viper.GetString("{dotted(var)}")'],
        "java": [f'System.getenv("{var}")', f'env.getProperty("{dotted(var)}")'],
        "php": [f"env('{var}')", f"getenv('{var}')", f"config('services.{low}')"],
        "shell": [f'"${var}"', f'"$(cat /run/secrets/{low})"',
                  f'"$(vault kv get -field={low} secret/ci)"'],
        "docker-compose": ["${" + var + "}", "${" + var + ":?" + var + " must be set}"],
        "terraform": [f"var.{low}", f'data.vault_generic_secret.app.data["{low}"]',
                      "random_password.db.result", "aws_secretsmanager_secret_version.app.secret_string"],
        "powershell": [f"$env:{var}", f"(Get-Secret -Name {low} -AsPlainText)"],
        "yaml": ["${" + var + "}", "!vault |"],
        "xml": ["${env." + var + "}"],
        "github-actions": ["${{ secrets." + var + " }}"],
        "k8s-manifest": ["secretKeyRef"],
    }
    return rng.choice(options[lang])


def n_reference(rng, lang):
    var = rng.choice(["GITHUB_TOKEN", "API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD",
                      "STRIPE_SECRET_KEY", "CLIENT_SECRET", "SLACK_BOT_TOKEN", "JWT_SECRET",
                      "DATABASE_URL", "SENDGRID_API_KEY"])
    return [Item(var, [reference_expr(rng, lang, var)], raw=True,
                 group="neg_reference")]


NOISE = [
    ("APP_ENV", ENVS), ("PORT", ["3000", "8080", "8000", "9090"]),
    ("LOG_LEVEL", ["info", "debug", "warn"]),
    ("AWS_REGION", ["eu-west-1", "us-east-1", "eu-central-1", "ap-southeast-2"]),
    ("DB_HOST", ["db.internal", "postgres", "10.0.3.17"]), ("DB_USER", USERS),
    ("DB_NAME", SERVICES), ("REDIS_HOST", ["redis", "cache.internal"]),
    ("SMTP_HOST", ["smtp.sendgrid.net", "smtp.mailgun.org", "email-smtp.eu-west-1.amazonaws.com"]),
    ("S3_BUCKET", [f"{c}-uploads" for c in COMPANIES]),
    ("FEATURE_NEW_CHECKOUT", ["true", "false"]), ("TIMEOUT_SECONDS", ["30", "60", "5"]),
    ("TZ", ["UTC", "Europe/Berlin"]), ("WORKERS", ["2", "4", "8"]),
    ("PUBLIC_URL", [f"https://{c}.io" for c in COMPANIES]),
    ("CACHE_TTL", ["300", "3600"]), ("MAX_UPLOAD_MB", ["25", "100"]),
]


def noise_items(rng, k):
    picks = rng.sample(range(len(NOISE)), k)
    return [Item(NOISE[i][0], [rng.choice(NOISE[i][1])]) for i in sorted(picks)]


# ---------------------------------------------------------------------------
# Renderers: format -> parts.  Each takes the row's items (secret, decoy and
# ordinary settings mixed) and lays them out the way that container does.

SIMPLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+=:@-]*")
YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "~"}


def jesc(s):
    return json.dumps(s, ensure_ascii=False)[1:-1]


def xesc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def is_multiline(it):
    return "\n" in plain(it.value)


def yaml_scalar(it, indent):
    v = plain(it.value)
    if it.raw:
        return [" ", it.value]
    if "\n" in v:
        pad = " " * (indent + 2)
        return [" |\n", pad, mapped(it.value, lambda s: s.replace("\n", "\n" + pad))]
    if SIMPLE.fullmatch(v) and v.lower() not in YAML_RESERVED and not v.isdigit():
        return [" ", it.value]
    return [' "', mapped(it.value, jesc), '"']


def quoted(it, q='"', esc=jesc):
    return [q, mapped(it.value, esc), q]


def r_dotenv(rng, items, ctx):
    out = [f"# {ctx.app} ({ctx.env})\n"] if rng.random() < 0.6 else []
    for it in items:
        v = plain(it.value)
        if it.raw:
            out += [f"{it.name}=", it.value, "\n"]
        elif "\n" in v:
            if rng.random() < 0.5:
                out += [f'{it.name}="', it.value, '"\n']
            else:
                out += [f'{it.name}="', mapped(it.value, lambda s: s.replace("\n", "\\n")), '"\n']
        elif SIMPLE.fullmatch(v) and rng.random() < 0.7:
            out += [f"{it.name}=", it.value, "\n"]
        else:
            q = rng.choice("\"'")
            out += [f"{it.name}={q}", it.value, f"{q}\n"]
    return out


def r_shell(rng, items, ctx):
    out = ["#!/usr/bin/env bash\nset -euo pipefail\n\n"] if rng.random() < 0.5 else []
    for it in items:
        if it.raw:
            out += [f"export {it.name}=", it.value, "\n"]
        else:
            out += [f"export {it.name}='", it.value, "'\n"]
    out.append(rng.choice(["", "\n./bin/server --port 8080\n", f"\nexec python -m {ctx.section}\n",
                           "\ndocker compose up -d\n"]))
    return out


def r_yaml(rng, items, ctx):
    out = [f"{ctx.app}:\n", f"  environment: {ctx.env}\n", f"  {ctx.section}:\n"]
    for it in items:
        out += [f"    {snake(it.name)}:", yaml_scalar(it, 4), "\n"]
        if plain(it.value) == "!vault |":
            out += [f"      $ANSIBLE_VAULT;1.1;AES256\n"]
            out += [f"      {rstr(rng, DIGITS + 'abcdef', 64)}\n" for _ in range(rng.randint(2, 4))]
    return out


def r_json(rng, items, ctx):
    out = ["{\n", f'  "service": "{ctx.app}",\n', f'  "{ctx.section}": {{\n']
    for i, it in enumerate(items):
        sep = ",\n" if i < len(items) - 1 else "\n"
        out += [f'    "{snake(it.name)}": "', mapped(it.value, jesc), '"', sep]
    out.append("  }\n}\n")
    return out


def r_toml(rng, items, ctx):
    out = [f'name = "{ctx.app}"\n\n[{ctx.section}]\n']
    for it in items:
        if is_multiline(it):
            out += [f'{snake(it.name)} = """\n', it.value, '"""\n']
        else:
            out += [f"{snake(it.name)} = ", quoted(it), "\n"]
    return out


def r_ini(rng, items, ctx):
    out = [f"[{ctx.section}]\n"]
    for it in items:
        out += [f"{snake(it.name)} = ", it.value, "\n"]
    return out


def r_properties(rng, items, ctx):
    out = [f"# {ctx.app}\n", f"spring.application.name={ctx.app}\n"]
    for it in items:
        out += [f"{ctx.section}.{dotted(it.name)}=", it.value, "\n"]
    return out


def r_docker_compose(rng, items, ctx):
    image = f"ghcr.io/{ctx.app.split('-')[0]}/{ctx.section}:{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    out = ["services:\n", f"  {ctx.section}:\n", f"    image: {image}\n", "    environment:\n"]
    as_list = rng.random() < 0.5
    for it in items:
        if as_list:
            out += [f"      - {it.name}=", it.value, "\n"]
        else:
            out += [f"      {it.name}:", yaml_scalar(it, 6), "\n"]
    out.append(rng.choice(["", "    ports:\n      - \"8080:8080\"\n",
                           "    depends_on:\n      - db\n"]))
    return out


def r_k8s_secret(rng, items, ctx):
    out = ["apiVersion: v1\nkind: Secret\nmetadata:\n", f"  name: {ctx.app}-{ctx.section}\n",
           f"  namespace: {ctx.env}\ntype: Opaque\n"]
    encode = rng.random() < 0.4 and all(not is_multiline(it) for it in items)
    out.append("data:\n" if encode else "stringData:\n")
    for it in items:
        if encode:
            v = plain(it.value)
            enc = b64(v.encode())
            value = [Mark(enc)] if has_mark(it.value) else [enc]
            out += [f"  {it.name}: ", value, "\n"]
        else:
            out += [f"  {it.name}:", yaml_scalar(it, 2), "\n"]
    return out


def r_k8s_manifest(rng, items, ctx):
    out = ["apiVersion: apps/v1\nkind: Deployment\nmetadata:\n", f"  name: {ctx.app}\n",
           "spec:\n  template:\n    spec:\n      containers:\n",
           f"        - name: {ctx.section}\n",
           f"          image: registry.{ctx.app.split('-')[0]}.io/{ctx.section}:{rng.randint(1, 9)}.{rng.randint(0, 30)}\n",
           "          env:\n"]
    for it in items:
        out.append(f"            - name: {it.name}\n")
        if it.raw and plain(it.value) == "secretKeyRef":
            out += ["              valueFrom:\n                secretKeyRef:\n",
                    f"                  name: {ctx.app}-secrets\n",
                    f"                  key: {snake(it.name).replace('_', '-')}\n"]
        else:
            out += ["              value:", yaml_scalar(it, 14), "\n"]
    return out


def r_github_actions(rng, items, ctx):
    out = ["name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n",
           "    runs-on: ubuntu-latest\n    env:\n"]
    for it in items:
        out += [f"      {it.name}:", yaml_scalar(it, 6), "\n"]
    out.append("    steps:\n      - uses: actions/checkout@v4\n      - run: ./scripts/deploy.sh\n")
    return out


def r_npmrc(rng, items, ctx):
    out = [f"@{ctx.app.split('-')[0]}:registry=https://registry.npmjs.org/\n"]
    for it in items:
        if it.name in ("NPM_TOKEN", "NPM_AUTH_TOKEN", "NODE_AUTH_TOKEN") or it.group == "npm":
            out += ["//registry.npmjs.org/:_authToken=", it.value, "\n"]
        else:
            out += [f"{snake(it.name).replace('_', '-')}=", it.value, "\n"]
    out.append("always-auth=true\n")
    return out


def r_python(rng, items, ctx):
    head = rng.choice(["import os\n\n", "import os\nimport logging\n\nlog = logging.getLogger(__name__)\n\n"])
    style = rng.choice(["constants", "dict", "client"])

    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ['"""', it.value, '"""']
        return quoted(it, rng.choice("\"'"))

    out = [head]
    if style == "constants":
        for it in items:
            out += [f"{it.name} = ", lit(it), "\n"]
    elif style == "dict":
        out.append("SETTINGS = {\n")
        for it in items:
            out += [f'    "{snake(it.name)}": ', lit(it), ",\n"]
        out.append("}\n")
    else:
        out.append(f"client = {pascal(ctx.section)}Client(\n")
        for it in items:
            out += [f"    {snake(it.name)}=", lit(it), ",\n"]
        out.append(f'    base_url="https://{ctx.host}",\n)\n')
    return out


def r_javascript(rng, items, ctx):
    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ["`", it.value, "`"]
        return quoted(it, rng.choice("'\""))

    style = rng.choice(["const", "exports", "esm"])
    out = []
    if style == "const":
        for it in items:
            out += [f"const {camel(it.name)} = ", lit(it), ";\n"]
        out.append(f"\nexport const client = new ApiClient({{ baseUrl: 'https://{ctx.host}' }});\n")
    else:
        out.append("module.exports = {\n" if style == "exports" else "export default {\n")
        for it in items:
            out += [f"  {camel(it.name)}: ", lit(it), ",\n"]
        out.append("};\n")
    return out


def r_go(rng, items, ctx):
    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ["`", it.value, "`"]
        return quoted(it)

    out = ["package config\n\n"]
    if rng.random() < 0.5:
        out.append("var (\n")
        for it in items:
            out += [f"\t{camel(it.name)} = ", lit(it), "\n"]
        out.append(")\n")
    else:
        out.append("func Load() Config {\n\treturn Config{\n")
        for it in items:
            out += [f"\t\t{pascal(it.name)}: ", lit(it), ",\n"]
        out.append("\t}\n}\n")
    return out


def r_java(rng, items, ctx):
    out = [f"package com.{ctx.app.split('-')[0].replace('-', '')}.config;\n\n",
           f"public final class {pascal(ctx.section)}Config {{\n"]
    for it in items:
        if it.raw:
            val = it.value
        elif is_multiline(it):
            val = ['"""\n', it.value, '"""']
        else:
            val = quoted(it)
        out += [f"    static final String {it.name} = ", val, ";\n"]
    out.append("}\n")
    return out


def r_ruby(rng, items, ctx):
    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ["<<~KEY\n", it.value, "\nKEY"]
        return quoted(it, rng.choice("'\""))

    out = []
    if rng.random() < 0.5:
        for it in items:
            out += [f"{it.name} = ", lit(it), "\n"]
    else:
        out.append(f"{pascal(ctx.section)}.configure do |config|\n")
        for it in items:
            out += [f"  config.{snake(it.name)} = ", lit(it), "\n"]
        out.append("end\n")
    return out


def r_php(rng, items, ctx):
    def lit(it):
        return it.value if it.raw else quoted(it, "'", lambda s: s)

    out = ["<?php\n\n"]
    style = rng.random()
    if style < 0.4:
        for it in items:
            out += [f"define('{it.name}', ", lit(it), ");\n"]
    else:
        out.append("return [\n")
        for it in items:
            out += [f"    '{snake(it.name)}' => ", lit(it), ",\n"]
        out.append("];\n")
    return out


def r_terraform(rng, items, ctx):
    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ["<<-EOT\n", it.value, "\nEOT"]
        return quoted(it)

    out = []
    if rng.random() < 0.5 and not any(it.raw for it in items):
        for it in items:
            out += [f'variable "{snake(it.name)}" {{\n  type      = string\n',
                    "  sensitive = true\n" if it.group and not it.group.startswith("neg_") and rng.random() < 0.5 else "",
                    "  default   = ", lit(it), "\n}\n\n"]
    else:
        out.append(f'resource "aws_lambda_function" "{ctx.section}" {{\n'
                   f'  function_name = "{ctx.app}"\n  runtime       = "python3.12"\n\n'
                   "  environment {\n    variables = {\n")
        for it in items:
            out += [f"      {it.name} = ", lit(it), "\n"]
        out.append("    }\n  }\n}\n")
    return out


def r_powershell(rng, items, ctx):
    def lit(it):
        if it.raw:
            return it.value
        if is_multiline(it):
            return ["@'\n", it.value, "\n'@"]
        return quoted(it, "'", lambda s: s)

    out = []
    for it in items:
        target = f"$env:{it.name}" if rng.random() < 0.6 else f"${camel(it.name)}"
        out += [f"{target} = ", lit(it), "\n"]
    out.append(rng.choice(["", f"Invoke-RestMethod -Uri https://{ctx.host}/v1/health\n",
                           ".\\deploy.ps1 -Environment Production\n"]))
    return out


def r_xml(rng, items, ctx):
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n']
    for it in items:
        out += [f'    <add key="{pascal(it.name)}" value="', mapped(it.value, xesc), '" />\n']
    out.append("  </appSettings>\n</configuration>\n")
    return out


def r_csv(rng, items, ctx):
    out = ["name,value,environment,owner\n"]
    for it in items:
        v = plain(it.value)
        val = ['"', mapped(it.value, lambda s: s.replace('"', '""')), '"'] if "," in v else it.value
        out += [f"{it.name},", val, f",{ctx.env},{rng.choice(['platform', 'payments', 'data'])}\n"]
    return out


def r_sql(rng, items, ctx):
    out = ["INSERT INTO app_settings (service, name, value) VALUES\n"]
    for i, it in enumerate(items):
        end = ",\n" if i < len(items) - 1 else ";\n"
        out += [f"  ('{ctx.app}', '{it.name}', '", mapped(it.value, lambda s: s.replace("'", "''")),
                "')", end]
    return out


CONFIG_RENDERERS = {
    "dotenv": r_dotenv, "shell": r_shell, "yaml": r_yaml, "json": r_json, "toml": r_toml,
    "ini": r_ini, "properties": r_properties, "docker-compose": r_docker_compose,
    "k8s-secret": r_k8s_secret, "k8s-manifest": r_k8s_manifest,
    "github-actions": r_github_actions, "npmrc": r_npmrc, "python": r_python,
    "javascript": r_javascript, "go": r_go, "java": r_java, "ruby": r_ruby, "php": r_php,
    "terraform": r_terraform, "powershell": r_powershell, "xml": r_xml, "csv": r_csv,
    "sql": r_sql,
}

CODE_LANGS = {"python", "javascript", "go", "java", "ruby", "php", "powershell", "shell"}

# Containers that quote a snippet of another format, and the snippet formats each uses.
PROSE_SNIPPETS = {
    "chat": ["dotenv", "shell", "yaml", "json", "python", "javascript", "docker-compose"],
    "markdown": ["dotenv", "shell", "yaml", "json", "python", "javascript", "toml",
                 "docker-compose", "go"],
    "email": ["dotenv", "yaml", "json"],
    "ticket": ["dotenv", "yaml", "json", "shell", "python"],
    "log": [],
    "stack-trace": ["python", "javascript", "java"],
}
MULTILINE_OK = {"dotenv", "shell", "yaml", "json", "toml", "k8s-secret", "terraform", "python",
                "javascript", "go", "java", "ruby", "php", "powershell", "chat", "markdown",
                "email", "ticket"}
FENCE_LANG = {"dotenv": "env", "shell": "bash", "docker-compose": "yaml", "javascript": "js"}


def snippet(rng, items, ctx, lang):
    return CONFIG_RENDERERS[lang](rng, items, ctx)


def mention(rng, it):
    """A secret named in a sentence rather than assigned."""
    desc = it.desc or it.name
    if is_multiline(it):
        return [desc, ":\n", it.value]
    return [desc, rng.choice([": ", " is ", " = "]), it.value]


def r_chat(rng, items, ctx, lang):
    person = rng.choice(PEOPLE)
    bare = not any(it.raw for it in items) and rng.random() < 0.5
    if bare:
        first = next((it for it in items if has_mark(it.value)), items[0])
        rest = [it for it in items if it is not first]
        if is_multiline(first):
            lines = [[rng.choice(["here's the deploy key, can you add it to the runner?",
                                  "is this the right format?"]), "\n", first.value]]
        else:
            lines = [rng.choice([
                ["here's my token ", first.value, ", why does it 401?"],
                [f"@{person.lower()} can you try with ", first.value, " instead"],
                ["this one works for me: ", first.value],
                ["ok the new ", first.desc or first.name, " is ", first.value,
                 " — old one is revoked"],
                [f"{person}: still getting 403 with ", first.value, " on staging, any idea?"],
            ])]
        for it in rest:
            lines.append(["and ", mention(rng, it)])
        return [[line, "\n"] for line in lines]
    intro = rng.choice(["can someone check why this doesn't work?", "my config for staging:",
                        f"@{person.lower()} this is what I have locally",
                        "pasting the env so you can repro:"])
    return [intro, "\n```\n", snippet(rng, items, ctx, lang), "```\n",
            rng.choice(["", "thanks!", "it worked yesterday", "any ideas?"])]


def r_markdown(rng, items, ctx, lang):
    fence = FENCE_LANG.get(lang, lang)
    title = rng.choice(["## Local setup", "# Getting started", "### Configuration",
                        "## Deploying to staging"])
    intro = rng.choice([f"Copy the following into your `{lang}` config and run `make dev`.",
                        "The service reads these settings at start-up:",
                        "Use the shared credentials below until SSO is ready."])
    out = [title, "\n\n", intro, "\n\n", f"```{fence}\n", snippet(rng, items, ctx, lang), "```\n"]
    if rng.random() < 0.3 and not any(it.raw for it in items):
        out += ["\n| Setting | Value |\n|---|---|\n"]
        out += [[f"| `{it.name}` | `", it.value, "` |\n"] for it in items if not is_multiline(it)]
    return out


def r_email(rng, items, ctx, lang):
    sender, to = rng.sample(PEOPLE, 2)
    out = [f"From: {sender} <{sender.lower()}@{ctx.app.split('-')[0]}.io>\n",
           f"To: {to} <{to.lower()}@{ctx.app.split('-')[0]}.io>\n",
           f"Subject: {rng.choice(['credentials', 'staging access', 'handover', 'Re: API access'])}\n\n",
           f"Hi {to},\n\n",
           rng.choice(["As requested, here are the credentials for the integration:",
                       "Before I leave, the settings you'll need:",
                       "Here is what the vendor sent us:"]), "\n\n"]
    if rng.random() < 0.5:
        for it in items:
            if it.raw:
                out += [f"  {it.name}: ", it.value, "\n"]
            else:
                out += ["  ", mention(rng, it) if rng.random() < 0.4 else [f"{it.name}: ", it.value], "\n"]
    else:
        out += [snippet(rng, items, ctx, lang)]
    out += ["\n", rng.choice(["Please move them to the vault.", "Let me know if it works.",
                              "Don't forward this."]), f"\n\nThanks,\n{sender}\n"]
    return out


def r_ticket(rng, items, ctx, lang):
    key = f"{rng.choice(['OPS', 'SUP', 'INC', 'PLAT'])}-{rng.randint(100, 9999)}"
    out = [f"[{key}] {rng.choice(['Deploy failing', 'Integration returns 401', 'Cannot connect', 'Webhook not firing'])}"
           f" in {ctx.env}\n",
           f"Reporter: {rng.choice(PEOPLE)}  Priority: P{rng.randint(1, 4)}  Component: {ctx.section}\n\n",
           "Description:\n", rng.choice(["Customer pasted their configuration:",
                                         "Env from the failing pod:",
                                         "Steps: start the service with the settings below."]), "\n\n"]
    if rng.random() < 0.3 and not any(it.raw or is_multiline(it) for it in items):
        out += [[mention(rng, it), "\n"] for it in items]
    else:
        out += ["{code}\n", snippet(rng, items, ctx, lang), "{code}\n"]
    out.append(f"\nExpected: 200 from https://{ctx.host}/v1/ping\n")
    return out


def r_log(rng, items, ctx, lang):
    out = []
    json_lines = rng.random() < 0.3
    for it in items:
        ts, level = timestamp(rng), rng.choice(["DEBUG", "INFO", "WARN", "ERROR"])
        if json_lines:
            out += [f'{{"ts":"{ts}","level":"{level.lower()}","logger":"{ctx.section}",'
                    f'"msg":"config loaded","{snake(it.name)}":"', mapped(it.value, jesc),
                    f'","request_id":"{uuid4(rng)}"}}\n']
        elif rng.random() < 0.5:
            out += [f"{ts} {level} [{ctx.section}] loaded setting {it.name}=", it.value, "\n"]
        else:
            out += [f"{ts} {level} [{ctx.section}] ",
                    rng.choice([["request to ", ctx.host, " failed with 401 using ", it.value],
                                ["using ", it.desc or it.name, " ", it.value, f" for {ctx.env}"],
                                ["retrying with credentials ", it.value, " (attempt 2/3)"]]), "\n"]
    return out


def r_stack_trace(rng, items, ctx, lang):
    lead = next((it for it in items if it.group and not it.group.startswith("neg_")),
                next((it for it in items if it.group), items[0]))
    items = [lead] + [it for it in items if it is not lead]
    if lang == "python":
        line = rng.randint(20, 300)
        out = ["Traceback (most recent call last):\n",
               f'  File "/srv/{ctx.app}/app/main.py", line {line}, in <module>\n    main()\n',
               f'  File "/srv/{ctx.app}/app/main.py", line {line - 12}, in main\n',
               f"    client = connect({snake(items[0].name)}=",
               items[0].value if items[0].raw else quoted(items[0], "'"), ")\n",
               f'  File "/usr/lib/python3.11/site-packages/{ctx.section}/client.py", line 88, in connect\n'
               "    raise AuthenticationError(resp.status_code)\n",
               f"{ctx.section}.errors.AuthenticationError: 401\n"]
        if len(items) > 1:
            out.append("\nLocal variables:\n")
            for it in items[1:]:
                out += [f"    {snake(it.name)} = ", it.value if it.raw else quoted(it, "'"), "\n"]
        return out
    if lang == "javascript":
        out = ["AxiosError: Request failed with status code 401\n",
               f"    at settle (/app/node_modules/axios/lib/core/settle.js:19:12)\n",
               f"    at IncomingMessage.handleStreamEnd (/app/node_modules/axios/lib/adapters/http.js:589:11) {{\n",
               "  code: 'ERR_BAD_REQUEST',\n  config: {\n",
               f"    url: 'https://{ctx.host}/v1/{ctx.section}',\n    params: {{\n"]
        for it in items:
            out += [f"      {camel(it.name)}: ", it.value if it.raw else quoted(it, "'"), ",\n"]
        out.append("    },\n  },\n}\n")
        return out
    out = [f'Exception in thread "main" com.{ctx.app.split("-")[0]}.config.ConfigurationException: '
           f"rejected by {ctx.host}\n",
           f"\tat com.{ctx.app.split('-')[0]}.config.Loader.load(Loader.java:{rng.randint(40, 200)})\n",
           f"\tat com.{ctx.app.split('-')[0]}.Main.main(Main.java:{rng.randint(10, 40)})\n",
           "Caused by: java.lang.IllegalStateException: invalid credentials {"]
    for i, it in enumerate(items):
        out += [", " if i else "", f"{dotted(it.name)}=", it.value]
    out.append("}\n\t... 2 more\n")
    return out


PROSE_RENDERERS = {"chat": r_chat, "markdown": r_markdown, "email": r_email,
                   "ticket": r_ticket, "log": r_log, "stack-trace": r_stack_trace}


def render_items(rng, fmt, lang, items, ctx):
    if fmt in PROSE_RENDERERS:
        return PROSE_RENDERERS[fmt](rng, items, ctx, lang)
    return CONFIG_RENDERERS[fmt](rng, items, ctx)


# ---------------------------------------------------------------------------
# Header credentials (Basic and Bearer), in the places requests are written down.

HEADER_FORMATS = ["curl", "curl", "curl", "http", "http", "yaml", "docker-compose", "json", "python", "javascript",
                  "go", "java", "ruby", "php", "powershell", "log", "chat", "markdown",
                  "email", "ticket", "stack-trace"]


def basic_credential(rng):
    user = rng.choice(USERS + ["admin", "api", "grafana-cloud", str(rng.randint(100000, 999999))])
    pw = password(rng)
    return user, pw, b64(f"{user}:{pw}".encode())


def bearer_token(rng):
    return jwt(rng) if rng.random() < 0.35 else opaque_token(rng)


def curl_command(rng, ctx, auth, url=None):
    path = rng.choice(["/v1/orders", "/api/v2/reports?since=2024-01-01", "/v1/invoices/search",
                       "/api/health", "/v3/accounts/me"])
    method = rng.choice(["", "", "-X POST", "-X DELETE"])
    extra = rng.choice(["", f'-H "X-Request-Id: {uuid4(rng)}"', '-H "Accept: application/json"'])
    data = "-d '{\"limit\": 50}'" if "POST" in method else ""
    sep = " \\\n  " if rng.random() < 0.4 else " "
    out = ["curl -sS"]
    for piece in (method, auth, extra, data):
        if piece:
            out += [" ", piece]
    return out + [sep, url or f"https://{ctx.host}{path}"]


def api_key_header(rng, it):
    """The request header a provider expects its key in."""
    name = it.name
    if "ANTHROPIC" in name or "CLAUDE" in name:
        return "x-api-key: "
    if name in ("DD_API_KEY", "DATADOG_API_KEY"):
        return "DD-API-KEY: "
    if name in ("DD_APP_KEY", "DATADOG_APP_KEY"):
        return "DD-APPLICATION-KEY: "
    if name.startswith(("GITHUB", "GH_")):
        return rng.choice(["Authorization: token ", "Authorization: Bearer "])
    if "SHOPIFY" in name:
        return "X-Shopify-Access-Token: "
    if "VAULT" in name:
        return "X-Vault-Token: "
    return rng.choice(["Authorization: Bearer ", "X-Api-Key: ",
                       f"X-{pascal(name.split('_')[0])}-Token: "])


def r_curl(rng, items, ctx):
    """A curl command carrying each key in its header; URLs with credentials are the target."""
    url, flags = None, []
    for it in items:
        v = plain(it.value)
        if v.startswith("http") and url is None:
            url = it.value
        elif "://" in v:
            flags.append(['--data-urlencode "', snake(it.name), "=", it.value, '"'])
        else:
            flags.append(['-H "', api_key_header(rng, it), it.value, '"'])
    auth = [[" " if i else "", flag] for i, flag in enumerate(flags)]
    return curl_command(rng, ctx, auth, url)


CONFIG_RENDERERS["curl"] = r_curl


def header_parts(rng, scheme):
    """(auth value parts, note) for Basic or Bearer."""
    if scheme == "basic":
        user, pw, enc = basic_credential(rng)
        return ["Basic ", Mark(enc)], f"Basic credentials for {user}", (user, pw)
    return ["Bearer ", Mark(bearer_token(rng))], "Bearer token", None


def header_row(rng, fmt, scheme, ctx):
    auth, note, userpass = header_parts(rng, scheme)
    url = f"https://{ctx.host}/v1/{ctx.section}"
    if fmt == "curl":
        if userpass and rng.random() < 0.4:
            user, pw = userpass
            return curl_command(rng, ctx, ["-u ", f"{user}:", Mark(pw)]), note + " via curl -u"
        return curl_command(rng, ctx, ['-H "Authorization: ', auth, '"']), note
    if fmt == "http":
        return [f"{rng.choice(['GET', 'POST'])} /v1/{ctx.section}?page=2 HTTP/1.1\r\n",
                f"Host: {ctx.host}\r\nUser-Agent: python-requests/2.31.0\r\n",
                "Accept: */*\r\nAuthorization: ", auth, "\r\n",
                f"X-Request-Id: {uuid4(rng)}\r\n\r\n"], note
    if fmt == "yaml":
        return ["upstreams:\n", f"  - name: {ctx.section}\n", f"    url: {url}\n",
                "    timeout: 10s\n    headers:\n", "      Accept: application/json\n",
                "      Authorization: ", rng.choice([[auth], ['"', auth, '"']]), "\n"], note
    if fmt == "docker-compose":
        return ["services:\n  otel-collector:\n    image: otel/opentelemetry-collector-contrib:0.98.0\n",
                "    environment:\n",
                f"      - OTEL_EXPORTER_OTLP_ENDPOINT=https://otlp.{ctx.app.split('-')[0]}.io\n",
                "      - OTEL_EXPORTER_OTLP_HEADERS=Authorization=", auth, "\n"], note
    if fmt == "json":
        return ['{\n  "name": "', ctx.section, '",\n  "request": {\n    "method": "GET",\n',
                '    "header": [\n      {"key": "Accept", "value": "application/json"},\n',
                '      {"key": "Authorization", "value": "', auth, '"}\n    ],\n',
                f'    "url": "{url}"\n  }}\n}}\n'], note + " in a Postman collection"
    if fmt == "python":
        return ["import requests\n\n", f'resp = requests.get(\n    "{url}",\n',
                '    headers={"Authorization": "', auth, '"},\n    timeout=10,\n)\n',
                "resp.raise_for_status()\n"], note
    if fmt == "javascript":
        return [f"const res = await fetch('{url}', {{\n",
                "  headers: { Authorization: '", auth, "', Accept: 'application/json' },\n});\n"], note
    if fmt == "go":
        return [f'req, _ := http.NewRequest("GET", "{url}", nil)\n',
                'req.Header.Set("Authorization", "', auth, '")\n',
                "resp, err := http.DefaultClient.Do(req)\n"], note
    if fmt == "java":
        return [f'HttpURLConnection conn = (HttpURLConnection) new URL("{url}").openConnection();\n',
                'conn.setRequestProperty("Authorization", "', auth, '");\n'], note
    if fmt == "ruby":
        return [f'uri = URI("{url}")\nreq = Net::HTTP::Get.new(uri)\n',
                'req["Authorization"] = "', auth, '"\n',
                "res = Net::HTTP.start(uri.host, uri.port, use_ssl: true) { |http| http.request(req) }\n"], note
    if fmt == "php":
        return [f"$ch = curl_init('{url}');\n",
                "curl_setopt($ch, CURLOPT_HTTPHEADER, ['Authorization: ", auth, "']);\n",
                "$body = curl_exec($ch);\n"], note
    if fmt == "powershell":
        return ["$headers = @{ Authorization = '", auth, "' }\n",
                f"Invoke-RestMethod -Uri '{url}' -Headers $headers\n"], note
    if fmt == "log":
        return [f"{timestamp(rng)} DEBUG urllib3.connectionpool: send: b'GET /v1/{ctx.section} HTTP/1.1"
                f"\\r\\nHost: {ctx.host}\\r\\nAuthorization: ", auth,
                "\\r\\nAccept: */*\\r\\n\\r\\n'\n",
                f"{timestamp(rng)} DEBUG urllib3.connectionpool: https://{ctx.host}:443 "
                f'"GET /v1/{ctx.section} HTTP/1.1" 401 54\n'], note + " in a debug log"
    if fmt in ("chat", "markdown", "email", "ticket"):
        cmd = curl_command(rng, ctx, ['-H "Authorization: ', auth, '"'])
        intro = {
            "chat": rng.choice(["why does this return 403?", "works with curl but not from the app:"]),
            "markdown": "## Example request\n\nCall the API with your credentials:",
            "email": f"Hi {rng.choice(PEOPLE)},\n\nYou can test the endpoint with:",
            "ticket": f"[SUP-{rng.randint(100, 9999)}] 401 from {ctx.host}\n\nCustomer runs:",
        }[fmt]
        return [intro, "\n\n```\n" if fmt != "ticket" else "\n{code}\n", cmd,
                "\n```\n" if fmt != "ticket" else "\n{code}\n"], note
    if fmt == "stack-trace":
        return ["AxiosError: Request failed with status code 401\n",
                "    at settle (/app/node_modules/axios/lib/core/settle.js:19:12) {\n",
                "  code: 'ERR_BAD_REQUEST',\n  config: {\n",
                "    headers: Object [AxiosHeaders] {\n      Accept: 'application/json',\n",
                "      Authorization: '", auth, "'\n    },\n",
                f"    url: '{url}',\n    method: 'get'\n  }}\n}}\n"], note
    raise ValueError(fmt)


# ---------------------------------------------------------------------------
# Negative rows that are not assignments: hashes and ids, public keys, prose.

HASH_FORMATS = ["git-log", "dockerfile", "k8s-manifest", "json", "html", "css", "log", "sql",
                "go-sum", "toml", "terraform", "checksums", "http"]


def hash_row(rng, fmt, ctx):
    if fmt == "git-log":
        out = []
        for _ in range(rng.randint(1, 3)):
            out += [f"commit {rstr(rng, HEX, 40)}\nAuthor: {rng.choice(PEOPLE)} <dev@{rng.choice(COMPANIES)}.io>\n",
                    f"Date:   Mon May {rng.randint(1, 28)} 12:{rng.randint(10, 59)}:07 2024 +0200\n\n",
                    f"    {rng.choice(['fix: retry on 503', 'chore: bump deps', 'feat: add export', 'Revert ' + rstr(rng, HEX, 7)])}\n\n"]
        return out, "git commit SHAs"
    if fmt == "dockerfile":
        return [f"FROM node:20-alpine@sha256:{rstr(rng, HEX, 64)} AS build\nWORKDIR /app\n",
                "COPY package*.json ./\nRUN npm ci\n",
                f"FROM gcr.io/distroless/nodejs20-debian12@sha256:{rstr(rng, HEX, 64)}\n",
                "COPY --from=build /app /app\nCMD [\"server.js\"]\n"], "image digests"
    if fmt == "k8s-manifest":
        return ["apiVersion: apps/v1\nkind: Deployment\nmetadata:\n",
                f"  name: {ctx.app}\n  annotations:\n    checksum/config: {rstr(rng, HEX, 64)}\n",
                "spec:\n  template:\n    spec:\n      containers:\n",
                f"        - name: {ctx.section}\n",
                f"          image: ghcr.io/{ctx.app.split('-')[0]}/{ctx.section}@sha256:{rstr(rng, HEX, 64)}\n"], \
            "image digest and config checksum"
    if fmt == "json":
        pkgs = rng.sample(["lodash", "react", "express", "axios", "zod", "chalk", "debug"], 3)
        out = ['{\n  "lockfileVersion": 3,\n  "packages": {\n']
        for i, p in enumerate(pkgs):
            out += [f'    "node_modules/{p}": {{\n      "version": "{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",\n',
                    f'      "resolved": "https://registry.npmjs.org/{p}/-/{p}.tgz",\n',
                    f'      "integrity": "sha512-{b64(rng.randbytes(64))}"\n    }}{"," if i < 2 else ""}\n']
        out.append("  }\n}\n")
        return out, "package-lock integrity hashes"
    if fmt == "html":
        return [f'<script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.min.js" '
                f'integrity="sha384-{b64(rng.randbytes(48))}" crossorigin="anonymous"></script>\n',
                f'<img alt="logo" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{b64(rng.randbytes(rng.randint(60, 240)))}">\n'], \
            "SRI hash and base64 image"
    if fmt == "css":
        out = []
        for sel in rng.sample([".btn-primary", ".navbar", "body", ".alert-danger", ":root", "a:hover"], 3):
            out.append(f"{sel} {{\n  color: #{rstr(rng, HEX, rng.choice([3, 6]))};\n"
                       f"  background-color: #{rstr(rng, HEX, 6)};\n}}\n")
        return out, "CSS colours"
    if fmt == "log":
        out = []
        for _ in range(rng.randint(2, 4)):
            out.append(f"{timestamp(rng)} INFO [{ctx.section}] request_id={uuid4(rng)} "
                       f"trace_id={rstr(rng, HEX, 32)} span_id={rstr(rng, HEX, 16)} "
                       f"status={rng.choice([200, 201, 204, 404])} duration_ms={rng.randint(3, 900)}\n")
        return out, "request and trace ids"
    if fmt == "sql":
        return [f"INSERT INTO orders (id, customer_id, sha, status) VALUES\n",
                f"  ('{uuid4(rng)}', '{uuid4(rng)}', '{rstr(rng, HEX, 40)}', 'paid'),\n",
                f"  ('{uuid4(rng)}', '{uuid4(rng)}', '{rstr(rng, HEX, 40)}', 'refunded');\n"], "UUID ids"
    if fmt == "go-sum":
        out = []
        for mod in rng.sample(["github.com/google/uuid", "golang.org/x/net", "github.com/spf13/cobra",
                               "go.uber.org/zap", "github.com/stretchr/testify"], 3):
            v = f"v{rng.randint(0, 1)}.{rng.randint(1, 30)}.{rng.randint(0, 9)}"
            out += [f"{mod} {v} h1:{b64(rng.randbytes(32))}\n", f"{mod} {v}/go.mod h1:{b64(rng.randbytes(32))}\n"]
        return out, "go.sum module hashes"
    if fmt == "toml":
        out = ["# This file is automatically @generated by Cargo.\nversion = 3\n\n"]
        for crate in rng.sample(["serde", "tokio", "regex", "anyhow", "bytes"], 2):
            out.append(f'[[package]]\nname = "{crate}"\nversion = "1.{rng.randint(0, 40)}.{rng.randint(0, 9)}"\n'
                       'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                       f'checksum = "{rstr(rng, HEX, 64)}"\n\n')
        return out, "Cargo.lock checksums"
    if fmt == "terraform":
        return ['provider "registry.terraform.io/hashicorp/aws" {\n',
                f'  version     = "5.{rng.randint(10, 60)}.0"\n  constraints = "~> 5.0"\n  hashes = [\n',
                f'    "h1:{b64(rng.randbytes(32))}",\n', f'    "zh:{rstr(rng, HEX, 64)}",\n',
                f'    "zh:{rstr(rng, HEX, 64)}",\n  ]\n}}\n'], ".terraform.lock.hcl hashes"
    if fmt == "checksums":
        return [f"{rstr(rng, HEX, 64)}  {ctx.app}_{rng.randint(1, 3)}.{rng.randint(0, 9)}.0_linux_amd64.tar.gz\n",
                f"{rstr(rng, HEX, 64)}  {ctx.app}_{rng.randint(1, 3)}.{rng.randint(0, 9)}.0_darwin_arm64.tar.gz\n"], \
            "SHA-256 checksums file"
    if fmt == "http":
        return ["HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
                f'ETag: "{rstr(rng, HEX, 32)}"\r\nx-amz-request-id: {rstr(rng, UPPER + DIGITS, 16)}\r\n',
                f"x-amz-id-2: {b64(rng.randbytes(48))}\r\nX-Request-Id: {uuid4(rng)}\r\n\r\n"], \
            "ETag and request ids"
    raise ValueError(fmt)


PUBKEY_FORMATS = ["authorized-keys", "pem", "yaml", "json", "terraform", "markdown"]


def public_key_row(rng, fmt, ctx):
    if fmt == "authorized-keys":
        return [[ssh_public_key(rng), "\n"] for _ in range(rng.randint(1, 3))], "SSH public keys"
    if fmt == "pem":
        return ([public_key_pem(rng), "\n"] if rng.random() < 0.5 else [certificate_pem(rng), "\n"]), \
            "public key or certificate"
    if fmt == "yaml":
        if rng.random() < 0.5:
            return ["#cloud-config\nusers:\n  - name: deploy\n    ssh_authorized_keys:\n",
                    f"      - {ssh_public_key(rng)}\n"], "cloud-init authorized key"
        cert = certificate_pem(rng).replace("\n", "\n    ")
        return ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ca-bundle\ndata:\n  ca.crt: |\n    ",
                cert, "\n"], "CA certificate in a ConfigMap"
    if fmt == "json":
        n = b64url(b"\xc1" + rng.randbytes(255))
        return ['{"keys":[{"kty":"RSA","use":"sig","alg":"RS256",', f'"kid":"{rstr(rng, HEX, 16)}",',
                f'"n":"{n}","e":"AQAB"}}]}}\n'], "JWKS public key"
    if fmt == "terraform":
        return ['resource "aws_key_pair" "deployer" {\n  key_name   = "deployer"\n',
                f'  public_key = "{ssh_public_key(rng)}"\n}}\n'], "SSH public key in aws_key_pair"
    if fmt == "markdown":
        return ["## Deploy key\n\nAdd this public key to the repository's deploy keys:\n\n```\n",
                ssh_public_key(rng), "\n```\n"], "public deploy key in docs"
    raise ValueError(fmt)


PROSE_FORMATS = ["chat", "email", "markdown", "ticket", "log"]
PROSE_LINES = [
    "Rotate the API key every 90 days.",
    "The token expired, so I generated a new one in the dashboard.",
    "Never commit passwords to the repository; use the secrets manager instead.",
    "Password: must be at least 12 characters and contain a digit.",
    "API key: see the 'Production' entry in 1Password.",
    "If the secret leaks, revoke it immediately and notify #security.",
    "The client secret is shown only once when you create the app.",
    "Set GITHUB_TOKEN in the repository settings under Secrets and variables.",
    "Your session token is stored in an HttpOnly cookie.",
    "Private keys must never leave the HSM.",
    "Use a personal access token instead of your password for git over HTTPS.",
    "The webhook signing secret is used to verify the payload signature.",
    "Who has the credentials for the staging database?",
    "We moved all connection strings to Vault last sprint.",
    "Bearer tokens are validated against the JWKS endpoint.",
    "Reset your password via the 'Forgot password' link.",
]


def prose_row(rng, fmt, ctx):
    lines = rng.sample(PROSE_LINES, rng.randint(1, 3))
    if fmt == "log":
        return [[f"{timestamp(rng)} WARN [{ctx.section}] ", rng.choice([
            "token expired, refreshing", "password rotation due in 3 days",
            "API key missing for provider, skipping", "secret not found: falling back to defaults",
            "invalid credentials (redacted)"]), "\n"] for _ in range(rng.randint(1, 3))], "log messages about secrets"
    body = " ".join(lines)
    if fmt == "email":
        return [f"Subject: Security reminder\n\nHi all,\n\n{body}\n\nThanks,\n{rng.choice(PEOPLE)}\n"], \
            "prose about secrets"
    if fmt == "ticket":
        return [f"[SEC-{rng.randint(100, 999)}] Credential hygiene\n\n{body}\n"], "prose about secrets"
    if fmt == "markdown":
        return ["## Secrets\n\n" + "\n".join(f"- {line}" for line in lines) + "\n"], "prose about secrets"
    return [body + "\n"], "prose about secrets"


# ---------------------------------------------------------------------------
# Groups.

ALL_ASSIGN_FORMATS = (sorted(set(CONFIG_RENDERERS) - {"npmrc"}) + sorted(PROSE_RENDERERS)
                      + ["curl"])


@dataclass
class Group:
    name: str
    rows: int
    maker: object = None            # item maker for assignment-style rows
    formats: tuple = ()
    template: object = None         # row maker for template rows
    langs: tuple = ()               # snippet formats allowed inside prose containers


def assign_group(name, rows, maker, formats=None, langs=None):
    return Group(name, rows, maker=maker, formats=tuple(formats or ALL_ASSIGN_FORMATS),
                 langs=tuple(langs or ()))


PEM_FORMATS = sorted(MULTILINE_OK - {"k8s-manifest"}) + ["pem"]
ENV_DEFAULT_FORMATS = list(ENV_DEFAULT_LANGS) + ["chat", "markdown", "stack-trace"]
REF_FORMATS = list(REF_LANGS) + ["chat", "markdown", "stack-trace"]

POSITIVE_GROUPS = [
    assign_group("aws", 110, p_aws),
    assign_group("github", 110, p_github),
    assign_group("github_fine_grained", 50, p_github_fine_grained),
    assign_group("gitlab", 55, p_gitlab),
    assign_group("slack", 60, p_slack),
    assign_group("slack_webhook", 45, p_slack_webhook),
    assign_group("stripe", 80, p_stripe),
    assign_group("openai", 65, p_openai),
    assign_group("anthropic", 55, p_anthropic),
    assign_group("google_api", 55, p_google_api),
    assign_group("sendgrid", 45, p_sendgrid),
    assign_group("twilio", 50, p_twilio),
    assign_group("npm", 55, p_npm, ALL_ASSIGN_FORMATS + ["npmrc"] * 6),
    assign_group("pypi", 45, p_pypi),
    assign_group("datadog", 55, p_datadog),
    assign_group("new_relic", 45, p_new_relic),
    assign_group("mailgun", 45, p_mailgun),
    assign_group("shopify", 45, p_shopify),
    assign_group("vault", 45, p_vault),
    assign_group("heroku", 40, p_heroku),
    assign_group("jwt", 80, p_jwt),
    assign_group("private_key", 100, p_private_key, PEM_FORMATS + ["pem"] * 4),
    assign_group("db_url", 120, p_db_url, [f for f in ALL_ASSIGN_FORMATS if f != "curl"]),
    assign_group("url_credentials", 60, p_url_credentials),
    assign_group("assignment_named", 200, p_assignment_named),
    assign_group("env_default", 160, p_env_default, ENV_DEFAULT_FORMATS,
                 langs=[lang for lang in ENV_DEFAULT_LANGS if lang in CODE_LANGS]),
    Group("basic_auth", 110, formats=tuple(HEADER_FORMATS),
          template=lambda rng, fmt, ctx: header_row(rng, fmt, "basic", ctx)),
    Group("bearer", 110, formats=tuple(HEADER_FORMATS),
          template=lambda rng, fmt, ctx: header_row(rng, fmt, "bearer", ctx)),
]

NEGATIVE_GROUPS = [
    assign_group("neg_docs_example", 230, n_docs_example),
    assign_group("neg_placeholder", 380, n_placeholder),
    assign_group("neg_public_token", 180, n_public_token),
    assign_group("neg_reference", 330, n_reference, REF_FORMATS,
                 langs=[lang for lang in REF_LANGS if lang in CODE_LANGS]),
    Group("neg_hash_id", 380, formats=tuple(HASH_FORMATS), template=hash_row),
    Group("neg_public_key", 180, formats=tuple(PUBKEY_FORMATS), template=public_key_row),
    Group("neg_prose", 200, formats=tuple(PROSE_FORMATS), template=prose_row),
]

GROUPS = {g.name: g for g in POSITIVE_GROUPS + NEGATIVE_GROUPS}

# Secondary values mixed into assignment rows: another secret, or a decoy.
SECONDARY_SECRETS = [g.name for g in POSITIVE_GROUPS
                     if g.maker and g.name not in ("env_default", "private_key")]
DECOYS = ["neg_docs_example", "neg_placeholder", "neg_public_token", "neg_reference"]


def pick_lang(rng, group, fmt):
    """The format that quoted snippets and code expressions are written in."""
    if fmt == "stack-trace" and group.langs:
        return "python"
    if fmt in PROSE_RENDERERS:
        choices = PROSE_SNIPPETS[fmt]
        if group.langs:
            choices = [c for c in choices if c in group.langs] or list(group.langs)
        return rng.choice(choices) if choices else fmt
    return fmt


def supports(maker_group, lang):
    if maker_group == "env_default":
        return lang in ENV_DEFAULT_LANGS
    if maker_group == "neg_reference":
        return lang in REF_LANGS
    return True


def describe(items):
    return ", ".join(sorted({it.group for it in items if it.group}))


def assign_row(rng, group, fmt):
    ctx = new_ctx(rng)
    lang = pick_lang(rng, group, fmt)
    items = group.maker(rng, lang)
    if fmt not in MULTILINE_OK and fmt != "pem":
        items = [it for it in items if not is_multiline(it)]
    primary_split = split_of(fmt, group.name)
    multiline = any(is_multiline(it) for it in items)

    def allowed(name):
        return (primary_split == "holdout" or name not in HOLDOUT_GROUPS) and supports(name, lang)

    extras, roles = [], []
    if fmt != "pem" and not (multiline and fmt not in MULTILINE_OK):
        r = rng.random()
        if r < 0.30:
            choices = [d for d in DECOYS if d != group.name and allowed(d)]
            if choices:
                decoy = GROUPS[rng.choice(choices)]
                extras += [it for it in decoy.maker(rng, lang)
                           if fmt in MULTILINE_OK or not is_multiline(it)]
                roles.append("decoy")
        elif r < 0.50 and group in POSITIVE_GROUPS:
            choices = [s for s in SECONDARY_SECRETS if s != group.name and allowed(s)]
            extras += GROUPS[rng.choice(choices)].maker(rng, lang)
            roles.append("second secret")
    if fmt == "pem":
        return [items[0].value, "\n"], f"{items[0].group} as a bare PEM file"
    if fmt not in ("log", "chat", "csv", "sql", "curl") and rng.random() < 0.8:
        extras += noise_items(rng, rng.randint(1, 4))
    all_items = items + extras
    rng.shuffle(all_items)
    # Multi-line values cannot be written in line-oriented containers.
    if fmt not in MULTILINE_OK:
        assert not any(is_multiline(it) for it in all_items), (group.name, fmt)
    parts = render_items(rng, fmt, lang, all_items, ctx)
    note = f"{describe(items)} in {fmt}" + (f" ({lang} snippet)" if lang != fmt else "")
    others = describe(extras)
    if others:
        note += f"; with {others}"
    return parts, note


def build_rows(seed):
    rng = random.Random(seed)
    rows = []
    for group in POSITIVE_GROUPS + NEGATIVE_GROUPS:
        for _ in range(group.rows):
            fmt = rng.choice(group.formats)
            if group.template:
                parts, note = group.template(rng, fmt, new_ctx(rng))
            else:
                parts, note = assign_row(rng, group, fmt)
            row = make_row(parts, fmt, group.name, note)
            expect_positive = group in POSITIVE_GROUPS
            assert row["label"] == 1 or not expect_positive, (group.name, row["text"])
            rows.append(row)
    rng.shuffle(rows)
    return rows



if __name__ == "__main__":
    import common

    common.main(__doc__, build_rows)
