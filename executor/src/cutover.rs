//! A plan document turned into something executable: per service, the
//! routes, the two target groups, the ECS services, the image, the steps and
//! the bake time, checked for completeness before anything is called.

use std::time::Duration;

use cutover_planner::{
    CheckDoc, ConsumerDoc, DeployDoc, HealthDoc, PlanDocument, RouteDoc, describe_missing,
    missing_facts,
};

use crate::aws::Route;

/// One service's switch from blue to green.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSwitch {
    /// The service.
    pub service: String,
    /// Release on blue.
    pub from: String,
    /// Release on green.
    pub to: String,
    /// The production route; for groups that attach in turn to one target
    /// group, [`Route::TargetGroup`].
    pub route: Route,
    /// The test listener (or one of its rules), pointed at green before the gates.
    pub test_route: Option<Route>,
    /// The two sides: the two target groups, or, when the groups attach in
    /// turn to one target group, the two Auto Scaling groups.
    pub sides: [String; 2],
    /// The side the plan expects to be blue.
    pub planned_blue: String,
    /// ECS cluster and services, in the order of `sides`.
    pub ecs: Option<(String, [String; 2])>,
    /// Auto Scaling groups, in the order of `sides`.
    pub groups: Option<[String; 2]>,
    /// The one target group both groups attach to in turn (shape 2).
    pub attached_to: Option<String>,
    /// AMI for green's group to launch.
    pub ami: Option<String>,
    /// The current release's AMI: what blue's instances must run.
    pub current_ami: Option<String>,
    /// The container that gets the image (`deploy.ecs.container`); when
    /// absent, the one container whose image repository matches.
    pub container: Option<String>,
    /// Image to deploy to green first.
    pub image: Option<String>,
    /// The current release's image: what blue's container must run.
    pub current_image: Option<String>,
    /// Actuator check of green.
    pub health: Option<HealthDoc>,
    /// Actuator behind the production route: must report `from` before any change.
    pub live_health: Option<HealthDoc>,
    /// Percent on green after each step.
    pub steps: Vec<u32>,
    /// Watch time after each step.
    pub bake: Duration,
    /// The wave it switches in, 1-based.
    pub wave: usize,
    /// Its own CloudWatch alarms.
    pub alarms: Vec<String>,
    /// The alarms watched for every switch (`defaults.deploy.alarms`).
    pub default_alarms: Vec<String>,
    /// Its direct consumers that have alarms.
    pub consumers: Vec<ConsumerDoc>,
    /// Integration checks run against green before the production switch.
    pub checks: Vec<CheckDoc>,
}

impl ServiceSwitch {
    /// The other side.
    pub fn other(&self, side: &str) -> &str {
        if self.sides[0] == side {
            &self.sides[1]
        } else {
            &self.sides[0]
        }
    }

    fn index(&self, side: &str) -> usize {
        usize::from(self.sides[0] != side)
    }

    /// The ECS service behind a side.
    pub fn ecs_service_for(&self, side: &str) -> Option<(&str, &str)> {
        let (cluster, services) = self.ecs.as_ref()?;
        Some((cluster, &services[self.index(side)]))
    }

    /// The Auto Scaling group of a side.
    pub fn group_for(&self, side: &str) -> Option<&str> {
        self.groups
            .as_ref()
            .map(|groups| groups[self.index(side)].as_str())
    }

    /// The target group a side serves from: its own, or the one both
    /// groups attach to.
    pub fn target_group_of<'a>(&'a self, side: &'a str) -> &'a str {
        self.attached_to.as_deref().unwrap_or(side)
    }
}

/// The executable form of a plan: waves of switches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cutover {
    /// The waves, in order.
    pub waves: Vec<Vec<ServiceSwitch>>,
}

/// Why a plan cannot be executed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// No safe order.
    #[error("the plan is not feasible: there is no safe order to execute")]
    NotFeasible,
    /// A service lacks what execution needs.
    #[error("`{service}` cannot be executed: {missing}")]
    Incomplete {
        /// The service.
        service: String,
        /// What is missing, in words.
        missing: String,
    },
}

impl Cutover {
    /// Checks a plan document and builds the cutover.
    pub fn from_plan(plan: &PlanDocument) -> Result<Self, PlanError> {
        if !plan.feasible {
            return Err(PlanError::NotFeasible);
        }
        let waves = plan
            .waves
            .iter()
            .enumerate()
            .map(|(index, wave)| {
                wave.services
                    .iter()
                    .map(|step| {
                        let incomplete = |missing: &str| PlanError::Incomplete {
                            service: step.service.clone(),
                            missing: missing.to_owned(),
                        };
                        // What `validate` warns about as `not-executable`, all at once.
                        let missing = missing_facts(step.deploy.as_ref());
                        let Some(deploy) = step.deploy.as_ref().filter(|_| missing.is_empty())
                        else {
                            return Err(incomplete(&describe_missing(&missing)));
                        };
                        switch(&step.service, &step.from, &step.to, deploy)
                            .map(|mut switch| {
                                switch.wave = index + 1;
                                switch
                            })
                            .map_err(incomplete)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cutover { waves })
    }

    /// Every switch in plan order.
    pub fn switches(&self) -> impl Iterator<Item = &ServiceSwitch> {
        self.waves.iter().flatten()
    }

    /// The switch of a service.
    pub fn switch(&self, service: &str) -> Option<&ServiceSwitch> {
        self.switches().find(|s| s.service == service)
    }
}

fn switch(
    service: &str,
    from: &str,
    to: &str,
    deploy: &DeployDoc,
) -> Result<ServiceSwitch, &'static str> {
    let groups = match &deploy.asg {
        None => None,
        Some(asg) => Some(
            <[String; 2]>::try_from(asg.groups.clone())
                .map_err(|_| "`deploy.asg.groups` must list exactly two groups")?,
        ),
    };
    if groups.as_ref().is_some_and(|[x, y]| x == y) {
        return Err("`deploy.asg.groups` names the same group twice");
    }
    let attached_to = deploy
        .attaches_groups()
        .then(|| deploy.target_group.clone())
        .flatten();
    let (route, [a, b]) = match (&attached_to, &groups) {
        (Some(target_group), Some(groups)) => {
            if deploy.steps != [100] {
                return Err("groups that attach to one `target_group` switch all at once");
            }
            (Route::TargetGroup(target_group.clone()), groups.clone())
        }
        _ => (
            deploy
                .route()
                .map(aws_route)
                .ok_or("`deploy.listener` is not set")?,
            <[String; 2]>::try_from(deploy.target_groups.clone())
                .map_err(|_| "`deploy.target_groups` must list exactly two target groups")?,
        ),
    };
    let planned_blue = match &deploy.blue {
        None => a.clone(),
        Some(blue) if attached_to.is_some() => blue.group.clone().unwrap_or_else(|| a.clone()),
        Some(blue) => blue.target_group.clone(),
    };
    if planned_blue != a && planned_blue != b {
        return Err("the plan's blue is not one of its two sides");
    }
    if a == b {
        return Err("`deploy.target_groups` names the same target group twice");
    }
    if groups.is_some() && deploy.ecs.is_some() {
        return Err("it has both `deploy.ecs` and `deploy.asg`");
    }
    if deploy.ami.is_some() && groups.is_none() {
        return Err("it has an `ami` but no `deploy.asg` to launch it");
    }
    let ecs = ecs_of(deploy)?;
    if ecs.as_ref().is_some_and(|(_, [x, y])| x == y) {
        return Err("`deploy.ecs.services` names the same service twice");
    }
    if deploy.image.is_some() && ecs.is_none() {
        return Err("it has an `image` but no `deploy.ecs` to run it");
    }
    let increasing = deploy.steps.windows(2).all(|w| w[0] < w[1]);
    if deploy.steps.last() != Some(&100) || !increasing || deploy.steps.first() == Some(&0) {
        return Err("its steps must rise strictly from 1 to 100");
    }
    Ok(ServiceSwitch {
        service: service.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        route,
        test_route: deploy.test_route().map(aws_route),
        sides: [a, b],
        planned_blue,
        groups,
        attached_to,
        ami: deploy.ami.clone(),
        current_ami: deploy.current_ami.clone(),
        container: deploy.ecs.as_ref().and_then(|e| e.container.clone()),
        ecs,
        image: deploy.image.clone(),
        current_image: deploy.current_image.clone(),
        health: deploy.health.clone(),
        live_health: deploy.live_health.clone(),
        steps: deploy.steps.clone(),
        bake: Duration::from_millis(deploy.bake_ms),
        wave: 0,
        alarms: deploy.alarms.clone(),
        default_alarms: deploy.default_alarms.clone(),
        consumers: deploy.consumers.clone(),
        checks: deploy.checks.clone(),
    })
}

fn ecs_of(deploy: &DeployDoc) -> Result<Option<(String, [String; 2])>, &'static str> {
    let Some(ecs) = &deploy.ecs else {
        return Ok(None);
    };
    let services = <[String; 2]>::try_from(ecs.services.clone())
        .map_err(|_| "`deploy.ecs.services` must list exactly two services")?;
    Ok(Some((ecs.cluster.clone(), services)))
}

/// The planner's typed route as the cloud calls name it.
fn aws_route(route: RouteDoc) -> Route {
    match route {
        RouteDoc::Listener(arn) => Route::Listener(arn),
        RouteDoc::Rule(arn) => Route::Rule(arn),
    }
}
