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

    /// Takes every lease, in sorted order; on refusal releases the ones it
    /// took and returns the holder's details.
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

    /// Extends every lease this run holds. A failure releases nothing: the
    /// leases stay held until they expire, and the caller retries.
    pub async fn renew<C: Cloud>(&self, cloud: &C) -> Result<(), CloudError> {
        let now = now_ms() / 1000;
        for service in &self.services {
            cloud
                .acquire_lease(&self.table, &self.lease(service), now)
                .await?;
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

/// The leases held on `services` in `table`, in sorted order.
pub async fn held_leases<C: Cloud>(
    cloud: &C,
    table: &str,
    services: &[String],
) -> Result<Vec<Lease>, CloudError> {
    let mut sorted = services.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut held = Vec::new();
    for service in &sorted {
        if let Some(lease) = cloud.read_lease(table, service).await? {
            held.push(lease);
        }
    }
    Ok(held)
}

/// Breaks leases that were shown to a person: each is deleted only while the
/// same holder still has it, so a run that took it in between keeps it.
pub async fn break_leases<C: Cloud>(
    cloud: &C,
    table: &str,
    leases: &[Lease],
) -> Result<(), CloudError> {
    for lease in leases {
        cloud
            .release_lease(table, &lease.key, &lease.holder)
            .await?;
    }
    Ok(())
}

/// `expires in 4m12s (at 2026-11-23 10:20:00 UTC)`, or `expired 3m00s ago (at …)`.
pub fn describe_expiry(expires_at: u64, now: u64) -> String {
    let at = utc(expires_at);
    if expires_at > now {
        format!("expires in {} (at {at})", span(expires_at - now))
    } else {
        format!("expired {} ago (at {at})", span(now - expires_at))
    }
}

/// `4m12s`, `1h5m`, `9s`.
fn span(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m"),
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (civil-from-days,
/// after Howard Hinnant's algorithm).
fn utc(epoch: u64) -> String {
    let days = i64::try_from(epoch / 86_400).unwrap_or(i64::MAX / 2);
    let rem = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_a_time_and_a_span() {
        assert_eq!(
            describe_expiry(1_795_428_252, 1_795_428_000),
            "expires in 4m12s (at 2026-11-23 10:04:12 UTC)"
        );
        assert_eq!(
            describe_expiry(0, 3_780),
            "expired 1h03m ago (at 1970-01-01 00:00:00 UTC)"
        );
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
