//! `cutover plan --observe`: which side is blue, read from the live routes.

use cutover_planner::{BlueDoc, BlueSource, PlanDocument};

use crate::aws::Cloud;
use crate::cutover::Cutover;
use crate::report::RunError;
use crate::run::drift;

/// Reads every planned service's production route and records the target
/// group receiving all its traffic as blue (`observed`). Refuses drift: a
/// route split between the two groups, or forwarding elsewhere.
pub async fn observe_blue<C: Cloud>(cloud: &C, plan: &mut PlanDocument) -> Result<(), RunError> {
    let cutover = Cutover::from_plan(plan)?;
    for step in plan
        .waves
        .iter_mut()
        .flat_map(|wave| wave.services.iter_mut())
    {
        let (Some(deploy), Some(switch)) = (step.deploy.as_mut(), cutover.switch(&step.service))
        else {
            continue;
        };
        let forward = cloud.forward(&switch.route).await?;
        match forward.sole_target() {
            Some(blue) if switch.target_groups.iter().any(|tg| tg == blue) => {
                deploy.blue = Some(BlueDoc {
                    target_group: blue.to_owned(),
                    source: BlueSource::Observed,
                });
            }
            _ => return Err(drift(switch, &forward)),
        }
    }
    Ok(())
}
