//! CloudWatch alarms, graph-aware: while a wave switches and bakes, the
//! alarms of its services, of their direct consumers (from the matrix's
//! graph, changing or not) and the defaults are watched. An alarm in
//! `ALARM` fails; `OK` and `INSUFFICIENT_DATA` pass.

use std::collections::BTreeMap;

use crate::aws::{ALARMS_PER_CALL, Alarm, AlarmState, Cloud, CloudError};
use crate::context::Context;
use crate::cutover::{Cutover, ServiceSwitch};
use crate::gate::HealthGate;
use crate::report::RunError;
use crate::switch::with_retries;

/// Why an alarm is watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// It is the switching service's own.
    Own { service: String, wave: usize },
    /// It belongs to a direct consumer of a switching service.
    Consumer {
        consumer: String,
        apis: Vec<String>,
        provider: String,
        wave: usize,
    },
    /// It is one of `defaults.deploy.alarms`.
    Default { wave: usize },
}

/// One watched alarm and the first reason it is watched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Watched {
    pub name: String,
    pub why: Why,
}

impl Watched {
    /// "`web-5xx` of `web`, which consumes `orders-api` from `orders`
    /// (switching in wave 2)".
    pub(crate) fn describe(&self) -> String {
        let name = &self.name;
        match &self.why {
            Why::Own { service, wave } => {
                format!("`{name}` of `{service}` (switching in wave {wave})")
            }
            Why::Consumer {
                consumer,
                apis,
                provider,
                wave,
            } => {
                let apis = apis
                    .iter()
                    .map(|api| format!("`{api}`"))
                    .collect::<Vec<_>>()
                    .join(" and ");
                format!(
                    "`{name}` of `{consumer}`, which consumes {apis} from `{provider}` (switching in wave {wave})"
                )
            }
            Why::Default { wave } => {
                format!("`{name}` (`defaults.deploy.alarms`, watched while wave {wave} switches)")
            }
        }
    }
}

/// The alarms watched while these switches (one wave's) run: each
/// service's own, then its consumers', then the defaults; each name once,
/// with the first reason found.
pub(crate) fn watched(switches: &[&ServiceSwitch]) -> Vec<Watched> {
    let mut out: Vec<Watched> = Vec::new();
    let mut add = |name: &str, why: Why| {
        if !out.iter().any(|w| w.name == name) {
            out.push(Watched {
                name: name.to_owned(),
                why,
            });
        }
    };
    for switch in switches {
        for name in &switch.alarms {
            add(
                name,
                Why::Own {
                    service: switch.service.clone(),
                    wave: switch.wave,
                },
            );
        }
    }
    for switch in switches {
        for consumer in &switch.consumers {
            for name in &consumer.alarms {
                add(
                    name,
                    Why::Consumer {
                        consumer: consumer.service.clone(),
                        apis: consumer.consumes.clone(),
                        provider: switch.service.clone(),
                        wave: switch.wave,
                    },
                );
            }
        }
    }
    for switch in switches {
        for name in &switch.default_alarms {
            add(name, Why::Default { wave: switch.wave });
        }
    }
    out
}

/// Every alarm of the whole cutover, with the first reason it is watched for.
pub(crate) fn all_watched(cutover: &Cutover) -> Vec<Watched> {
    let mut out: Vec<Watched> = Vec::new();
    for wave in &cutover.waves {
        let switches: Vec<&ServiceSwitch> = wave.iter().collect();
        for watched in watched(&switches) {
            if !out.iter().any(|w| w.name == watched.name) {
                out.push(watched);
            }
        }
    }
    out
}

/// Reads the alarms, [`ALARMS_PER_CALL`] names per `DescribeAlarms`.
pub(crate) async fn read<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    watched: &[Watched],
) -> Result<BTreeMap<String, Alarm>, CloudError> {
    let names: Vec<String> = watched.iter().map(|w| w.name.clone()).collect();
    let mut found = BTreeMap::new();
    for batch in names.chunks(ALARMS_PER_CALL) {
        for alarm in with_retries(ctx, || ctx.cloud.alarms(batch)).await? {
            found.insert(alarm.name.clone(), alarm);
        }
    }
    Ok(found)
}

/// `Ok` when no watched alarm is in `ALARM`; otherwise the sentence naming
/// each alarm that is, its owner and why it is watched.
pub(crate) async fn check<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    watched: &[Watched],
) -> Result<(), String> {
    if watched.is_empty() {
        return Ok(());
    }
    let states = read(ctx, watched)
        .await
        .map_err(|e| format!("the alarms could not be read: {e}"))?;
    let firing: Vec<String> = watched
        .iter()
        .filter_map(|w| {
            let alarm = states.get(&w.name)?;
            // "…, which consumes … (switching in wave 2), is in ALARM".
            let comma = if matches!(w.why, Why::Consumer { .. }) {
                ","
            } else {
                ""
            };
            (alarm.state == AlarmState::Alarm).then(|| {
                format!(
                    "{}{comma} is in ALARM: {}",
                    w.describe(),
                    one_line(&alarm.reason)
                )
            })
        })
        .collect();
    if firing.is_empty() {
        Ok(())
    } else {
        Err(firing.join("; "))
    }
}

/// Refuses alarm names that CloudWatch does not know, before any change.
pub(crate) async fn refuse_unknown<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    cutover: &Cutover,
) -> Result<(), RunError> {
    let watched = all_watched(cutover);
    if watched.is_empty() {
        return Ok(());
    }
    let found = read(ctx, &watched).await?;
    let missing: Vec<String> = watched
        .iter()
        .filter(|w| !found.contains_key(&w.name))
        .map(Watched::describe)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (noun, them) = if missing.len() == 1 {
        ("alarm", "it")
    } else {
        ("alarms", "them")
    };
    Err(RunError::Refused(format!(
        "CloudWatch has no {noun} of these names in this account and region: {}; fix the {noun} in the matrix and plan again, or create {them}",
        missing.join("; ")
    )))
}

/// A state reason on one line, at most 300 characters.
fn one_line(reason: &str) -> String {
    let line: String = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 300 {
        let cut: String = line.chars().take(299).collect();
        format!("{cut}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_alarm_names_the_api_and_the_wave() {
        let watched = Watched {
            name: "web-5xx".into(),
            why: Why::Consumer {
                consumer: "web".into(),
                apis: vec!["orders-api".into()],
                provider: "orders".into(),
                wave: 2,
            },
        };
        assert_eq!(
            watched.describe(),
            "`web-5xx` of `web`, which consumes `orders-api` from `orders` (switching in wave 2)"
        );
    }
}
