//! One GET of an Actuator endpoint: retries with exponential backoff and
//! jitter, a cap on the body, and a reason a person can act on when it fails.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use reqwest::{Client, StatusCode, Url};

use crate::settings::HealthSettings;

/// What Actuator is asked for: its v3/v2 JSON, or plain JSON from 1.x.
const ACCEPT_ACTUATOR: &str = "application/vnd.spring-boot.actuator.v3+json, application/vnd.spring-boot.actuator.v2+json, application/json";

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// An HTTP answer, whatever its status.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    /// The status code of the last attempt.
    pub(crate) status: StatusCode,
    /// The body, at most `max_body_bytes`.
    pub(crate) body: Vec<u8>,
    /// How many attempts were made.
    pub(crate) attempts: u32,
}

/// No HTTP answer: why, and after how many attempts.
#[derive(Clone, Debug)]
pub(crate) struct Failed {
    pub(crate) failure: Failure,
    pub(crate) attempts: u32,
}

/// Why a request got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing listens at the address.
    Refused { address: String },
    /// The host name does not resolve.
    Dns { host: String, detail: String },
    /// The TLS handshake failed (certificate, protocol).
    Tls { host: String, detail: String },
    /// No complete answer within the timeout.
    Timeout { after: Duration },
    /// A redirect leads back to a URL already visited.
    RedirectLoop { to: String },
    /// More redirects than allowed.
    TooManyRedirects { max: usize },
    /// The body is larger than the cap.
    TooLarge { max: usize },
    /// Another connection problem.
    Connect { detail: String },
    /// Anything else (connection closed early, malformed HTTP, ...).
    Other { detail: String },
}

impl Failure {
    /// Worth another attempt: connection errors and timeouts.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            Failure::Refused { .. }
                | Failure::Dns { .. }
                | Failure::Timeout { .. }
                | Failure::Connect { .. }
                | Failure::Other { .. }
        )
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tries = attempts(self.attempts);
        match &self.failure {
            Failure::Refused { address } => {
                write!(f, "connection refused by `{address}` ({tries})")
            }
            Failure::Dns { host, detail } => {
                write!(f, "DNS lookup of `{host}` failed ({tries}): {detail}")
            }
            Failure::Tls { host, detail } => {
                write!(f, "TLS handshake with `{host}` failed: {detail}")?;
                if detail.contains("InvalidContentType") {
                    f.write_str("; does it speak plain `http://`?")?;
                }
                Ok(())
            }
            Failure::Timeout { after } => {
                write!(f, "timed out after {} ({tries})", format_duration(*after))
            }
            Failure::RedirectLoop { to } => {
                write!(f, "redirect loop: redirected back to `{to}`")
            }
            Failure::TooManyRedirects { max } => write!(f, "more than {max} redirects"),
            Failure::TooLarge { max } => {
                write!(f, "body is larger than {}", format_bytes(*max))
            }
            Failure::Connect { detail } => write!(f, "cannot connect ({tries}): {detail}"),
            Failure::Other { detail } => write!(f, "request failed ({tries}): {detail}"),
        }
    }
}

/// `1 attempt`, `3 attempts`.
pub(crate) fn attempts(n: u32) -> String {
    if n == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{n} attempts")
    }
}

/// `2s`, `500ms`, `1m30s`: the matrix's own notation.
pub(crate) fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 || !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let seconds = millis / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = String::new();
    for (amount, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if amount > 0 {
            out.push_str(&format!("{amount}{unit}"));
        }
    }
    out
}

/// `1 MiB`, `64 KiB`, `100 bytes`.
fn format_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error a redirect policy returns on a loop.
#[derive(Debug)]
struct RedirectLoop(Url);

impl fmt::Display for RedirectLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redirect loop back to {}", self.0)
    }
}

impl StdError for RedirectLoop {}

/// The error a redirect policy returns past the limit.
#[derive(Debug)]
struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many redirects")
    }
}

impl StdError for TooManyRedirects {}

/// Follows at most `max` redirects and stops at the first one that leads
/// back to a URL of the chain.
pub(crate) fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().contains(attempt.url()) {
            let to = attempt.url().clone();
            attempt.error(RedirectLoop(to))
        } else if attempt.previous().len() > max {
            // `previous` starts with the original URL, which is no redirect.
            attempt.error(TooManyRedirects)
        } else {
            attempt.follow()
        }
    })
}

/// GETs `url` up to `1 + retries` times: again after a connection error, a
/// timeout or a 5xx other than 503, with exponential backoff and jitter.
pub(crate) async fn get(
    client: &Client,
    settings: &HealthSettings,
    url: &Url,
    authorization: Option<&HeaderValue>,
) -> Result<Answer, Failed> {
    let total = settings.retries.saturating_add(1);
    let mut attempt = 1;
    loop {
        let outcome = once(client, settings, url, authorization).await;
        let again = attempt < total
            && match &outcome {
                Ok((status, _)) => {
                    status.is_server_error() && *status != StatusCode::SERVICE_UNAVAILABLE
                }
                Err(failure) => failure.is_transient(),
            };
        if !again {
            return match outcome {
                Ok((status, body)) => Ok(Answer {
                    status,
                    body,
                    attempts: attempt,
                }),
                Err(failure) => Err(Failed {
                    failure,
                    attempts: attempt,
                }),
            };
        }
        tokio::time::sleep(backoff(settings.backoff_base, attempt)).await;
        attempt += 1;
    }
}

/// The pause after attempt `n` (1-based): `base × 2ⁿ⁻¹`, capped, jittered
/// uniformly between half and all of it.
fn backoff(base: Duration, n: u32) -> Duration {
    let full = base
        .saturating_mul(2_u32.saturating_pow(n.saturating_sub(1)))
        .min(MAX_BACKOFF);
    let half = full / 2;
    let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=spread))
}

/// One attempt, the body read in chunks up to the cap.
async fn once(
    client: &Client,
    settings: &HealthSettings,
    url: &Url,
    authorization: Option<&HeaderValue>,
) -> Result<(StatusCode, Vec<u8>), Failure> {
    let mut request = client
        .get(url.clone())
        .header(ACCEPT, HeaderValue::from_static(ACCEPT_ACTUATOR));
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value.clone());
    }
    let classify = |error: reqwest::Error| classify(&error, url, settings);
    let mut response = request.send().await.map_err(classify)?;
    let status = response.status();
    let max = settings.max_body_bytes;
    let too_large = Failure::TooLarge { max };
    if response
        .content_length()
        .is_some_and(|length| length > max as u64)
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > max {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// The errors behind `error`, outermost first. An `io::Error` is opened
/// with `get_ref`: its `source` skips the error it wraps.
fn chain<'e>(
    error: &'e (dyn StdError + 'static),
) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// Sorts a reqwest error into a [`Failure`].
fn classify(error: &reqwest::Error, url: &Url, settings: &HealthSettings) -> Failure {
    let host = url.host_str().unwrap_or_default().to_owned();
    let innermost = chain(error)
        .last()
        .map(ToString::to_string)
        .unwrap_or_default();
    if let Some(RedirectLoop(to)) = chain(error).find_map(|e| e.downcast_ref::<RedirectLoop>()) {
        return Failure::RedirectLoop { to: shown_url(to) };
    }
    if chain(error).any(|e| e.is::<TooManyRedirects>()) {
        return Failure::TooManyRedirects {
            max: settings.max_redirects,
        };
    }
    if error.is_timeout() {
        return Failure::Timeout {
            after: settings.timeout,
        };
    }
    if error.is_dns() {
        return Failure::Dns {
            host,
            detail: innermost,
        };
    }
    let io_kinds: Vec<std::io::ErrorKind> = chain(error)
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind)
        .collect();
    if io_kinds.contains(&std::io::ErrorKind::ConnectionRefused) {
        let port = url.port_or_known_default().unwrap_or_default();
        return Failure::Refused {
            address: format!("{host}:{port}"),
        };
    }
    let text = chain(error)
        .map(|e| e.to_string().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    let tls_words = ["certificate", "tls", "handshake", "rustls", "alert"];
    let tls = tls_words.iter().any(|w| text.contains(w))
        || (url.scheme() == "https"
            && error.is_connect()
            && io_kinds.contains(&std::io::ErrorKind::InvalidData));
    if tls {
        return Failure::Tls {
            host,
            detail: innermost,
        };
    }
    if error.is_connect() {
        Failure::Connect { detail: innermost }
    } else {
        Failure::Other { detail: innermost }
    }
}

/// A URL as shown to people: any password in it replaced by `***`.
pub(crate) fn shown_url(url: &Url) -> String {
    if url.password().is_some() {
        let mut shown = url.clone();
        if shown.set_password(Some("***")).is_ok() {
            return shown.to_string();
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_matrix() {
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
    }

    #[test]
    fn sizes() {
        assert_eq!(format_bytes(1 << 20), "1 MiB");
        assert_eq!(format_bytes(64 << 10), "64 KiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_a_cap() {
        let base = Duration::from_millis(200);
        for _ in 0..100 {
            let first = backoff(base, 1);
            assert!(
                first >= Duration::from_millis(100) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, 3);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(800));
            assert!(backoff(base, 40) <= MAX_BACKOFF);
        }
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        let url = Url::parse("http://user:pa55@host/actuator").expect("url");
        assert_eq!(shown_url(&url), "http://user:***@host/actuator");
        let plain = Url::parse("http://host/actuator").expect("url");
        assert_eq!(shown_url(&plain), "http://host/actuator");
    }
}
