//! Locking: one lease per service in a DynamoDB table, taken with a
//! conditional put, renewed while the run lasts and released at the end, so
//! two cutovers that share a service never run at once.

use std::time::Duration;

use crate::aws::{Cloud, CloudError, Lease};
use crate::journal::now_ms;

/// Who is running: `user@host pid N run RUN`.
pub fn holder(run: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{user}@{host} pid {} run {run}", std::process::id())
}

/// The leases of one run.
#[derive(Clone, Debug)]
pub struct Leases {
    /// The DynamoDB table.
    pub table: String,
    /// The holder.
    pub holder: String,
    /// The plan digest recorded with each lease.
    pub plan_digest: String,
    /// The services, sorted.
    pub services: Vec<String>,
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
}

impl Leases {
    fn lease(&self, service: &str) -> Lease {
        let ttl_s = self.ttl.as_secs().max(1);
        Lease {
            key: service.to_owned(),
            holder: self.holder.clone(),
            plan_digest: self.plan_digest.clone(),
            expires_at: now_ms() / 1000 + ttl_s,
        }
    }

    /// Takes (or renews) every lease, in sorted order; on refusal releases the
    /// ones it took and returns the holder's details.
    pub async fn acquire<C: Cloud>(&self, cloud: &C) -> Result<(), CloudError> {
        let now = now_ms() / 1000;
        for (index, service) in self.services.iter().enumerate() {
            if let Err(error) = cloud
                .acquire_lease(&self.table, &self.lease(service), now)
                .await
            {
                for taken in &self.services[..index] {
                    let _ = cloud.release_lease(&self.table, taken, &self.holder).await;
                }
                return Err(error);
            }
        }
        Ok(())
    }

    /// Releases every lease (best effort: an expired lease is already free).
    pub async fn release<C: Cloud>(&self, cloud: &C) -> Result<(), CloudError> {
        let mut first_error = None;
        for service in &self.services {
            if let Err(error) = cloud
                .release_lease(&self.table, service, &self.holder)
                .await
            {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
