//! Durations as the matrix and the command line write them (`500ms`, `2s`,
//! `1m30s`, `1h`), read and written through `humantime`.
//!
//! The accepted grammar is narrower than humantime's on purpose: one or more
//! `<digits><unit>` with the unit `ms`, `s`, `m` or `h`, and nothing else, so
//! that `60` (no unit), `5 s` (a space), `0` or `1.5s` stay errors as they
//! always were. humantime does the arithmetic and its overflow checks.

use std::time::Duration;

/// The units accepted, longest first so that `ms` is not read as `m`.
const UNITS: [&str; 4] = ["ms", "s", "m", "h"];

/// Reads a duration such as `500ms`, `2s`, `1m`, `1h`, or `1m30s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() || !well_formed(text) {
        return None;
    }
    humantime::parse_duration(text).ok()
}

/// `<digits><unit>` repeated, units from [`UNITS`], nothing in between.
fn well_formed(mut rest: &str) -> bool {
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if !UNITS.contains(&&rest[..unit_len]) {
            return false;
        }
        rest = &rest[unit_len..];
    }
    true
}

/// A duration the way it is read: `60s` stays `1m`, `1.5s` is `1s500ms`,
/// `250ms`; whole units only, largest first, no spaces (humantime's
/// format without its separators). Zero is `0s`.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration)
        .to_string()
        .replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_rejected() {
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration(" 2s "), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1s500ms"), Some(Duration::from_millis(1500)));
        for rejected in [
            "60", "s", "", "5 s", "0", "1.5s", "2min", "1d", "-1s", "2sec",
        ] {
            assert_eq!(parse_duration(rejected), None, "{rejected}");
        }
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn formatted_compactly() {
        assert_eq!(format_duration(Duration::from_secs(1)), "1s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        for text in ["500ms", "2s", "1m30s", "1h"] {
            let parsed = parse_duration(text).expect("accepted");
            assert_eq!(parse_duration(&format_duration(parsed)), Some(parsed));
        }
    }
}
