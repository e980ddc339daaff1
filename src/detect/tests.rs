//! Detector cases: each rule finds what it should and leaves near-misses alone.

use super::*;

fn scanner() -> Scanner {
    let mut specs = secret_rules().expect("rules parse");
    for class in PII_CLASSES {
        specs.push(pii_rule(class, true).expect("known class"));
    }
    specs.push(RuleSpec {
        id: "production_logs".into(),
        class: "production_logs".into(),
        matcher: Matcher::Logs {
            threshold: 0.5,
            min_lines: 2,
        },
    });
    Scanner::new(specs).expect("scanner builds")
}

/// The rule ids found in `text`, with the matched values.
fn found(s: &Scanner, text: &str) -> Vec<(String, String)> {
    s.scan(text)
        .into_iter()
        .map(|d| (s.rule(d.rule).id.clone(), text[d.start..d.end].to_string()))
        .collect()
}

fn assert_finds(s: &Scanner, text: &str, rule: &str, value: &str) {
    let f = found(s, text);
    assert!(
        f.iter().any(|(r, v)| r == rule && v == value),
        "expected {rule} = {value:?} in {text:?}, found {f:?}"
    );
}

#[test]
fn secret_rules_find_provider_tokens() {
    let s = scanner();
    let b62 = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3vW5xY7zA9bC1dE3fG5hJ7kL9mN1pQ3rS5tU7vW9xY1zA3bC5dE7fG9";
    let hex64 = "3f2a9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e";
    let cases: Vec<(String, &str, String)> = vec![
        ("key AKIAIOSFODNN7EXAMPL3 here".to_string(), "secrets.aws_access_key_id", "AKIAIOSFODNN7EXAMPL3".into()),
        ("aws_secret_access_key = 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".to_string(), "secrets.aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq3vKEYd81".into()),
        (format!("token ghp_{}", &b62[..36]), "secrets.github_pat", format!("ghp_{}", &b62[..36])),
        (format!("github_pat_{}", &b62[..82]), "secrets.github_fine_grained_pat", format!("github_pat_{}", &b62[..82])),
        (format!("glpat-{}", &b62[..20]), "secrets.gitlab_pat", format!("glpat-{}", &b62[..20])),
        (format!("SLACK=xoxb-482910375216-5820374619283-{}", &b62[..24]), "secrets.slack_token", format!("xoxb-482910375216-5820374619283-{}", &b62[..24])),
        (format!("sk_live_{}", &b62[..24]), "secrets.stripe_secret_key", format!("sk_live_{}", &b62[..24])),
        (format!("AIza{}", &b62[..35]), "secrets.gcp_api_key", format!("AIza{}", &b62[..35])),
        (format!("sk-ant-api03-{}AA", &b62[..93]), "secrets.anthropic_api_key", format!("sk-ant-api03-{}AA", &b62[..93])),
        (format!("OPENAI_API_KEY=sk-proj-{}", &b62[..48]), "secrets.openai_api_key", format!("sk-proj-{}", &b62[..48])),
        (format!("hf_{}", "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"), "secrets.huggingface_token", "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH".into()),
        (format!("SG.{}.{}", &b62[..22], &b62[22..65]), "secrets.sendgrid_api_key", format!("SG.{}.{}", &b62[..22], &b62[22..65])),
        (format!("npm_{}", &b62[..36]), "secrets.npm_token", format!("npm_{}", &b62[..36])),
        (format!("dop_v1_{hex64}"), "secrets.digitalocean_token", format!("dop_v1_{hex64}")),
        (format!("shpat_{}", &hex64[..32]), "secrets.shopify_token", format!("shpat_{}", &hex64[..32])),
        ("DATABASE_URL=postgres://app:S3cr3t-P4ss@db.internal:5432/prod".into(), "secrets.database_url_password", "S3cr3t-P4ss".into()),
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U".into(), "secrets.jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U".into()),
        ("client_secret: \"Zq8vN2xR7mK4pL9wT3yB6cF1\"".into(), "secrets.generic_secret_assignment", "Zq8vN2xR7mK4pL9wT3yB6cF1".into()),
        ("https://hooks.slack.com/services/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".into(), "secrets.slack_webhook_url", "hooks.slack.com/services/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".into()),
        ("AGE-SECRET-KEY-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHCE".into(), "secrets.age_secret_key", "AGE-SECRET-KEY-1QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7LQPZRY9X8GF2TVDW0S3JN54KHCE".into()),
        // Credentials in headers, named only by their variable, and defaults after an
        // environment lookup.
        ("curl -H 'Authorization: Basic ZGVwbG95OlpxOHZOMnhSN21LNA==' https://api.internal".into(), "secrets.authorization_basic", "ZGVwbG95OlpxOHZOMnhSN21LNA==".into()),
        ("headers:\n  Authorization: \"Bearer q8vN2xR7mK4pL9wT3yB6cF1dH5jS0aZ2\"".into(), "secrets.authorization_bearer", "q8vN2xR7mK4pL9wT3yB6cF1dH5jS0aZ2".into()),
        ("curl -u deploy:Zq8vN2xR7mK4 https://ci.internal/api".into(), "secrets.curl_user_password", "Zq8vN2xR7mK4".into()),
        ("DD_APP_KEY=3f2a9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a4f3e".into(), "secrets.datadog_api_key", "3f2a9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a4f3e".into()),
        ("TWILIO_AUTH_TOKEN = \"9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a\"".into(), "secrets.generic_secret_assignment", "9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a".into()),
        ("new_relic_license_key: a1b2c3d4e5f60718293a4b5c6d7e8f90e2c4b7d9".into(), "secrets.generic_secret_assignment", "a1b2c3d4e5f60718293a4b5c6d7e8f90e2c4b7d9".into()),
        ("token = os.environ.get(\"API_TOKEN\", \"q8vN2xR7mK4pL9wT3yB6\")".into(), "secrets.env_default", "q8vN2xR7mK4pL9wT3yB6".into()),
        ("const key = process.env.PAYMENTS_KEY || 'Zq8vN2xR7mK4pL9w';".into(), "secrets.env_default", "Zq8vN2xR7mK4pL9w".into()),
        ("SECRET_KEY=${SECRET_KEY:-Zq8vN2xR7mK4pL9wT3}".into(), "secrets.env_default", "Zq8vN2xR7mK4pL9wT3".into()),
        ("db_password = \"Winter2024!corp\"".into(), "secrets.password_assignment", "Winter2024!corp".into()),
        (format!("my old key was sk-{} sorry", &b62[..48]), "secrets.openai_api_key_legacy", format!("sk-{}", &b62[..48])),
    ];
    for (text, rule, value) in cases {
        assert_finds(&s, &text, rule, &value);
    }
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----";
    assert_finds(&s, &format!("key:\n{pem}\n"), "secrets.private_key", pem);
}

#[test]
fn secret_near_misses_are_left_alone() {
    let s = scanner();
    let clean = [
        "commit 3f2a9c8e1b7d6a5f4e3c2b1a0f9e8d7c6b5a4f3e fixed the bug",
        "id: 123e4567-e89b-12d3-a456-426614174000",
        "\"integrity\": \"sha512-Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4\"",
        "password: changeme",
        "token = \"aaaaaaaaaaaaaaaaaaaaaaaa\"",
        "AKIAlowercase is not a key",
        "ghp_short",
        "connect to postgres://db.internal:5432/prod without credentials",
        "Set the API key in the ANTHROPIC_API_KEY environment variable.",
        // Documented examples, placeholders, public tokens, references with no value.
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "api_key: your-api-key-here",
        "token: <YOUR_TOKEN>",
        "client_secret = ${CLIENT_SECRET}",
        "password: {{ .Values.db.password }}",
        "NPM_TOKEN: ${{ secrets.NPM_TOKEN }}",
        "DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/db",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "STRIPE_PUBLISHABLE_KEY=pk_live_51HbQ2vK2mQ9xW4pL8nT3yB6cF1dH5jS0a",
        "const token = process.env.GITHUB_TOKEN;",
        "api_key = settings.API_KEY",
        "access_token = fetch_access_token_from_vault()",
        "password: ********",
        "Authorization: Bearer $GITHUB_TOKEN",
        "Authorization: Bearer <token>",
        "Basic authentication is disabled; use a bearer token instead.",
        "os.getenv(\"PORT\", \"8080\")",
    ];
    for text in clean {
        let f = found(&s, text);
        assert!(
            f.iter().all(|(r, _)| !r.starts_with("secrets.")),
            "{text:?}: {f:?}"
        );
    }
}

#[test]
fn pii_rules_validate_what_they_match() {
    let s = scanner();
    assert_finds(
        &s,
        "mail jane.doe+work@example.co.uk today",
        "pii.email",
        "jane.doe+work@example.co.uk",
    );
    assert_finds(
        &s,
        "card 4539 1488 0343 6467 exp 12/29",
        "pii.credit_card",
        "4539 1488 0343 6467",
    );
    assert_finds(
        &s,
        "IBAN DE89 3704 0044 0532 0130 00.",
        "pii.iban",
        "DE89 3704 0044 0532 0130 00",
    );
    // A one-letter word after the number is not part of it (a greedy pattern would take it
    // and then fail the length check).
    assert_finds(
        &s,
        "pay BE68539007547034 A/C 7",
        "pii.iban",
        "BE68539007547034",
    );
    assert_finds(&s, "SSN 123-45-6789", "pii.ssn", "123-45-6789");
    assert_finds(
        &s,
        "call +44 20 7946 0958 now",
        "pii.phone",
        "+44 20 7946 0958",
    );
    assert_finds(&s, "call (415) 555-0132", "pii.phone", "(415) 555-0132");
    assert_finds(&s, "from 203.0.113.42 at", "pii.ip_address", "203.0.113.42");

    let near_misses = [
        ("card 4539 1488 0343 6468", "pii.credit_card"), // Luhn fails
        ("test card 4242 4242 4242 4242", "pii.credit_card"), // allowed test number
        ("IBAN DE89 3704 0044 0532 0130 01", "pii.iban"),
        ("SSN 666-45-6789", "pii.ssn"),
        ("version 1.2.300.4", "pii.ip_address"),
        ("user@localhost", "pii.email"),
    ];
    for (text, rule) in near_misses {
        let f = found(&s, text);
        assert!(f.iter().all(|(r, _)| r != rule), "{text:?}: {f:?}");
    }
}

#[test]
fn context_words_lower_confidence_below_a_finding() {
    let s = scanner();
    assert_finds(
        &s,
        "client 203.0.113.42 connected",
        "pii.ip_address",
        "203.0.113.42",
    );
    for text in [
        "upgrade to version 10.2.3.4 today",
        "build 4.1.20.7 failed",
        "order 555-123-4567 shipped",
    ] {
        let f = found(&s, text);
        assert!(
            f.iter()
                .all(|(r, _)| r != "pii.ip_address" && r != "pii.phone"),
            "{text:?}: {f:?}"
        );
    }
    assert_finds(&s, "call me on 555-123-4567", "pii.phone", "555-123-4567");
    // Only whole words count: a context word inside another word rules nothing out.
    assert_finds(&s, "server 10.1.2.3 is down", "pii.ip_address", "10.1.2.3");
    for text in [
        "Shannon: 555-123-4567",
        "avoid calling 555-123-4567 after nine",
        "reach me via 555-123-4567",
        "the reorder desk, 555-123-4567",
    ] {
        assert_finds(&s, text, "pii.phone", "555-123-4567");
    }
    // Every context word, in either case, anywhere in the bytes looked back over.
    assert_finds(&s, "see 10.2.3.4 here", "pii.ip_address", "10.2.3.4");
    for w in NOT_PII_CONTEXT {
        for text in [
            format!("see {w} 10.2.3.4 here"),
            format!("SEE {} 10.2.3.4 HERE", w.to_ascii_uppercase()),
            format!("{w}: x 10.2.3.4"),
        ] {
            let f = found(&s, &text);
            assert!(
                f.iter().all(|(r, _)| r != "pii.ip_address"),
                "{text:?}: {f:?}"
            );
        }
    }
}

#[test]
fn test_card_numbers_count_when_the_policy_says_so() {
    let s = Scanner::new(vec![pii_rule("pii.credit_card", false).expect("rule")]).expect("builds");
    assert_finds(
        &s,
        "4242 4242 4242 4242",
        "pii.credit_card",
        "4242 4242 4242 4242",
    );
}

#[test]
fn words_match_whole_words_case_insensitively() {
    let s = Scanner::new(vec![RuleSpec {
        id: "customer_id.names".into(),
        class: "customer_id".into(),
        matcher: Matcher::Words {
            words: vec!["Globex Corporation".into(), "Initech".into()],
        },
    }])
    .expect("builds");
    assert_finds(
        &s,
        "ticket from initech about billing",
        "customer_id.names",
        "initech",
    );
    assert_finds(
        &s,
        "GLOBEX CORPORATION called",
        "customer_id.names",
        "GLOBEX CORPORATION",
    );
    assert!(found(&s, "initechnology is different").is_empty());
}

#[test]
fn bad_rules_are_reported_with_their_id() {
    let err = Scanner::new(vec![RuleSpec {
        id: "custom.broken".into(),
        class: "custom.broken".into(),
        matcher: Matcher::Free {
            regex: "([a-z".into(),
            validator: Validator::None,
        },
    }])
    .expect_err("bad regex");
    assert!(err.to_string().contains("custom.broken"), "{err}");
}

#[test]
fn every_shipped_rule_compiles() {
    let rules = secret_rules().expect("parses");
    assert!(rules.len() >= 80, "{} rules", rules.len());
    Scanner::new(rules).expect("all compile");
}

#[test]
fn personal_data_is_found_at_every_offset_among_other_numbers() {
    // Long enough for the automaton's four lanes; each value at every offset of a filler full
    // of digits, letters glued to digits and near-misses, so that lane boundaries, runs that
    // start inside a token and runs inside an earlier match are all crossed.
    let s = scanner();
    let cases = [
        ("pii.credit_card", "4539 1488 0343 6467"),
        ("pii.credit_card", "4539148803436467"),
        ("pii.iban", "DE89 3704 0044 0532 0130 00"),
        ("pii.ssn", "123-45-6789"),
        ("pii.phone", "+44 20 7946 0958"),
        ("pii.phone", "(415) 555-0132"),
        ("pii.ip_address", "203.0.113.42"),
    ];
    let filler = "step 12 of x3, id a19b7 at 2024-01-15 12:30; 4111 1111 1111 1112 x7 ";
    for (rule, value) in cases {
        for pad in (0..filler.len()).step_by(7) {
            let text = format!(
                "{}{} {value} {}",
                filler.repeat(20),
                &filler[..pad],
                filler.repeat(3)
            );
            let hits: Vec<(String, String)> = found(&s, &text)
                .into_iter()
                .filter(|(r, _)| r == rule)
                .collect();
            assert_eq!(
                hits,
                vec![(rule.to_string(), value.to_string())],
                "pad {pad}"
            );
        }
    }
}

/// IBANs from the registry's examples, compact, across country lengths.
const VALID_IBANS: &[&str] = &[
    "NO9386011117947",
    "BE68539007547034",
    "NL91ABNA0417164300",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "MT84MALT011000012345MTLCAST001S",
    "LC55HEMM000100010012001200023015",
];

#[test]
fn iban_checksums_hold_for_every_country_length() {
    // Valid examples (the registry's own) and the same with one digit changed.
    for &iban in VALID_IBANS {
        assert!(validate::iban(iban), "{iban}");
        let mut broken = iban.as_bytes().to_vec();
        broken[6] = if broken[6] == b'1' { b'2' } else { b'1' };
        let broken = String::from_utf8(broken).expect("ascii");
        assert!(!validate::iban(&broken), "{broken}");
    }
}

mod iban_by_hand {
    use super::*;
    use proptest::prelude::*;

    /// What the IBAN regex and its validator make of `text` from offset 0.
    fn by_regex(text: &str) -> Option<usize> {
        let spec = pii_rule("pii.iban", false).expect("rule");
        let Matcher::Free { regex, .. } = spec.matcher else {
            unreachable!("the IBAN rule is a keywordless pattern")
        };
        let re = regex::Regex::new(&format!("^(?:{regex})")).expect("regex");
        re.find(text)
            .filter(|m| validate::iban(m.as_str()))
            .map(|m| m.end())
    }

    proptest! {
        /// Whenever the regex and its validator accept a span, the hand-written matcher takes
        /// exactly that span, whatever the spacing and whatever follows. It may also find the
        /// IBAN where the regex cannot: the regex's optional last group swallows a following
        /// short word (`BE68539007547034 A`) and the validator then rejects the whole; the
        /// hand matcher stops at the country's length. What it finds is always the IBAN itself.
        #[test]
        fn agrees_with_the_regex(
            which in 0..VALID_IBANS.len(),
            spaces in proptest::collection::vec(any::<bool>(), 8),
            stray_space in proptest::option::of(5usize..30),
            tail in "[A-Za-z0-9 _.,\\-]{0,6}",
        ) {
            let compact = VALID_IBANS[which];
            let mut text = String::new();
            for (i, c) in compact.chars().enumerate() {
                if i > 0 && i % 4 == 0 && spaces[i / 4 - 1] {
                    text.push(' ');
                }
                if stray_space == Some(i) {
                    text.push(' ');
                }
                text.push(c);
            }
            text.push_str(&tail);
            let by_hand = numeric::iban(text.as_bytes(), 0)
                .filter(|&end| validate::iban(&text[..end]));
            if let Some(end) = by_regex(&text) {
                prop_assert_eq!(by_hand, Some(end), "{:?}", text);
            }
            if let Some(end) = by_hand {
                prop_assert_eq!(text[..end].replace(' ', ""), compact, "{:?}", text);
            }
        }
    }
}

mod numeric_by_hand {
    use super::*;
    use proptest::prelude::*;
    use regex_automata::{Anchored, Input};

    /// Numbers shaped like cards, SSNs, addresses and phone numbers, each group a digit
    /// shorter or longer than the rule allows as often as not, and the bytes that join or end
    /// them (a word byte right after a number is no boundary).
    fn part() -> impl Strategy<Value = String> {
        let number = prop_oneof![
            "[2-6][0-9]{2,4}([ -]?[0-9]{3,5}){2}[ -]?[0-9]{1,8}",
            "3[47][0-9]{1,3}[ -]?[0-9]{5,7}[ -]?[0-9]{4,6}",
            "[0-9]{3,4}-[0-9]{2,3}-[0-9]{4,5}",
            "[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}",
            "\\(?[0-9]{2,4}[).\\- ]{0,2}[0-9]{2,4}[.\\- ][0-9]{3,5}",
            "\\([0-9]{3}\\) ?[0-9]{3}[.\\-][0-9]{4}",
            "\\+[0-9]{1,4}[ .\\-]?\\(?[0-9]{1,4}\\)?[ .\\-]?[0-9]{1,5}([ .\\-]?[0-9]{1,5}){0,4}",
            "[0-9]{1,8}",
        ];
        let joint = prop_oneof![
            Just(" "),
            Just(""),
            Just("a"),
            Just("_"),
            Just("."),
            Just("-"),
            Just(", "),
        ];
        (joint, number).prop_map(|(j, d)| format!("{j}{d}"))
    }

    /// Each numeric rule with its regex and its hand-written shape, built once for all cases.
    static SHAPES: std::sync::LazyLock<Vec<(&str, regex_automata::meta::Regex, numeric::Shape)>> =
        std::sync::LazyLock::new(|| {
            ["pii.credit_card", "pii.ssn", "pii.ip_address", "pii.phone"]
                .into_iter()
                .map(|class| {
                    let Some(RuleSpec {
                        matcher: Matcher::Free { regex, validator },
                        ..
                    }) = pii_rule(class, false)
                    else {
                        unreachable!("the numeric rules are keywordless patterns")
                    };
                    let re = regex_automata::meta::Regex::new(&regex).expect("regex");
                    let shape = numeric::Shape::of(&validator, &regex)
                        .expect("a numeric rule")
                        .expect("builds");
                    (class, re, shape)
                })
                .collect()
        });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// At every start in the text, each hand-written shape ends where its rule's regex,
        /// anchored there, ends (or both find nothing).
        #[test]
        fn every_shape_ends_where_its_regex_ends(
            parts in proptest::collection::vec(part(), 1..5),
            tail in "[ a_.\\-]?",
        ) {
            let text = format!("{}{tail}", parts.concat());
            for (class, re, shape) in SHAPES.iter() {
                for start in 0..text.len() {
                    let input = Input::new(&text).span(start..text.len()).anchored(Anchored::Yes);
                    let want = re.search(&input).map(|m| m.end());
                    prop_assert_eq!(
                        shape.match_at(&text, start),
                        want,
                        "{} at {} in {:?}",
                        class,
                        start,
                        text
                    );
                }
            }
        }
    }
}

#[test]
fn national_phone_numbers_are_found_by_their_regions_numbering_plans() {
    let s = scanner();
    for (text, value) in [
        ("Telefon: 030 12345678", "030 12345678"),
        ("Mobil 0157-51817970 (abends)", "0157-51817970"),
        ("bel 06-12345678 of mail", "06-12345678"),
        ("Ligue para (11) 91234-5678 hoje", "(11) 91234-5678"),
        ("電話 03-1234-5678 まで", "03-1234-5678"),
        ("Appelez le 06 12 34 56 78.", "06 12 34 56 78"),
        ("call me on 98765 43210", "98765 43210"),
        ("ring 020 7946 0958 today", "020 7946 0958"),
        ("Llámame al 612 34 56 78", "612 34 56 78"),
        ("chiama 0039 011 2273267", "0039 011 2273267"),
    ] {
        assert_finds(&s, text, "pii.phone", value);
    }
    // Shaped like a number, but a date, a range, an ISBN, a version, a reference.
    for text in [
        "Built 2024 05 06 1830 on the runner.",
        "ports 50000-30100 are open",
        "ISBN 978-3-16-148410-0",
        "version 10.0.19041.1",
        "case #555-0141-10 closed",
        "order 2024-439747 shipped",
        "total 12.345.678 rows",
        "Rendez-vous le 04.04.2024 18 h",
    ] {
        let f = found(&s, text);
        assert!(f.iter().all(|(r, _)| r != "pii.phone"), "{text:?}: {f:?}");
    }
}

#[test]
fn a_policy_can_narrow_the_regions_national_numbers_are_checked_against() {
    let only_us: PhoneRegions = vec!["US".parse().expect("region")].into();
    let s = Scanner::new(vec![
        pii_rule_with("pii.phone", false, only_us).expect("rule"),
    ])
    .expect("builds");
    assert!(found(&s, "Telefon: 030 12345678").is_empty());
    assert_eq!(found(&s, "call 415 555 0132").len(), 1);
}

#[test]
fn ipv6_addresses_spaced_ssns_and_other_card_groupings_are_found() {
    let s = scanner();
    for (text, rule, value) in [
        (
            "from fe80::1ff:fe23:4567:890a on eth0",
            "pii.ip_address",
            "fe80::1ff:fe23:4567:890a",
        ),
        (
            "GET http://[2001:db8::42]:8080/",
            "pii.ip_address",
            "2001:db8::42",
        ),
        (
            "peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334.",
            "pii.ip_address",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        ),
        ("SSN: 123 45 6789", "pii.ssn", "123 45 6789"),
        ("social security number 123456789", "pii.ssn", "123456789"),
        (
            "Diners 3056 930902 5904 exp 09/27",
            "pii.credit_card",
            "3056 930902 5904",
        ),
        (
            "Maestro 6759 6498 2643 8453 128",
            "pii.credit_card",
            "6759 6498 2643 8453 128",
        ),
    ] {
        assert_finds(&s, text, rule, value);
    }
    for text in [
        "mac 00:1a:2b:3c:4d:5e",
        "at 12:34:56 the job ran",
        "std::vector<int> v2;",
        "zip 123456789 for the parcel",
        "loopback ::1 only",
    ] {
        let f = found(&s, text);
        assert!(
            f.iter()
                .all(|(r, _)| r != "pii.ip_address" && r != "pii.ssn"),
            "{text:?}: {f:?}"
        );
    }
}

#[test]
fn four_part_versions_in_a_version_column_are_not_addresses() {
    let s = scanner();
    let csv = "package,version,host\nwarden,1.12.0.3,10.1.2.3\nagent,2.0.10.4,10.1.2.4\n";
    let ips: Vec<String> = found(&s, csv)
        .into_iter()
        .filter(|(r, _)| r == "pii.ip_address")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ips, ["10.1.2.3", "10.1.2.4"]);
}
