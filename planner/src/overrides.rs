//! `--current SERVICE=VERSION` and `--target SERVICE=VERSION`: pick releases
//! from the command line without editing the matrix.

use semver::Version;

use crate::matrix::{Located, Matrix};

/// Releases chosen on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `(service, version)` pairs replacing `current`.
    pub current: Vec<(String, String)>,
    /// `(service, version)` pairs replacing `target`.
    pub target: Vec<(String, String)>,
}

impl Overrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.target.is_empty()
    }
}

/// An override that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// No such service.
    #[error("`--{field} {service}=…`: the matrix has no service `{service}`{}", hint(.suggestion))]
    UnknownService {
        /// `current` or `target`.
        field: &'static str,
        /// The service named.
        service: String,
        /// "did you mean `payments`?", when a service has a close name.
        suggestion: Option<String>,
    },
    /// Not a semantic version.
    #[error("`--{field} {service}={version}`: `{version}` is not a semantic version ({reason})")]
    InvalidVersion {
        /// `current` or `target`.
        field: &'static str,
        /// The service named.
        service: String,
        /// The text given.
        version: String,
        /// What semver said.
        reason: String,
    },
    /// Not among the service's releases.
    #[error(
        "`--{field} {service}={version}`: `{service}` has no release {version} (known: {known}){}",
        hint(.suggestion)
    )]
    UnknownRelease {
        /// `current` or `target`.
        field: &'static str,
        /// The service named.
        service: String,
        /// The version given.
        version: String,
        /// The releases the matrix lists.
        known: String,
        /// "did you mean `2.0.0`?", when a release is one digit away.
        suggestion: Option<String>,
    },
}

/// `; did you mean …?` after a message, or nothing.
fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map_or_else(String::new, |s| format!("; {s}"))
}

/// Applies `overrides` to `matrix`. Positions stay those of the original
/// fields (or of the service, for a target the file did not have).
pub fn apply_overrides(matrix: &mut Matrix, overrides: &Overrides) -> Result<(), OverrideError> {
    for (field, pairs) in [
        ("current", &overrides.current),
        ("target", &overrides.target),
    ] {
        for (name, text) in pairs {
            let names = matrix.services.keys().map(String::as_str);
            let suggestion = crate::suggest::did_you_mean(name, names);
            let service =
                matrix
                    .services
                    .get_mut(name)
                    .ok_or_else(|| OverrideError::UnknownService {
                        field,
                        service: name.clone(),
                        suggestion,
                    })?;
            let version = Version::parse(text).map_err(|e| OverrideError::InvalidVersion {
                field,
                service: name.clone(),
                version: text.clone(),
                reason: e.to_string(),
            })?;
            if !service.releases.contains_key(&version) {
                let known = service
                    .releases
                    .keys()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(OverrideError::UnknownRelease {
                    field,
                    service: name.clone(),
                    version: text.clone(),
                    known,
                    suggestion: crate::suggest::did_you_mean_release(text, service.releases.keys()),
                });
            }
            if field == "current" {
                service.current.value = version;
            } else {
                let span = service.target.as_ref().map_or(service.span, |t| t.span);
                service.target = Some(Located::new(version, span));
            }
        }
    }
    Ok(())
}
