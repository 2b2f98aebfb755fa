//! `cutover plan --observe`: which side is blue, read from the live routes,
//! and whether blue runs the matrix's `current`.

use cutover_planner::{BlueDoc, BlueSource, PlanDocument};

use crate::aws::Cloud;
use crate::context::Context;
use crate::cutover::Cutover;
use crate::gate::HealthGate;
use crate::preflight::observe_sides;
use crate::report::RunError;
use crate::run::live_blue;

/// Reads every planned service's production route and records the target
/// group receiving all its traffic as blue (`observed`). Refuses drift: a
/// route split between the two groups or forwarding elsewhere, a blue ECS
/// service that does not run the current release's image, or a production
/// Actuator (`deploy.live_health`) that does not report the current release.
pub async fn observe_blue<C: Cloud, G: HealthGate>(
    cloud: C,
    gate: G,
    plan: &mut PlanDocument,
) -> Result<(), RunError> {
    let cutover = Cutover::from_plan(plan)?;
    let ctx = Context::reader(cloud, gate);
    for step in plan
        .waves
        .iter_mut()
        .flat_map(|wave| wave.services.iter_mut())
    {
        let (Some(deploy), Some(switch)) = (step.deploy.as_mut(), cutover.switch(&step.service))
        else {
            continue;
        };
        let forward = ctx.cloud.forward(&switch.route).await?;
        let blue = live_blue(switch, &forward)?;
        observe_sides(&ctx, switch, &blue).await?;
        ctx.gate.check_live(switch).await.map_err(|problem| {
            RunError::Drift(format!(
                "`{}`: the production route's Actuator does not show the current release {}: {problem}",
                switch.service, switch.from
            ))
        })?;
        deploy.blue = Some(match &switch.attached_to {
            Some(target_group) => BlueDoc {
                target_group: target_group.clone(),
                group: Some(blue),
                source: BlueSource::Observed,
            },
            None => BlueDoc {
                target_group: blue,
                group: None,
                source: BlueSource::Observed,
            },
        });
    }
    Ok(())
}
