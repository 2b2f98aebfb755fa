//! Hints for a matrix that has no safe order: the smallest changes to the
//! matrix that would unlock one, each checked by planning again with the
//! change applied. The facts come from `order`; this module only adds
//! hints to them, making the public [`NoSafeOrder`].

use semver::{Version, VersionReq};

use crate::compat::{Catalog, Mismatch};
use crate::matrix::{Consumed, Matrix, Provided};
use crate::order::{BrokenState, Conflict, Constraint, Cycle, Obstacles, analyse};

/// One edit of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A provider's target release also serves an older API version (expand/contract).
    AlsoProvide {
        /// The provider.
        service: String,
        /// Its release to edit.
        release: Version,
        /// The API.
        api: String,
        /// The version to serve as well.
        version: Version,
    },
    /// A consumer's target release also accepts what the provider serves today.
    Accept {
        /// The consumer.
        service: String,
        /// Its release to edit.
        release: Version,
        /// The API or service consumed.
        api: String,
        /// The extra alternative.
        requirement: VersionReq,
    },
}

impl Change {
    /// "let `payments` 2.0.0 also provide `payments-api` 1.4.0".
    pub fn describe(&self) -> String {
        match self {
            Change::AlsoProvide {
                service,
                release,
                api,
                version,
            } => {
                format!("let `{service}` {release} also provide `{api}` {version}")
            }
            Change::Accept {
                service,
                release,
                api,
                requirement,
            } => {
                format!("let `{service}` {release} accept `{api}` {requirement}")
            }
        }
    }

    /// Applies the edit to `matrix`.
    pub fn apply(&self, matrix: &mut Matrix) {
        match self {
            Change::AlsoProvide {
                service,
                release,
                api,
                version,
            } => {
                if let Some(release) = matrix
                    .services
                    .get_mut(service)
                    .and_then(|s| s.releases.get_mut(release))
                {
                    let provided = release
                        .provides
                        .get_or_insert_with(api.clone(), || Provided {
                            versions: Vec::new(),
                            span: release.span,
                        });
                    if !provided.versions.contains(version) {
                        provided.versions.push(version.clone());
                    }
                }
            }
            Change::Accept {
                service,
                release,
                api,
                requirement,
            } => {
                if let Some(release) = matrix
                    .services
                    .get_mut(service)
                    .and_then(|s| s.releases.get_mut(release))
                {
                    let consumed = release
                        .consumes
                        .get_or_insert_with(api.clone(), || Consumed {
                            alternatives: Vec::new(),
                            span: release.span,
                        });
                    consumed.alternatives.push(requirement.clone());
                }
            }
        }
    }
}

/// A suggested edit and whether it alone makes a safe order possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The edits, applied together.
    pub changes: Vec<Change>,
    /// Planning again with these edits finds a safe order.
    pub unlocks: bool,
}

impl Hint {
    /// One sentence for people.
    pub fn describe(&self) -> String {
        let changes = self
            .changes
            .iter()
            .map(Change::describe)
            .collect::<Vec<_>>()
            .join(", and ");
        if self.unlocks {
            format!("{changes}: this alone makes a safe order possible")
        } else {
            format!("{changes}: this removes one obstacle, others remain")
        }
    }
}

/// Why no safe order exists: the facts, to be rendered separately, and the
/// hints derived from them.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NoSafeOrder {
    /// Steady states that are broken whatever the order.
    pub broken_states: Vec<BrokenState>,
    /// Pairs that allow neither order.
    pub conflicts: Vec<Conflict>,
    /// Cycles of constraints.
    pub cycles: Vec<Cycle>,
    /// The smallest matrix changes that would unlock an order.
    pub hints: Vec<Hint>,
    /// The constraints found, including those on cycles.
    pub constraints: Vec<Constraint>,
}

/// The facts of `obstacles` with the hints that would unlock `matrix`.
pub(crate) fn explain(matrix: &Matrix, obstacles: Obstacles) -> NoSafeOrder {
    let hints = hints(matrix, &obstacles);
    let Obstacles {
        broken_states,
        conflicts,
        cycles,
        constraints,
    } = obstacles;
    NoSafeOrder {
        broken_states,
        conflicts,
        cycles,
        hints,
        constraints,
    }
}

/// How many candidate edits are tried by planning again.
const MAX_TRIALS: usize = 24;

/// Candidate edits for every obstacle, each checked by planning again.
fn hints(matrix: &Matrix, no: &Obstacles) -> Vec<Hint> {
    let catalog = Catalog::new(matrix);
    let mut candidates: Vec<Vec<Change>> = Vec::new();
    for conflict in &no.conflicts {
        candidates.push(fixes(&catalog, &conflict.provider_first));
        candidates.push(fixes(&catalog, &conflict.consumer_first));
    }
    for cycle in &no.cycles {
        for edge in &cycle.edges {
            candidates.push(fixes(&catalog, &edge.mismatches));
        }
    }
    candidates.retain(|changes| !changes.is_empty());
    candidates.dedup();
    let mut hints: Vec<Hint> = candidates
        .into_iter()
        .take(MAX_TRIALS)
        .map(|changes| {
            let mut edited = matrix.clone();
            for change in &changes {
                change.apply(&mut edited);
            }
            let unlocks = analyse(&edited).is_ok();
            Hint { changes, unlocks }
        })
        .collect();
    hints.sort_by_key(|hint| (!hint.unlocks, hint.describe()));
    hints.dedup();
    hints
}

/// Edits that meet every requirement in `mismatches`; empty when one cannot be met.
fn fixes(catalog: &Catalog, mismatches: &[Mismatch]) -> Vec<Change> {
    let changes: Vec<Change> = mismatches.iter().filter_map(|m| fix(catalog, m)).collect();
    if changes.len() == mismatches.len() {
        changes
    } else {
        Vec::new()
    }
}

/// The edit that meets one requirement: a changing consumer accepts what the
/// provider serves, or a changing provider keeps serving what the consumer's
/// current release needs.
fn fix(catalog: &Catalog, mismatch: &Mismatch) -> Option<Change> {
    let matrix = catalog.matrix();
    let consumer = matrix.services.get(&mismatch.consumer)?;
    let provider = matrix.services.get(&mismatch.provider)?;
    if consumer.is_changing() && mismatch.consumer_version == *consumer.target_version() {
        let offered = mismatch.offered.iter().max()?;
        return Some(Change::Accept {
            service: consumer.name.clone(),
            release: mismatch.consumer_version.clone(),
            api: mismatch.api.clone(),
            requirement: caret(offered),
        });
    }
    let serves_old_version = provider.is_changing()
        && mismatch.provider_version == *provider.target_version()
        && mismatch.api != provider.name;
    if !serves_old_version {
        return None;
    }
    let needed = consumer
        .release(&mismatch.consumer_version)?
        .consumes
        .get(&mismatch.api)?;
    let today = provider.release(&provider.current.value)?;
    let version = Catalog::offered(provider, today, &mismatch.api)
        .into_iter()
        .filter(|v| needed.accepts_any(std::slice::from_ref(v)))
        .max()?;
    Some(Change::AlsoProvide {
        service: provider.name.clone(),
        release: mismatch.provider_version.clone(),
        api: mismatch.api.clone(),
        version,
    })
}

/// `^MAJOR.MINOR` for a release, `=VERSION` for a pre-release.
fn caret(version: &Version) -> VersionReq {
    let text = if version.pre.is_empty() {
        format!("^{}.{}", version.major, version.minor)
    } else {
        format!("={version}")
    };
    VersionReq::parse(&text).unwrap_or(VersionReq::STAR)
}
