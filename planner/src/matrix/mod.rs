//! The compatibility matrix (format v1): services, their releases, what each
//! release provides and consumes, and the deployment settings used later by
//! the health checks and the executor.
//!
//! Everything keeps its source position so that every later finding can point
//! at the line it is about.

pub(crate) mod arn;
mod deploy;
pub(crate) mod deploy_checks;
mod load;
pub(crate) mod read;
mod sorted_map;
mod url_check;

use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};

pub use deploy::{
    AsgGroups, Check, DEFAULT_CHECK_TIMEOUT, Defaults, Deploy, EcsServices, HealthDefaults,
    MAX_BAKE, MAX_CHECK_TIMEOUT, MAX_HEALTH_TIMEOUT, Strategy,
};
pub use load::{Limits, load};
pub(crate) use load::{non_empty, parse, source_file};
pub use sorted_map::{Iter as SortedMapIter, SortedMap};

use crate::source::SourceFile;
use crate::yaml::Span;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Its position in the matrix file.
    pub span: Span,
}

impl<T> Located<T> {
    /// Pairs a value with a position.
    pub fn new(value: T, span: Span) -> Self {
        Located { value, span }
    }
}

/// A parsed matrix. It may come from a file with errors: then it holds what
/// could be read, and the errors are reported beside it.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// The file it was read from.
    pub source: SourceFile,
    /// The services, sorted by name.
    pub services: BTreeMap<String, Service>,
    /// `defaults:`.
    pub defaults: Defaults,
    /// What could not be read (and is reported as such).
    pub unread: Unread,
}

/// The parts of a matrix the reader could not read. Their problems are
/// reported where they are written; the checks that follow leave out what
/// would only be a consequence of them (an API that seems to have no
/// provider because its `provides` could not be read, a target state that
/// seems broken because `target` could not be read), so that the root cause
/// stands alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unread {
    /// Service and API names that may be provided by something unreadable: a
    /// service left out of the model, an unreadable release or `provides` entry.
    pub names: BTreeSet<String>,
    /// Services with an unreadable `target`, release or `provides` entry:
    /// their releases and states are not judged.
    pub services: BTreeSet<String>,
    /// Services whose `deploy` could not be read in full: whether `execute`
    /// could carry them out is not judged.
    pub deploys: BTreeSet<String>,
}

impl Unread {
    /// Whether `name` (a service or an API) may be provided by something unreadable.
    pub fn may_provide(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether some of `service`'s releases, `target` or APIs could not be read.
    pub fn service(&self, service: &str) -> bool {
        self.services.contains(service)
    }
}

/// One service and its releases.
#[derive(Clone, Debug)]
pub struct Service {
    /// The service name.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The release serving on blue now.
    pub current: Located<Version>,
    /// The release to cut over to, when given.
    pub target: Option<Located<Version>>,
    /// The known releases, by version.
    pub releases: SortedMap<Version, Release>,
    /// `deploy:` settings.
    pub deploy: Deploy,
}

impl Service {
    /// Whether the service changes in this cutover (a target that differs from current).
    pub fn is_changing(&self) -> bool {
        self.target
            .as_ref()
            .is_some_and(|t| t.value != self.current.value)
    }

    /// The release a changing service moves to, or the current one.
    pub fn target_version(&self) -> &Version {
        self.target
            .as_ref()
            .map_or(&self.current.value, |t| &t.value)
    }

    /// A release by version.
    pub fn release(&self, version: &Version) -> Option<&Release> {
        self.releases.get(version)
    }
}

/// One release of a service.
#[derive(Clone, Debug)]
pub struct Release {
    /// Its version.
    pub version: Version,
    /// Where the release key is written.
    pub span: Span,
    /// The container image, when given.
    pub image: Option<Located<String>>,
    /// The AMI its Auto Scaling groups launch, when given.
    pub ami: Option<Located<String>>,
    /// Explicit APIs it provides, by name.
    pub provides: SortedMap<String, Provided>,
    /// What it consumes, by API or service name.
    pub consumes: SortedMap<String, Consumed>,
}

/// The versions of one API served by a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provided {
    /// One or more versions served at once.
    pub versions: Vec<Version>,
    /// Where they are written.
    pub span: Span,
}

/// A requirement on one API or service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumed {
    /// Alternatives: any one may match.
    pub alternatives: Vec<VersionReq>,
    /// Where the requirement is written.
    pub span: Span,
}

impl Consumed {
    /// The requirement as a person would write it: `^2` or `^1.8 | ^2`.
    pub fn describe(&self) -> String {
        self.alternatives
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// Whether any alternative matches any of `versions`.
    pub fn accepts_any(&self, versions: &[Version]) -> bool {
        self.alternatives
            .iter()
            .any(|req| versions.iter().any(|v| req.matches(v)))
    }
}

impl Matrix {
    /// The services in the order they are written in the file.
    pub fn services_in_document_order(&self) -> Vec<&Service> {
        let mut services: Vec<&Service> = self.services.values().collect();
        services.sort_by_key(|s| s.span.offset);
        services
    }

    /// The services that change, sorted by name.
    pub fn changing(&self) -> impl Iterator<Item = &Service> {
        self.services.values().filter(|s| s.is_changing())
    }
}
