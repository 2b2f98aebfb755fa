//! What a run learns before it changes anything: the two sides of each
//! service as they are on AWS (capacity, the container that gets the image,
//! the image blue runs), and what an earlier run's journal recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cutover_planner::PlanDocument;

use crate::aws::{Cloud, Container, GroupCapacity, repository, short_digest};
use crate::context::Context;
use crate::cutover::ServiceSwitch;
use crate::gate::HealthGate;
use crate::journal::{Event, Record, read_journal};
use crate::plan_file::read_plan;
use crate::report::RunError;
use crate::switch::{Sides, with_retries};

/// Reads a service's two sides on AWS: their ECS capacity (as `Capacity`
/// events to journal), the container of green's task definition that gets
/// the image, and that blue runs the current release's image.
pub(crate) async fn observe_sides<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    blue: &str,
) -> Result<(Sides, Vec<Event>), RunError> {
    let mut sides = Sides {
        blue: blue.to_owned(),
        blue_desired: None,
        container: None,
        blue_capacity: None,
    };
    if switch.groups.is_some() {
        return observe_groups(ctx, switch, sides).await;
    }
    let Some((cluster, _)) = &switch.ecs else {
        return Ok((sides, Vec::new()));
    };
    let green = switch.other(blue);
    let mut capacity = Vec::new();
    let mut states = Vec::new();
    for (side, target_group) in [("blue", blue), ("green", green)] {
        let Some((_, ecs_service)) = switch.ecs_service_for(target_group) else {
            continue;
        };
        let state = with_retries(ctx, || ctx.cloud.ecs_service(cluster, ecs_service)).await?;
        capacity.push(Event::Capacity {
            service: switch.service.clone(),
            ecs_service: ecs_service.to_owned(),
            side: side.to_owned(),
            desired: state.desired,
        });
        states.push((ecs_service.to_owned(), state));
    }
    let [(blue_service, blue_state), (green_service, green_state)] = states.as_slice() else {
        return Ok((sides, capacity));
    };
    sides.blue_desired = Some(blue_state.desired);
    if let Some(image) = &switch.image {
        let containers =
            with_retries(ctx, || ctx.cloud.containers(&green_state.task_definition)).await?;
        sides.container = Some(pick_container(switch, green_service, &containers, image)?.name);
    }
    if let Some(current) = &switch.current_image {
        let containers =
            with_retries(ctx, || ctx.cloud.containers(&blue_state.task_definition)).await?;
        let container = pick_container(switch, blue_service, &containers, current)?;
        if &container.image != current {
            return Err(RunError::Drift(format!(
                "`{}`: blue's ECS service `{blue_service}` runs `{}` in container `{}`, but the matrix's current release {} is `{current}`; fix `current` in the matrix, or find out what was deployed",
                switch.service, container.image, container.name, switch.from
            )));
        }
    }
    Ok((sides, capacity))
}

/// The two Auto Scaling groups of a service: their sizes (as
/// `GroupCapacity` events), that green's launches from a launch template
/// cutover can give the new AMI, and that blue's instances run the current
/// release's AMI.
async fn observe_groups<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    mut sides: Sides,
) -> Result<(Sides, Vec<Event>), RunError> {
    let blue = sides.blue.clone();
    let mut capacity = Vec::new();
    let mut blue_template = None;
    for (side, of) in [("blue", blue.as_str()), ("green", switch.other(&blue))] {
        let Some(name) = switch.group_for(of) else {
            continue;
        };
        let group = with_retries(ctx, || ctx.cloud.auto_scaling_group(name)).await?;
        capacity.push(Event::GroupCapacity {
            service: switch.service.clone(),
            group: name.to_owned(),
            side: side.to_owned(),
            capacity: group.capacity,
        });
        if side == "blue" {
            blue_template = group.template.clone();
            sides.blue_capacity = Some(group.capacity);
            if let Some(current) = &switch.current_ami
                && let Some(instance) = group
                    .instances
                    .iter()
                    .find(|i| i.image.as_deref() != Some(current.as_str()))
            {
                return Err(RunError::Drift(format!(
                    "`{}`: blue's Auto Scaling group `{name}` has instance {} on {}, but the matrix's current release {} is `{current}`; fix `current` in the matrix, or find out what was launched",
                    switch.service,
                    instance.id,
                    instance.image.as_deref().unwrap_or("an unknown AMI"),
                    switch.from
                )));
            }
        } else if switch.ami.is_some() {
            let Some((template, _)) = &group.template else {
                return Err(RunError::Refused(format!(
                    "`{}`: green's Auto Scaling group `{name}` launches from no launch template (a launch configuration or a mixed-instances policy); cutover gives the new AMI through a launch template version",
                    switch.service
                )));
            };
            // A new version of a template blue launches as `$Latest` would
            // put the new AMI on blue's next instance too.
            if let Some((blue_id, version)) = &blue_template
                && blue_id == template
                && version == "$Latest"
            {
                let blue_group = switch.group_for(&blue).unwrap_or_default();
                return Err(RunError::Refused(format!(
                    "`{}`: blue's Auto Scaling group `{blue_group}` launches `$Latest` of launch template `{template}`, which green's new version would become, so blue would launch the new AMI too; pin blue's group to a version number first (`aws autoscaling update-auto-scaling-group --auto-scaling-group-name {blue_group} --launch-template LaunchTemplateId={template},Version=N`)",
                    switch.service
                )));
            }
        }
    }
    Ok((sides, capacity))
}

/// The container that gets `image`: the one `deploy.ecs.container` names,
/// else the one container whose image repository is `image`'s. None or
/// several is a refusal, never a guess.
fn pick_container(
    switch: &ServiceSwitch,
    ecs_service: &str,
    containers: &[Container],
    image: &str,
) -> Result<Container, RunError> {
    let names = || {
        containers
            .iter()
            .map(|c| format!("`{}` ({})", c.name, c.image))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let refuse = |problem: String| {
        RunError::Refused(format!(
            "`{}`: the task definition of ECS service `{ecs_service}` {problem}; its containers: {}",
            switch.service,
            names()
        ))
    };
    if let Some(name) = &switch.container {
        return containers
            .iter()
            .find(|c| &c.name == name)
            .cloned()
            .ok_or_else(|| {
                refuse(format!(
                    "has no container `{name}` (`deploy.ecs.container`)"
                ))
            });
    }
    let wanted = repository(image);
    let matching: Vec<&Container> = containers
        .iter()
        .filter(|c| repository(&c.image) == wanted)
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(refuse(format!(
            "has no container running an image of `{wanted}`; name the container with `deploy.ecs.container`"
        ))),
        several => Err(refuse(format!(
            "has {} containers running an image of `{wanted}`; name one with `deploy.ecs.container`",
            several.len()
        ))),
    }
}

/// What a journal recorded, as `resume` and `rollback` need it.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// The plan file and digest of the first run.
    plan: Option<(PathBuf, String)>,
    /// Digests of runs that name another plan.
    other_digests: Vec<String>,
    blues: BTreeMap<String, String>,
    blue_desired: BTreeMap<String, u32>,
    blue_capacity: BTreeMap<String, GroupCapacity>,
    routes_recorded: BTreeSet<String>,
    capacities: BTreeSet<(String, String)>,
    /// Per service, whether its last route event is `ServiceSwitched`.
    switched: BTreeMap<String, bool>,
}

impl Recorded {
    /// Reads a journal that must record a run.
    pub(crate) fn read(path: &Path) -> Result<Self, RunError> {
        let recorded = Self::from_records(&read_journal(path)?);
        if recorded.plan.is_none() {
            return Err(RunError::BadFile {
                path: path.to_owned(),
                problem: "is a journal that records no run".to_owned(),
            });
        }
        if !recorded.other_digests.is_empty() {
            return Err(RunError::BadFile {
                path: path.to_owned(),
                problem: "records runs of different plans; use one journal per plan".to_owned(),
            });
        }
        Ok(recorded)
    }

    /// Reads a journal if there is one (an `execute` may append to it).
    pub(crate) fn read_if_present(path: &Path) -> Result<Self, RunError> {
        match std::fs::metadata(path) {
            Ok(_) => Ok(Self::from_records(&read_journal(path)?)),
            Err(_) => Ok(Self::default()),
        }
    }

    fn from_records(records: &[Record]) -> Self {
        let mut recorded = Recorded::default();
        for record in records {
            match &record.event {
                Event::RunStarted {
                    plan, plan_sha256, ..
                } => match &recorded.plan {
                    None => recorded.plan = Some((plan.clone(), plan_sha256.clone())),
                    Some((_, first)) if first != plan_sha256 => {
                        recorded.other_digests.push(plan_sha256.clone());
                    }
                    Some(_) => {}
                },
                Event::BlueGreen { service, blue, .. } => {
                    recorded
                        .blues
                        .entry(service.clone())
                        .or_insert_with(|| blue.clone());
                }
                Event::RouteRecorded { service, .. } => {
                    recorded.routes_recorded.insert(service.clone());
                }
                Event::Capacity {
                    service,
                    side,
                    desired,
                    ..
                } => {
                    if side == "blue" {
                        recorded
                            .blue_desired
                            .entry(service.clone())
                            .or_insert(*desired);
                    }
                    recorded.capacities.insert((service.clone(), side.clone()));
                }
                Event::GroupCapacity {
                    service,
                    side,
                    capacity,
                    ..
                } => {
                    if side == "blue" {
                        recorded
                            .blue_capacity
                            .entry(service.clone())
                            .or_insert(*capacity);
                    }
                    recorded.capacities.insert((service.clone(), side.clone()));
                }
                Event::GroupRetired {
                    service,
                    capacity_before,
                    ..
                } => {
                    recorded
                        .blue_capacity
                        .entry(service.clone())
                        .or_insert(*capacity_before);
                }
                Event::BlueRetired {
                    service,
                    desired_before,
                    ..
                } => {
                    recorded
                        .blue_desired
                        .entry(service.clone())
                        .or_insert(*desired_before);
                }
                Event::RouteSet { service, .. }
                | Event::RouteRestored { service, .. }
                | Event::GroupAttached { service, .. }
                | Event::GroupDetached { service, .. } => {
                    recorded.switched.insert(service.clone(), false);
                }
                Event::ServiceSwitched { service } => {
                    recorded.switched.insert(service.clone(), true);
                }
                _ => {}
            }
        }
        recorded
    }

    /// Refuses a journal that records runs of another plan.
    pub(crate) fn refuse_other_plan(&self, journal: &Path, digest: &str) -> Result<(), RunError> {
        match &self.plan {
            Some((plan, recorded)) if recorded != digest => Err(RunError::BadFile {
                path: journal.to_owned(),
                problem: format!(
                    "records the run of another plan (`{}`, SHA-256 {}); give this run its own `--journal`",
                    plan.display(),
                    short_digest(recorded)
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The recorded plan, refused when its content changed since the run began.
    pub(crate) fn plan(&self, journal: &Path) -> Result<(PlanDocument, PathBuf, String), RunError> {
        let Some((path, digest)) = &self.plan else {
            return Err(RunError::BadFile {
                path: journal.to_owned(),
                problem: "is a journal that records no run".to_owned(),
            });
        };
        let (plan, now) = read_plan(path)?;
        if &now != digest {
            return Err(RunError::Stale(format!(
                "the plan `{}` changed since the run recorded in `{}` began (SHA-256 {} now, {} then); put back the plan that run was made from",
                path.display(),
                journal.display(),
                short_digest(&now),
                short_digest(digest)
            )));
        }
        Ok((plan, path.clone(), now))
    }

    /// The blue the first run found.
    pub(crate) fn blue(&self, service: &str) -> Option<&str> {
        self.blues.get(service).map(String::as_str)
    }

    /// Blue's ECS desired count as first observed.
    pub(crate) fn blue_desired(&self, service: &str) -> Option<u32> {
        self.blue_desired.get(service).copied()
    }

    /// Blue's Auto Scaling group size as first observed.
    pub(crate) fn blue_capacity(&self, service: &str) -> Option<GroupCapacity> {
        self.blue_capacity.get(service).copied()
    }

    /// Whether the service's last route change was followed by its last bake.
    pub(crate) fn switched(&self, service: &str) -> bool {
        self.switched.get(service).copied().unwrap_or(false)
    }

    /// Of the first-seen facts of a service (its route's actions and its
    /// capacities), those the journal does not have yet.
    pub(crate) fn missing_first_seen(
        &self,
        switch: &ServiceSwitch,
        actions: &[crate::aws::ActionRecord],
        capacities: Vec<Event>,
    ) -> Vec<Event> {
        let mut missing = Vec::new();
        if !self.routes_recorded.contains(&switch.service) {
            missing.push(crate::run::route_recorded(switch, actions));
        }
        missing.extend(capacities.into_iter().filter(|event| match event {
            Event::Capacity { service, side, .. } | Event::GroupCapacity { service, side, .. } => {
                !self.capacities.contains(&(service.clone(), side.clone()))
            }
            _ => true,
        }));
        missing
    }
}
