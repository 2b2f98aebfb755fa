//! The shape of the Actuator URLs in `deploy` (`health`, `live_health`):
//! `http://` or `https://` with a host, no credentials, and where a bearer
//! token would travel in the clear. Passwords never appear in what is said.

use std::net::IpAddr;

use url::Url;

/// What is wrong with an Actuator URL, or worth a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    /// Not an `http(s)://` URL with a host; the text says what was found
    /// (never the URL itself, which may hold a password).
    Invalid(String),
    /// A user name or password in the URL; the URL shown with the password
    /// as `***`, and the user info to remove (`user:***@`).
    Credentials {
        /// The URL with any password replaced by `***`.
        shown: String,
        /// `user:***@` or `user@`.
        user_info: String,
    },
    /// Plain `http://` to this host, which is not loopback.
    PlainHttp(String),
}

/// The problems of `text` as an Actuator base URL; `token` tells whether a
/// bearer token is sent to it (`defaults.health.token_env` is set).
pub(crate) fn url_problems(text: &str, token: bool) -> Vec<UrlProblem> {
    if !text.contains("://") {
        return vec![UrlProblem::Invalid(
            "no `http://` or `https://` before the host".to_owned(),
        )];
    }
    let url = match Url::parse(text.trim()) {
        Ok(url) => url,
        Err(error) => {
            return vec![UrlProblem::Invalid(format!(
                "text that is not a URL ({error})"
            ))];
        }
    };
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return vec![UrlProblem::Invalid(format!("scheme `{scheme}`"))];
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()).map(str::to_owned) else {
        return vec![UrlProblem::Invalid("no host".to_owned())];
    };
    let mut problems = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        let mut shown = url.clone();
        let user_info = match url.password() {
            Some(_) => {
                // Setting a password cannot fail on a URL that has one.
                let _ = shown.set_password(Some("***"));
                format!("{}:***@", url.username())
            }
            None => format!("{}@", url.username()),
        };
        problems.push(UrlProblem::Credentials {
            shown: shown.to_string(),
            user_info,
        });
    }
    if token && scheme == "http" && !is_loopback(&url) {
        problems.push(UrlProblem::PlainHttp(host));
    }
    problems
}

/// `localhost`, 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls_have_no_problems() {
        for url in [
            "https://shop-test.internal:8443/orders/actuator",
            "http://shop-test.internal/actuator",
            "http://127.0.0.1:8080/actuator",
            "http://127.3.4.5/actuator",
            "http://[::1]:8080/actuator",
            "http://LOCALHOST/actuator",
        ] {
            assert_eq!(url_problems(url, false), [], "{url}");
        }
        for url in [
            "https://shop-test.internal/actuator",
            "http://localhost:8080/actuator",
            "http://127.0.0.1/actuator",
            "http://[::1]/actuator",
        ] {
            assert_eq!(url_problems(url, true), [], "{url}");
        }
    }

    #[test]
    fn invalid_urls_say_what_was_found() {
        assert_eq!(
            url_problems("ftp://host/actuator", false),
            [UrlProblem::Invalid("scheme `ftp`".to_owned())]
        );
        assert_eq!(
            url_problems("file:///actuator", false),
            [UrlProblem::Invalid("scheme `file`".to_owned())]
        );
        assert_eq!(
            url_problems("shop-test.internal:8443/actuator", false),
            [UrlProblem::Invalid(
                "no `http://` or `https://` before the host".to_owned()
            )]
        );
        assert_eq!(
            url_problems("http://", false),
            [UrlProblem::Invalid(
                "text that is not a URL (empty host)".to_owned()
            )]
        );
        let no_scheme = url_problems("admin:s3cr3t@host/actuator", false);
        assert!(
            !format!("{no_scheme:?}").contains("s3cr3t"),
            "{no_scheme:?}"
        );
    }

    #[test]
    fn credentials_are_found_and_never_shown() {
        let problems = url_problems("https://admin:s3cr3t@host/actuator", false);
        assert_eq!(
            problems,
            [UrlProblem::Credentials {
                shown: "https://admin:***@host/actuator".to_owned(),
                user_info: "admin:***@".to_owned(),
            }]
        );
        assert!(!format!("{problems:?}").contains("s3cr3t"));
        let problems = url_problems("http://admin@host/actuator", false);
        assert!(
            matches!(&problems[..], [UrlProblem::Credentials { user_info, .. }] if user_info == "admin@")
        );
        let broken = url_problems("http://admin:s3cr3t@/actuator", false);
        assert!(!format!("{broken:?}").contains("s3cr3t"), "{broken:?}");
    }

    #[test]
    fn a_token_over_plain_http_is_flagged_unless_loopback() {
        assert_eq!(
            url_problems("http://shop-test.internal:8443/actuator", true),
            [UrlProblem::PlainHttp("shop-test.internal".to_owned())]
        );
        assert_eq!(
            url_problems("http://10.0.0.1/actuator", true),
            [UrlProblem::PlainHttp("10.0.0.1".to_owned())]
        );
    }
}
