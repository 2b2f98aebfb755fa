//! Semantic checks of a matrix: names and ownership, releases that exist, and
//! compatibility of the current and the target state.

use crate::fast::HashMap;
use std::convert::Infallible;

use crate::compat::{Catalog, Mismatch, State, state_mismatches};
use crate::deployment::{deploy_doc, describe_missing, missing_facts};
use crate::diagnostic::{Code, Diagnostic, sort_diagnostics};
use crate::matrix::{Limits, Matrix, Service, source_file};
use crate::overrides::{OverrideError, Overrides, apply_overrides};
use crate::source::SourceFile;

/// The outcome of reading and checking a matrix.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The file.
    pub source: SourceFile,
    /// The model, when the document could be read at all.
    pub matrix: Option<Matrix>,
    /// Every problem found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Validated {
    /// No errors (warnings are allowed).
    pub fn is_valid(&self) -> bool {
        self.matrix.is_some() && !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The matrix, only when it is valid.
    pub fn valid_matrix(&self) -> Option<&Matrix> {
        self.matrix.as_ref().filter(|_| self.is_valid())
    }
}

/// Reads and checks the bytes of the matrix file at `path`.
pub fn validate_bytes(path: &str, bytes: &[u8], limits: &Limits) -> Validated {
    match read_and_check(path, bytes, limits, |_| Ok::<(), Infallible>(())) {
        Ok(validated) => validated,
        Err(never) => match never {},
    }
}

/// Reads the matrix, applies command-line release overrides, then checks it.
pub fn validate_with_overrides(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
    overrides: &Overrides,
) -> Result<Validated, OverrideError> {
    read_and_check(path, bytes, limits, |matrix| {
        apply_overrides(matrix, overrides)
    })
}

/// Loads, reads, edits (when the document could be read) and checks.
fn read_and_check<E>(
    path: &str,
    bytes: &[u8],
    limits: &Limits,
    edit: impl FnOnce(&mut Matrix) -> Result<(), E>,
) -> Result<Validated, E> {
    let source = match source_file(path, bytes, limits) {
        Ok(source) => source,
        Err(unreadable_file) => {
            let (source, diagnostic) = *unreadable_file;
            return Ok(unreadable(source, diagnostic));
        }
    };
    let (mut matrix, mut diagnostics) = match crate::matrix::read::read_matrix(&source, limits) {
        Ok(read) => read,
        Err(diagnostic) => return Ok(unreadable(source, *diagnostic)),
    };
    if let Some(matrix) = &mut matrix {
        edit(matrix)?;
        diagnostics.extend(check(matrix));
    }
    sort_diagnostics(&mut diagnostics);
    Ok(Validated {
        source,
        matrix,
        diagnostics,
    })
}

/// The outcome for a document that could not be read at all.
fn unreadable(source: SourceFile, diagnostic: Diagnostic) -> Validated {
    Validated {
        source,
        matrix: None,
        diagnostics: vec![diagnostic],
    }
}

/// Every semantic problem of a structurally read matrix.
pub fn check(matrix: &Matrix) -> Vec<Diagnostic> {
    let mut diagnostics = crate::matrix::deploy_checks::check_deploy(matrix);
    check_ownership(matrix, &mut diagnostics);
    let catalog = Catalog::new(matrix);
    let mut releases_ok = true;
    for service in matrix.services.values() {
        releases_ok &= check_releases(matrix, service, &mut diagnostics);
        check_consumed_names(&catalog, service, &mut diagnostics);
    }
    check_executable(matrix, &mut diagnostics);
    let mut broken = Vec::new();
    if releases_ok {
        for state in [State::Current, State::Target] {
            let unread = &matrix.unread;
            for mismatch in state_mismatches(&catalog, state) {
                // A service partly unread is in no state that can be judged.
                if !unread.service(&mismatch.consumer) && !unread.service(&mismatch.provider) {
                    broken.push(mismatch.requirement_span);
                    diagnostics.push(state_diagnostic(state, &mismatch));
                }
            }
        }
    }
    // A requirement a broken state already points at gets that error alone.
    diagnostics.extend(unsatisfiable(&catalog).filter(|d| !broken.contains(&d.primary.span)));
    diagnostics
}

/// `unsatisfiable-requirement` warnings: requirements (every alternative)
/// that no declared release of the provider meets, so no order of switches
/// could ever satisfy them.
fn unsatisfiable<'c>(catalog: &'c Catalog) -> impl Iterator<Item = Diagnostic> + 'c {
    let matrix = catalog.matrix();
    matrix.services.values().flat_map(move |consumer| {
        consumer.releases.values().flat_map(move |release| {
            catalog
                .requirements(consumer, release)
                .filter_map(move |requirement| {
                    let provider = requirement.provider.service;
                    if matrix.unread.service(&provider.name) || provider.releases.is_empty() {
                        return None;
                    }
                    let offered = |r| Catalog::offered_slice(provider, r, requirement.api);
                    if provider
                        .releases
                        .values()
                        .any(|r| requirement.consumed.accepts_any(offered(r)))
                    {
                        return None;
                    }
                    let offers: Vec<String> = provider
                        .releases
                        .values()
                        .map(|r| {
                            crate::describe::offer(
                                &r.version.to_string(),
                                requirement.api,
                                offered(r),
                                false,
                            )
                        })
                        .collect();
                    Some(
                        Diagnostic::warning(
                            Code::UnsatisfiableRequirement,
                            requirement.consumed.span,
                            format!(
                                "`{}` {} needs `{}` {}, which no release of `{}` provides: {}",
                                consumer.name,
                                release.version,
                                requirement.api,
                                requirement.consumed.describe(),
                                provider.name,
                                offers.join("; ")
                            ),
                        )
                        .with_label("no declared release satisfies this")
                        .with_secondary(provider.span, format!("`{}` is defined here", provider.name))
                        .with_hint(format!(
                            "widen the requirement, or declare the release of `{}` that provides it",
                            provider.name
                        )),
                    )
                })
        })
    })
}

/// One `not-executable` warning per changing service that `execute` would
/// refuse, naming every missing fact at once: the executor's own test,
/// [`missing_facts`], on the facts the plan document would carry.
fn check_executable(matrix: &Matrix, diagnostics: &mut Vec<Diagnostic>) {
    for service in matrix.changing() {
        // An unreadable `deploy`, or a target that is not a release, is the
        // problem to fix first (reported already).
        if matrix.unread.deploys.contains(&service.name)
            || service.release(service.target_version()).is_none()
        {
            continue;
        }
        let missing = missing_facts(deploy_doc(matrix, service).as_ref());
        if missing.is_empty() {
            continue;
        }
        diagnostics.push(
            Diagnostic::warning(
                Code::NotExecutable,
                service.span,
                format!(
                    "`execute` could not carry out `{}` {} → {}: {}",
                    service.name,
                    service.current.value,
                    service.target_version(),
                    describe_missing(&missing)
                ),
            )
            .with_label("changes, but cannot be switched")
            .with_hint(format!(
                "add {} to its `deploy` to switch it with `cutover execute`; `validate` and `plan` work without",
                if missing.len() == 1 { "it" } else { "them" }
            )),
        );
    }
}

fn state_diagnostic(state: State, mismatch: &Mismatch) -> Diagnostic {
    let (code, name) = match state {
        State::Current => (Code::IncompatibleCurrentState, "current"),
        State::Target => (Code::IncompatibleTargetState, "target"),
    };
    Diagnostic::error(
        code,
        mismatch.requirement_span,
        format!(
            "in the {name} state, {}; {}",
            mismatch.describe(),
            mismatch.describe_offer()
        ),
    )
    .with_label(format!(
        "`{}` {} requires this",
        mismatch.consumer, mismatch.consumer_version
    ))
    .with_secondary(
        mismatch.provider_span,
        format!(
            "`{}` {} is defined here",
            mismatch.provider, mismatch.provider_version
        ),
    )
    .with_hint(match state {
        State::Current => {
            "the running releases already disagree: fix the matrix to describe what runs today"
                .to_owned()
        }
        State::Target => format!(
            "let `{}` {} also provide a matching `{}` version, or widen the requirement of `{}` {}",
            mismatch.provider,
            mismatch.provider_version,
            mismatch.api,
            mismatch.consumer,
            mismatch.consumer_version
        ),
    })
}

fn check_ownership(matrix: &Matrix, diagnostics: &mut Vec<Diagnostic>) {
    let mut owners: HashMap<&str, (&str, crate::yaml::Span)> = HashMap::default();
    for service in matrix.services_in_document_order() {
        for release in service.releases.values() {
            for (api, provided) in &release.provides {
                if let Some(named) = matrix.services.get(api.as_str()) {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::ApiNamedLikeService,
                            provided.span,
                            format!("`{}` {} provides an API named `{api}`, which is also a service name", service.name, release.version),
                        )
                        .with_label("API named like a service")
                        .with_secondary(named.span, format!("service `{api}` is defined here"))
                        .with_hint(format!("every service already provides an API named after itself; rename the API, e.g. `{api}-api`")),
                    );
                    continue;
                }
                match owners.get(api.as_str()) {
                    Some((owner, first)) if *owner != service.name => diagnostics.push(
                        Diagnostic::error(
                            Code::DuplicateApi,
                            provided.span,
                            format!(
                                "API `{api}` is provided by both `{owner}` and `{}`",
                                service.name
                            ),
                        )
                        .with_label(format!("also provided by `{owner}`"))
                        .with_secondary(*first, format!("`{owner}` provides it here"))
                        .with_hint("each API belongs to exactly one service; rename one of them"),
                    ),
                    Some(_) => {}
                    None => {
                        owners.insert(api, (&service.name, provided.span));
                    }
                }
            }
        }
    }
}

/// Reports `current`/`target` that are not releases; false when one is
/// missing. A service with an unreadable release is not judged: the missing
/// one may be it.
fn check_releases(matrix: &Matrix, service: &Service, diagnostics: &mut Vec<Diagnostic>) -> bool {
    // A suggestion among the releases, never the other field's release (a
    // `target` equal to `current` is no change, not a typo of one).
    let known = |value: &semver::Version, other: Option<&semver::Version>| {
        let list: Vec<String> = service.releases.keys().map(|v| format!("`{v}`")).collect();
        let candidates = service.releases.keys().filter(|v| Some(*v) != other);
        match crate::suggest::did_you_mean_release(&value.to_string(), candidates) {
            _ if list.is_empty() => "no releases are listed".to_owned(),
            Some(close) => format!("{close} known releases: {}", list.join(", ")),
            None => format!("known releases: {}", list.join(", ")),
        }
    };
    let mut ok = true;
    let target = service.target.as_ref();
    for (field, located, other) in [
        ("current", Some(&service.current), target.map(|t| &t.value)),
        ("target", target, Some(&service.current.value)),
    ] {
        let Some(located) = located else { continue };
        if matrix.unread.service(&service.name) {
            continue;
        }
        if !service.releases.contains_key(&located.value) {
            ok = false;
            diagnostics.push(
                Diagnostic::error(
                    Code::UnknownRelease,
                    located.span,
                    format!(
                        "`{field}` of `{}` is {}, which is not among its `releases`",
                        service.name, located.value
                    ),
                )
                .with_label("no such release")
                .with_hint(known(&located.value, other)),
            );
        }
    }
    if let Some(target) = &service.target
        && target.value < service.current.value
    {
        diagnostics.push(
            Diagnostic::warning(
                Code::TargetOlderThanCurrent,
                target.span,
                format!(
                    "`target` of `{}` ({}) is older than `current` ({}): this is a downgrade",
                    service.name, target.value, service.current.value
                ),
            )
            .with_label("older than current"),
        );
    }
    ok
}

fn check_consumed_names(catalog: &Catalog, service: &Service, diagnostics: &mut Vec<Diagnostic>) {
    for release in service.releases.values() {
        for (name, consumed) in &release.consumes {
            match catalog.provider_of(name) {
                Some(provider) if provider.name == service.name => diagnostics.push(
                    Diagnostic::error(
                        Code::SelfConsumption,
                        consumed.span,
                        format!(
                            "`{}` {} consumes `{name}`, which it provides itself",
                            service.name, release.version
                        ),
                    )
                    .with_label("self-consumption")
                    .with_hint(format!("remove `{name}` from `consumes`")),
                ),
                Some(_) => {}
                // Its provider could not be read: that is the problem, reported already.
                None if catalog.matrix().unread.may_provide(name) => {}
                None => {
                    let mut diagnostic = Diagnostic::error(
                        Code::UnknownDependency,
                        consumed.span,
                        format!(
                            "`{}` {} consumes `{name}`, but no service or API has that name",
                            service.name, release.version
                        ),
                    )
                    .with_label("nothing provides this");
                    if let Some(hint) = did_you_mean_name(catalog, name) {
                        diagnostic = diagnostic.with_hint(hint);
                    }
                    diagnostics.push(diagnostic);
                }
            }
        }
    }
}

/// "did you mean `x`?" for a service or API name close to `name`.
fn did_you_mean_name(catalog: &Catalog, name: &str) -> Option<String> {
    let matrix = catalog.matrix();
    let apis = matrix
        .services
        .values()
        .flat_map(|s| s.releases.values())
        .flat_map(|r| r.provides.keys());
    let names = matrix.services.keys().chain(apis).map(String::as_str);
    crate::suggest::did_you_mean(name, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(yaml: &str) -> Vec<&'static str> {
        let validated = validate_bytes("m.yaml", yaml.as_bytes(), &Limits::default());
        validated
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect()
    }

    /// An unreadable value is the problem; what would follow from it is not
    /// reported beside it.
    #[test]
    fn consequences_of_unreadable_values_are_not_reported() {
        let provides = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {consumes: {b-api: ^1}}}}\n  b: {current: 1.0.0, releases: {1.0.0: {provides: {b-api: 1.0}}}}\n";
        assert_eq!(codes(provides), ["unquoted-number"]);
        let target = "version: 1\nservices:\n  a: {current: 1.0.0, target: 2.0.0, releases: {1.0.0: {consumes: {b: ^1}}, 2.0.0: {consumes: {b: ^2}}}}\n  b: {current: 1.0.0, target: 2.0, releases: {1.0.0: {}, 2.0.0: {}}}\n";
        assert!(
            codes(target)
                .iter()
                .all(|c| *c == "unquoted-number" || *c == "not-executable"),
            "{:?}",
            codes(target)
        );
        let release = "version: 1\nservices:\n  a: {current: 2.0.0, releases: {2.0: {}}}\n";
        assert_eq!(codes(release), ["unquoted-number"]);
        let dropped = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {consumes: {b-api: ^1, b: ^1}}}}\n  b: {current: 1.0, releases: {1.0.0: {provides: {b-api: 1.0.0}}}}\n";
        assert_eq!(codes(dropped), ["unquoted-number"]);
        // Independent problems are still reported.
        let typo = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {consumes: {c-api: ^1}}}}\n  b: {current: 1.0, releases: {1.0.0: {provides: {b-api: 1.0.0}}}}\n";
        assert_eq!(codes(typo), ["unknown-dependency", "unquoted-number"]);
    }

    #[test]
    fn a_requirement_no_release_meets_is_a_warning() {
        let never = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}, 0.9.0: {consumes: {b: ^9}}}}\n  b: {current: 1.0.0, releases: {1.0.0: {}, 2.0.0: {}}}\n";
        assert_eq!(codes(never), ["unsatisfiable-requirement"]);
        // One alternative that some release meets is enough.
        let either = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {}, 0.9.0: {consumes: {b: [^9, ^2]}}}}\n  b: {current: 1.0.0, releases: {1.0.0: {}, 2.0.0: {}}}\n";
        assert_eq!(codes(either), Vec::<&str>::new());
        // In a running state, the broken state is the one diagnostic.
        let running = "version: 1\nservices:\n  a: {current: 1.0.0, releases: {1.0.0: {consumes: {b: ^9}}}}\n  b: {current: 1.0.0, releases: {1.0.0: {}}}\n";
        assert_eq!(codes(running), ["incompatible-current-state"]);
    }
}
