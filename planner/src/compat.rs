//! Compatibility between releases: who provides what, and whether a consumer
//! release can talk to a provider release.

use crate::fast::HashMap;

use semver::Version;

use crate::matrix::{Consumed, Matrix, Release, Service};
use crate::yaml::Span;

/// One unmet requirement: a consumer release needs an API version that a
/// provider release does not serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The consuming service.
    pub consumer: String,
    /// Its release.
    pub consumer_version: Version,
    /// The providing service.
    pub provider: String,
    /// Its release.
    pub provider_version: Version,
    /// The API (or service) name consumed.
    pub api: String,
    /// The requirement as written, alternatives joined by ` | `.
    pub requirement: String,
    /// Where the requirement is written.
    pub requirement_span: Span,
    /// What the provider release serves of that API (empty: not at all).
    pub offered: Vec<Version>,
    /// Where the provider release is written.
    pub provider_span: Span,
}

impl Mismatch {
    /// "`orders` 2.0.0 needs `payments-api` ^2, which `payments` 1.4.0 does not provide".
    pub fn describe(&self) -> String {
        format!(
            "`{}` {} needs `{}` {}, which `{}` {} does not provide",
            self.consumer,
            self.consumer_version,
            self.api,
            self.requirement,
            self.provider,
            self.provider_version
        )
    }

    /// "`payments` 1.4.0 provides `payments-api` 1.4.0" or "... does not provide `x` at all".
    pub fn describe_offer(&self) -> String {
        let who = format!("`{}` {}", self.provider, self.provider_version);
        crate::describe::offer(&who, &self.api, &self.offered, true)
    }
}

/// Versions joined with `, `.
pub fn join_versions(versions: &[Version]) -> String {
    versions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who provides each consumable name: every service provides itself, and each
/// explicit API belongs to the first service (in document order) that declares it.
#[derive(Clone, Debug)]
pub struct Catalog<'m> {
    matrix: &'m Matrix,
    owners: HashMap<&'m str, &'m str>,
    providers: HashMap<&'m str, Provider<'m>>,
}

/// A service that provides something, with its two releases looked up once.
#[derive(Clone, Copy, Debug)]
pub struct Provider<'m> {
    /// The service.
    pub service: &'m Service,
    /// Its `current` release, when that is a known release.
    pub current: Option<&'m Release>,
    /// Its `target` release (or `current` when it does not change), when known.
    pub target: Option<&'m Release>,
}

impl<'m> Provider<'m> {
    fn new(service: &'m Service) -> Self {
        Provider {
            service,
            current: service.release(&service.current.value),
            target: service.release(service.target_version()),
        }
    }

    /// The release it serves in `state`.
    pub fn release_in(&self, state: State) -> Option<&'m Release> {
        match state {
            State::Current => self.current,
            State::Target => self.target,
        }
    }
}

/// One requirement of a consumer release, resolved to the service that provides it.
#[derive(Clone, Copy, Debug)]
pub struct Requirement<'m> {
    /// The API (or service) name consumed.
    pub api: &'m str,
    /// What the consumer accepts.
    pub consumed: &'m Consumed,
    /// The service that provides `api`.
    pub provider: Provider<'m>,
}

impl<'m> Catalog<'m> {
    /// Indexes the APIs of `matrix`. Conflicting ownership is reported by validation.
    pub fn new(matrix: &'m Matrix) -> Self {
        let mut owners = HashMap::default();
        for service in matrix.services_in_document_order() {
            for release in service.releases.values() {
                for api in release.provides.keys() {
                    owners.entry(api.as_str()).or_insert(service.name.as_str());
                }
            }
        }
        let services: HashMap<&str, Provider> = matrix
            .services
            .iter()
            .map(|(name, service)| (name.as_str(), Provider::new(service)))
            .collect();
        let mut providers: HashMap<&str, Provider> = owners
            .iter()
            .filter_map(|(api, owner)| Some((*api, *services.get(owner)?)))
            .collect();
        // A service name always means the service itself.
        providers.extend(services);
        Catalog {
            matrix,
            owners,
            providers,
        }
    }

    /// The matrix.
    pub fn matrix(&self) -> &'m Matrix {
        self.matrix
    }

    /// The service that provides `name` (an API or a service name).
    pub fn provider_of(&self, name: &str) -> Option<&'m Service> {
        self.providers.get(name).map(|p| p.service)
    }

    /// The service that owns an explicit API, if any.
    pub fn api_owner(&self, api: &str) -> Option<&'m str> {
        self.owners.get(api).copied()
    }

    /// The versions of `api` served by `release` of `provider`.
    pub fn offered(provider: &Service, release: &Release, api: &str) -> Vec<Version> {
        Self::offered_slice(provider, release, api).to_vec()
    }

    /// The versions of `api` served by `release` of `provider`, borrowed.
    pub(crate) fn offered_slice<'r>(
        provider: &Service,
        release: &'r Release,
        api: &str,
    ) -> &'r [Version] {
        if api == provider.name {
            return std::slice::from_ref(&release.version);
        }
        release
            .provides
            .get(api)
            .map_or(&[], |p| p.versions.as_slice())
    }

    /// The requirements of `consumer`'s `release` on other services, in API order.
    pub fn requirements(
        &self,
        consumer: &'m Service,
        release: &'m Release,
    ) -> impl Iterator<Item = Requirement<'m>> + '_ {
        release.consumes.iter().filter_map(move |(api, consumed)| {
            let provider = *self.providers.get(api.as_str())?;
            (provider.service.name != consumer.name).then_some(Requirement {
                api,
                consumed,
                provider,
            })
        })
    }

    /// The mismatch when `provider` at `p` does not meet `requirement` of
    /// `consumer` at `c`.
    pub fn unmet(
        consumer: &Service,
        c: &Version,
        requirement: Requirement<'_>,
        p_release: &Release,
    ) -> Option<Mismatch> {
        let provider = requirement.provider.service;
        let offered = Self::offered_slice(provider, p_release, requirement.api);
        if requirement.consumed.accepts_any(offered) {
            return None;
        }
        Some(Mismatch {
            consumer: consumer.name.clone(),
            consumer_version: c.clone(),
            provider: provider.name.clone(),
            provider_version: p_release.version.clone(),
            api: requirement.api.to_owned(),
            requirement: requirement.consumed.describe(),
            requirement_span: requirement.consumed.span,
            offered: offered.to_vec(),
            provider_span: p_release.span,
        })
    }

    /// Every requirement of `consumer` at release `c` that `provider` at `p` does
    /// not meet; empty when they are compatible (or a release is unknown).
    pub fn mismatches(
        &self,
        consumer: &'m Service,
        c: &Version,
        provider: &Service,
        p: &Version,
    ) -> Vec<Mismatch> {
        let (Some(c_release), Some(p_release)) = (consumer.release(c), provider.release(p)) else {
            return Vec::new();
        };
        self.requirements(consumer, c_release)
            .filter(|r| r.provider.service.name == provider.name)
            .filter_map(|r| Self::unmet(consumer, c, r, p_release))
            .collect()
    }

    /// Whether `consumer` at `c` is compatible with `provider` at `p`.
    pub fn compatible(
        &self,
        consumer: &'m Service,
        c: &Version,
        provider: &Service,
        p: &Version,
    ) -> bool {
        self.mismatches(consumer, c, provider, p).is_empty()
    }

    /// The providers `consumer` depends on in its current or target release,
    /// sorted and without duplicates, never itself.
    pub fn providers_of(&self, consumer: &'m Service) -> Vec<&'m Service> {
        let mut providers: Vec<&Service> = [
            Some(&consumer.current.value),
            consumer.target.as_ref().map(|t| &t.value),
        ]
        .into_iter()
        .flatten()
        .filter_map(|v| consumer.release(v))
        .flat_map(|release| self.requirements(consumer, release))
        .map(|r| r.provider.service)
        .collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        providers.dedup_by(|a, b| a.name == b.name);
        providers
    }
}

/// One of the two steady states a cutover goes between.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Every service on `current`.
    Current,
    /// Every changing service on `target`, the others on `current`.
    Target,
}

impl State {
    /// The release `service` serves in this state.
    pub fn release_of(self, service: &Service) -> &semver::Version {
        match self {
            State::Current => &service.current.value,
            State::Target => service.target_version(),
        }
    }
}

/// Every broken consumer/provider pair in `state`. For the target state, only
/// pairs where at least one side changes (the others are already reported for
/// the current state).
pub fn state_mismatches(catalog: &Catalog, state: State) -> Vec<Mismatch> {
    let mut found = Vec::new();
    for consumer in catalog.matrix().services.values() {
        let c = state.release_of(consumer);
        let Some(c_release) = consumer.release(c) else {
            continue;
        };
        let first = found.len();
        for requirement in catalog.requirements(consumer, c_release) {
            if state == State::Target
                && !consumer.is_changing()
                && !requirement.provider.service.is_changing()
            {
                continue;
            }
            let Some(p_release) = requirement.provider.release_in(state) else {
                continue;
            };
            found.extend(Catalog::unmet(consumer, c, requirement, p_release));
        }
        // Per consumer, by provider, then by API (the requirements come in API order).
        found[first..].sort_by(|a: &Mismatch, b: &Mismatch| a.provider.cmp(&b.provider));
    }
    found
}
