//! Production logs: a scored, line-based detector. A line scores on the signals log lines carry
//! (a timestamp, a level, a request or trace id, key=value fields) or on being a stack frame from
//! Java, Python, Go, Rust or Node. A block of such lines makes the text production logs when the
//! share of log lines reaches the policy's threshold.

use regex::Regex;

pub struct LogDetector {
    timestamp: Regex,
    level: Regex,
    request_id: Regex,
    key_value: Regex,
    frame: Regex,
    /// Share of non-empty lines that must look like log lines, in [0, 1].
    threshold: f64,
    /// Fewest log lines that count as logs at all.
    min_lines: usize,
}

/// Words whose presence (found by the scanner's keyword pass) makes running this detector worth it.
pub const HINTS: &[&str] = &[
    "INFO",
    "WARN",
    "ERROR",
    "DEBUG",
    "TRACE",
    "FATAL",
    "CRITICAL",
    "level=",
    "Traceback",
    "Exception",
    "panicked at",
    "goroutine ",
    "\tat ",
    "    at ",
];

fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests below.
    Regex::new(pattern).unwrap_or_else(|e| panic!("log detector pattern {pattern}: {e}"))
}

impl LogDetector {
    pub fn new(threshold: f64, min_lines: usize) -> Self {
        Self {
            timestamp: re(
                r"(?-u)^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}|\[?[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}|\d{2}:\d{2}:\d{2}[.,]\d{3}|[IWEF]\d{4} \d{2}:\d{2}:\d{2})",
            ),
            level: re(
                r"(?-u)(?:\b(?:INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL|CRITICAL|NOTICE)\b|\blevel=(?:info|warn|warning|error|debug|trace|fatal)\b)",
            ),
            request_id: re(
                r"(?i-u)\b(?:request|req|trace|span|correlation|x-request)[_\-]?id\b\s*[=:]|\b(?:req|trace)_[A-Za-z0-9]{8,}",
            ),
            key_value: re(r"(?-u:\b)[a-z_][a-z0-9_.]{1,30}=\S+"),
            frame: re(
                r#"^(?:\s+at [\w.$<>/]+\(.*(?:\.java|\.kt|\.scala|Native Method|Unknown Source).*\)|\s*File "[^"]+", line \d+|Traceback \(most recent call last\):|goroutine \d+ \[|\s+/[\w./\-]+\.go:\d+|thread '.*' panicked at|\s+\d+: [\w:<>]+|\s+at [\w./<>\s\[\]]*\(?[\w./\-:\\]+:\d+:\d+\)?|[\w.]+(?:Exception|Error): )"#,
            ),
            threshold,
            min_lines,
        }
    }

    fn line_score(&self, line: &str) -> f64 {
        if self.frame.is_match(line) {
            return 1.0;
        }
        let mut score = 0.0;
        if self.timestamp.is_match(line) {
            score += 0.45;
        }
        if self.level.is_match(line) {
            score += 0.35;
        }
        if self.request_id.is_match(line) {
            score += 0.2;
        }
        if self.key_value.find_iter(line).take(3).count() >= 3 {
            score += 0.2;
        }
        score
    }

    /// The span (first log line's start, last log line's end) when `text` is production logs.
    pub fn detect(&self, text: &str) -> Option<(usize, usize)> {
        let mut nonempty = 0usize;
        let mut log_lines = 0usize;
        let mut span: Option<(usize, usize)> = None;
        let mut offset = 0usize;
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let content = line.trim_end_matches(['\n', '\r']);
            if content.trim().is_empty() {
                continue;
            }
            nonempty += 1;
            if self.line_score(content) >= 0.6 {
                log_lines += 1;
                let end = start + content.len();
                span = Some(span.map_or((start, end), |(s, _)| (s, end)));
            }
        }
        let share = if nonempty == 0 {
            0.0
        } else {
            log_lines as f64 / nonempty as f64
        };
        (log_lines >= self.min_lines && share >= self.threshold)
            .then_some(span)
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> LogDetector {
        LogDetector::new(0.5, 2)
    }

    #[test]
    fn recognises_common_log_formats_and_stack_traces() {
        let cases = [
            "2026-11-20T10:15:32.123Z INFO  api request_id=abc123 path=/v1/orders status=200 dur=12ms\n2026-11-20T10:15:33.001Z ERROR api request_id=abc124 db timeout host=db-1",
            "Nov 20 10:15:32 web-1 nginx[123]: ERROR upstream timed out\nNov 20 10:15:33 web-1 nginx[123]: WARN retrying",
            "Exception in thread \"main\" java.lang.NullPointerException: boom\n\tat com.acme.Orders.load(Orders.java:42)\n\tat com.acme.Main.main(Main.java:7)",
            "Traceback (most recent call last):\n  File \"/app/main.py\", line 10, in <module>\n    run()\n  File \"/app/main.py\", line 6, in run\nValueError: bad",
            "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1d\nexit status 2",
            "thread 'main' panicked at src/main.rs:4:5:\nboom\nstack backtrace:\n   0: std::panicking::begin_panic\n   1: app::main",
            "TypeError: x is not a function\n    at Object.<anonymous> (/app/index.js:3:9)\n    at Module._compile (node:internal/modules/cjs/loader:1256:14)",
        ];
        for c in cases {
            assert!(d().detect(c).is_some(), "not recognised:\n{c}");
        }
    }

    #[test]
    fn prose_and_code_are_not_logs() {
        let cases = [
            "Please summarise the error handling section of our design doc.\nWe want INFO about retries.",
            "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}",
            "Meeting notes 2026-11-20: discussed the release.\nAction items follow.",
        ];
        for c in cases {
            assert!(d().detect(c).is_none(), "false positive:\n{c}");
        }
    }

    #[test]
    fn the_span_covers_the_log_lines_only() {
        let text = "Here is what I saw:\n2026-11-20 10:15:32 ERROR svc req_id=9 failed\n2026-11-20 10:15:33 INFO svc req_id=9 retried\n";
        let (s, e) = d().detect(text).expect("logs");
        assert!(text[s..e].starts_with("2026-11-20"));
        assert!(text[s..e].ends_with("retried"));
    }
}
