//! Compatibility between releases: who provides what, and whether a consumer
//! release can talk to a provider release.

use std::collections::HashMap;

use semver::Version;

use crate::matrix::{Matrix, Release, Service};
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
        if self.offered.is_empty() {
            format!(
                "`{}` {} does not provide `{}` at all",
                self.provider, self.provider_version, self.api
            )
        } else {
            format!(
                "`{}` {} provides `{}` {}",
                self.provider,
                self.provider_version,
                self.api,
                join_versions(&self.offered)
            )
        }
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
}

impl<'m> Catalog<'m> {
    /// Indexes the APIs of `matrix`. Conflicting ownership is reported by validation.
    pub fn new(matrix: &'m Matrix) -> Self {
        let mut owners = HashMap::new();
        for service in matrix.services_in_document_order() {
            for release in service.releases.values() {
                for api in release.provides.keys() {
                    owners.entry(api.as_str()).or_insert(service.name.as_str());
                }
            }
        }
        Catalog { matrix, owners }
    }

    /// The matrix.
    pub fn matrix(&self) -> &'m Matrix {
        self.matrix
    }

    /// The service that provides `name` (an API or a service name).
    pub fn provider_of(&self, name: &str) -> Option<&'m Service> {
        match self.matrix.services.get_key_value(name) {
            Some((_, service)) => Some(service),
            None => self
                .owners
                .get(name)
                .and_then(|owner| self.matrix.services.get(*owner)),
        }
    }

    /// The service that owns an explicit API, if any.
    pub fn api_owner(&self, api: &str) -> Option<&'m str> {
        self.owners.get(api).copied()
    }

    /// The versions of `api` served by `release` of `provider`.
    pub fn offered(provider: &Service, release: &Release, api: &str) -> Vec<Version> {
        if api == provider.name {
            return vec![release.version.clone()];
        }
        release
            .provides
            .get(api)
            .map(|p| p.versions.clone())
            .unwrap_or_default()
    }

    /// Every requirement of `consumer` at release `c` that `provider` at `p` does
    /// not meet; empty when they are compatible (or a release is unknown).
    pub fn mismatches(
        &self,
        consumer: &Service,
        c: &Version,
        provider: &Service,
        p: &Version,
    ) -> Vec<Mismatch> {
        let (Some(c_release), Some(p_release)) = (consumer.release(c), provider.release(p)) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (api, consumed) in &c_release.consumes {
            if self
                .provider_of(api)
                .is_none_or(|s| s.name != provider.name)
            {
                continue;
            }
            let offered = Self::offered(provider, p_release, api);
            if !consumed.accepts_any(&offered) {
                found.push(Mismatch {
                    consumer: consumer.name.clone(),
                    consumer_version: c.clone(),
                    provider: provider.name.clone(),
                    provider_version: p.clone(),
                    api: api.clone(),
                    requirement: consumed.describe(),
                    requirement_span: consumed.span,
                    offered,
                    provider_span: p_release.span,
                });
            }
        }
        found
    }

    /// Whether `consumer` at `c` is compatible with `provider` at `p`.
    pub fn compatible(
        &self,
        consumer: &Service,
        c: &Version,
        provider: &Service,
        p: &Version,
    ) -> bool {
        self.mismatches(consumer, c, provider, p).is_empty()
    }

    /// The providers `consumer` depends on in its current or target release,
    /// sorted and without duplicates, never itself.
    pub fn providers_of(&self, consumer: &Service) -> Vec<&'m Service> {
        let mut providers: Vec<&Service> = [
            Some(&consumer.current.value),
            consumer.target.as_ref().map(|t| &t.value),
        ]
        .into_iter()
        .flatten()
        .filter_map(|v| consumer.release(v))
        .flat_map(|release| release.consumes.keys())
        .filter_map(|name| self.provider_of(name))
        .filter(|provider| provider.name != consumer.name)
        .collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        providers.dedup_by(|a, b| a.name == b.name);
        providers
    }
}
