//! One service's switch, step by step: prepare green (image, capacity),
//! gates, weighted route changes with bake, read-back; and the way back to
//! blue, which never sends traffic to a side that cannot take it.

use std::time::Duration;

use tokio::time::Instant;

use crate::alarms::Watched;
use crate::aws::{Cloud, CloudError, Forward, GroupCapacity};
use crate::checks::{CheckPlace, Ended};
use crate::context::{Context, Failure};
use crate::cutover::ServiceSwitch;
use crate::gate::HealthGate;
use crate::journal::Event;

/// What a run knows of a service's two sides before it changes anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sides {
    /// The blue target group.
    pub blue: String,
    /// Blue's ECS desired count as first observed: green is scaled to it, and
    /// blue gets it back before traffic returns.
    pub blue_desired: Option<u32>,
    /// The container of green's task definition that gets the image.
    pub container: Option<String>,
    /// Blue's Auto Scaling group size as first observed: green's group is
    /// given it, and blue's gets it back before traffic returns.
    pub blue_capacity: Option<GroupCapacity>,
}

/// Calls `operation`, retrying throttling errors with exponential backoff
/// (on top of the SDK's own retries).
pub(crate) async fn with_retries<T, F, Fut>(
    ctx: &Context<impl Cloud, impl HealthGate>,
    mut operation: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CloudError>>,
{
    let mut delay = ctx.settings.poll_interval;
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(error) if error.is_throttling() && attempt < ctx.settings.aws_attempts => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Switches one service from blue to green, starting with the first step at
/// or above `from_percent` (0 for a fresh switch; a resumed one bakes its
/// current step again). On error the route may be anywhere between the two
/// sides (the caller rolls back).
pub(crate) async fn switch_service<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    sides: &Sides,
    from_percent: u32,
    watched: &[Watched],
    place: &CheckPlace,
) -> Result<(), Failure> {
    let blue = sides.blue.as_str();
    let green = switch.other(blue).to_owned();
    let service = switch.service.clone();
    let fail = |reason: String| Failure::service(&service, reason);
    let cloud = &*ctx.cloud;

    prepare(ctx, switch, sides, &green).await?;

    if let Some(test_route) = &switch.test_route {
        let to_green = Forward::to(&green);
        let live = with_retries(ctx, || cloud.forward(test_route))
            .await
            .map_err(|e| fail(e.to_string()))?;
        if live.sole_target() != Some(green.as_str()) {
            ctx.intent(&service, format!("{test_route}: all test traffic to green"))?;
            with_retries(ctx, || cloud.set_forward(test_route, &to_green))
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        ctx.record(Event::TestRouteSet {
            service: service.clone(),
        })?;
    }

    let gate = Waiting::gate(ctx);
    // Green's group is attached to the shared target group only by the
    // switch itself; before it, its readiness is the group's.
    if switch.attached_to.is_none() {
        gate.until(&service, "target-health", || {
            target_health(ctx, &green, "green")
        })
        .await?;
    }
    if switch.health.is_some() {
        gate.until(&service, "actuator", || ctx.gate.check(switch))
            .await?;
    }
    for check in &switch.checks {
        run_check(ctx, switch, check, &green, place).await?;
    }

    // Live state again, right before the first change: someone may have
    // moved the route since the run began.
    let live = with_retries(ctx, || cloud.forward(&switch.route))
        .await
        .map_err(|e| fail(e.to_string()))?;
    if let Some((stranger, _)) = live
        .targets
        .iter()
        .find(|(tg, weight)| *weight > 0 && tg != blue && *tg != green)
    {
        return Err(fail(format!(
            "drift: {} now forwards to {stranger}, neither blue nor green",
            switch.route
        )));
    }
    for &percent in switch.steps.iter().filter(|p| **p >= from_percent) {
        ctx.check_cancelled()?;
        alarm_gate(ctx, &service, watched).await?;
        let forward = if percent >= 100 {
            Forward::to(&green)
        } else {
            Forward::split(blue, &green, percent)
        };
        if switch.attached_to.is_some() {
            move_groups(ctx, switch, blue, &green, &Waiting::gate(ctx)).await?;
        } else {
            ctx.intent(&service, format!("{}: {percent}% to green", switch.route))?;
            with_retries(ctx, || cloud.set_forward(&switch.route, &forward))
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        ctx.record(Event::RouteSet {
            service: service.clone(),
            green_percent: percent,
            forward: forward.clone(),
        })?;
        let live = with_retries(ctx, || cloud.forward(&switch.route))
            .await
            .map_err(|e| fail(e.to_string()))?;
        if live.percent_to(&green) != percent {
            return Err(fail(format!(
                "{} should send {percent}% to green but sends {}%",
                switch.route,
                live.percent_to(&green)
            )));
        }
        ctx.record(Event::RouteObserved {
            service: service.clone(),
            forward: live,
        })?;
        bake(ctx, switch, switch.target_group_of(&green)).await?;
        ctx.record(Event::Baked {
            service: service.clone(),
            green_percent: percent,
        })?;
    }
    ctx.record(Event::ServiceSwitched { service })?;
    Ok(())
}

/// No watched alarm is in `ALARM` right before a change of the route; an
/// alarm is not waited out: it fails the gate at once.
async fn alarm_gate<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    service: &str,
    watched: &[Watched],
) -> Result<(), Failure> {
    if watched.is_empty() {
        return Ok(());
    }
    match crate::alarms::check(ctx, watched).await {
        Ok(()) => {
            ctx.record(Event::GatePassed {
                service: service.to_owned(),
                gate: "alarms".to_owned(),
            })?;
            Ok(())
        }
        Err(reason) => {
            ctx.record(Event::GateFailed {
                service: service.to_owned(),
                gate: "alarms".to_owned(),
                reason: reason.clone(),
            })?;
            Err(Failure::service(
                service,
                format!("gate `alarms` failed before the switch: {reason}"),
            ))
        }
    }
}

/// Runs one integration check against green (in a dry run, lists it).
async fn run_check<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    check: &cutover_planner::CheckDoc,
    green: &str,
    place: &CheckPlace,
) -> Result<(), Failure> {
    let service = &switch.service;
    let gate = format!("check:{}", check.name);
    let timeout = Duration::from_millis(check.timeout_ms);
    if ctx.settings.dry_run {
        ctx.record(Event::CheckFinished {
            service: service.clone(),
            check: check.name.clone(),
            result: "not-run".to_owned(),
            exit_code: None,
            duration_ms: 0,
            output: format!(
                "sh -c '{}' in {} (timeout {})",
                check.run,
                place.folder.display(),
                describe(timeout)
            ),
        })?;
        return Ok(());
    }
    ctx.check_cancelled()?;
    let env = crate::checks::environment(switch, green, place);
    let ran = crate::checks::run(check, &env, &place.folder, ctx.cancelled()).await;
    let (result, exit_code) = match &ran.ended {
        Ended::Passed => ("passed", Some(0)),
        Ended::Failed(code) => ("failed", *code),
        Ended::TimedOut => ("timed-out", None),
        Ended::Cancelled => ("cancelled", None),
        Ended::NotStarted(_) => ("not-started", None),
    };
    ctx.record(Event::CheckFinished {
        service: service.clone(),
        check: check.name.clone(),
        result: result.to_owned(),
        exit_code,
        duration_ms: u64::try_from(ran.duration.as_millis()).unwrap_or(u64::MAX),
        output: ran.output.clone(),
    })?;
    if ran.ended == Ended::Passed {
        ctx.record(Event::GatePassed {
            service: service.clone(),
            gate,
        })?;
        return Ok(());
    }
    ctx.check_cancelled()?;
    let reason = format!(
        "check `{}` {}",
        check.name,
        crate::checks::describe(&ran.ended, timeout)
    );
    ctx.record(Event::GateFailed {
        service: service.clone(),
        gate,
        reason: reason.clone(),
    })?;
    let output = ran.output.trim_end();
    Err(Failure::service(
        service,
        if output.is_empty() {
            format!("{reason} (no output)")
        } else {
            format!("{reason}; the end of its output:\n{output}")
        },
    ))
}

/// Green ready to take traffic: its ECS service or Auto Scaling group runs
/// the release at blue's capacity. Each step is skipped when already done,
/// so a resumed run (or a switch prepared ahead) repeats nothing.
pub(crate) async fn prepare<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    sides: &Sides,
    green: &str,
) -> Result<(), Failure> {
    if let Some(group) = switch.group_for(green) {
        return prepare_group(ctx, switch, sides, group).await;
    }
    let Some((cluster, ecs_service)) = switch.ecs_service_for(green) else {
        return Ok(());
    };
    let service = &switch.service;
    let fail = |error: CloudError| Failure::service(service, error.to_string());
    let cloud = &*ctx.cloud;
    if let (Some(image), Some(container)) = (&switch.image, &sides.container) {
        let state = with_retries(ctx, || cloud.ecs_service(cluster, ecs_service))
            .await
            .map_err(fail)?;
        let containers = with_retries(ctx, || cloud.containers(&state.task_definition))
            .await
            .map_err(fail)?;
        if !containers
            .iter()
            .any(|c| &c.name == container && &c.image == image)
        {
            ctx.intent(
                service,
                format!("ECS `{ecs_service}`: new task definition revision with `{container}` on `{image}`"),
            )?;
            let task_definition = with_retries(ctx, || {
                cloud.deploy_image(cluster, ecs_service, container, image)
            })
            .await
            .map_err(fail)?;
            ctx.record(Event::ImageDeployed {
                service: service.clone(),
                task_definition,
            })?;
        }
    }
    if let Some(desired) = sides.blue_desired {
        let state = with_retries(ctx, || cloud.ecs_service(cluster, ecs_service))
            .await
            .map_err(fail)?;
        if state.desired != desired {
            scale(ctx, service, cluster, ecs_service, desired)
                .await
                .map_err(fail)?;
        }
    }
    Waiting::gate(ctx)
        .until(service, "ecs-steady", || {
            ecs_steady(ctx, cluster, ecs_service)
        })
        .await
}

/// Green's Auto Scaling group launches the release's AMI (a new launch
/// template version), has blue's size, has no instance left from another
/// AMI, and every instance is in service and healthy.
async fn prepare_group<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    sides: &Sides,
    group: &str,
) -> Result<(), Failure> {
    let service = &switch.service;
    let fail = |error: CloudError| Failure::service(service, error.to_string());
    let cloud = &*ctx.cloud;
    let state = with_retries(ctx, || cloud.auto_scaling_group(group))
        .await
        .map_err(fail)?;
    if let Some(ami) = &switch.ami
        && state.template_image.as_deref() != Some(ami.as_str())
    {
        ctx.intent(
            service,
            format!("group `{group}`: new launch template version with {ami}"),
        )?;
        let version = with_retries(ctx, || cloud.set_group_image(group, ami))
            .await
            .map_err(fail)?;
        ctx.record(Event::GroupImageSet {
            service: service.clone(),
            group: group.to_owned(),
            image: ami.clone(),
            version,
        })?;
    }
    if let Some(capacity) = sides.blue_capacity
        && state.capacity != capacity
    {
        scale_group(ctx, service, group, capacity)
            .await
            .map_err(fail)?;
    }
    if let Some(ami) = &switch.ami {
        let state = with_retries(ctx, || cloud.auto_scaling_group(group))
            .await
            .map_err(fail)?;
        for instance in state.instances.iter().filter(|i| {
            i.image.as_deref() != Some(ami.as_str()) && !i.lifecycle.starts_with("Terminat")
        }) {
            ctx.intent(
                service,
                format!("group `{group}`: replace {} (not on {ami})", instance.id),
            )?;
            with_retries(ctx, || cloud.replace_instance(group, &instance.id))
                .await
                .map_err(fail)?;
            ctx.record(Event::InstanceReplaced {
                service: service.clone(),
                group: group.to_owned(),
                instance: instance.id.clone(),
            })?;
        }
    }
    Waiting::gate(ctx)
        .until(service, "asg-ready", || {
            group_ready(ctx, group, switch.ami.as_deref())
        })
        .await
}

/// Sets a group's size, journaling the intent and the outcome.
pub(crate) async fn scale_group<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    service: &str,
    group: &str,
    capacity: GroupCapacity,
) -> Result<(), CloudError> {
    ctx.intent(service, format!("group `{group}`: {capacity}"))
        .map_err(journal_error)?;
    with_retries(ctx, || ctx.cloud.set_group_capacity(group, capacity)).await?;
    ctx.record(Event::GroupScaled {
        service: service.to_owned(),
        group: group.to_owned(),
        capacity,
    })
    .map_err(journal_error)
}

/// A journal write that failed, as the error of the AWS step it records.
pub(crate) fn journal_error(error: crate::journal::JournalError) -> CloudError {
    CloudError::Service {
        operation: "journal",
        message: error.to_string(),
        throttled: false,
    }
}

async fn group_ready<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    group: &str,
    image: Option<&str>,
) -> Result<(), String> {
    with_retries(ctx, || ctx.cloud.auto_scaling_group(group))
        .await
        .map_err(|e| e.to_string())?
        .readiness(image)
}

/// Moves the shared target group from group `from` to group `to`: attaches
/// `to`, waits until every instance of it is healthy in the target group
/// (both releases serve: the plan's "during" state), then detaches `from`
/// and waits until its instances have drained. Steps already done are
/// skipped, so it can be repeated after an interruption.
async fn move_groups<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    from_side: &str,
    to_side: &str,
    waiting: &Waiting<'_, C, G>,
) -> Result<(), Failure> {
    let service = &switch.service;
    let fail = |error: CloudError| Failure::service(service, error.to_string());
    let (Some(target_group), Some(from), Some(to)) = (
        switch.attached_to.as_deref(),
        switch.group_for(from_side),
        switch.group_for(to_side),
    ) else {
        return Ok(());
    };
    let cloud = &*ctx.cloud;
    let attached = |forward: &Forward, group: &str| forward.targets.iter().any(|(g, _)| g == group);
    let live = with_retries(ctx, || cloud.forward(&switch.route))
        .await
        .map_err(fail)?;
    if !attached(&live, to) {
        ctx.intent(service, format!("attach group `{to}` to {target_group}"))?;
        with_retries(ctx, || cloud.attach_target_group(to, target_group))
            .await
            .map_err(fail)?;
        ctx.record(Event::GroupAttached {
            service: service.clone(),
            group: to.to_owned(),
        })?;
    }
    waiting
        .until(service, "attached-healthy", || {
            serving(ctx, target_group, to)
        })
        .await?;
    if attached(&live, from) {
        ctx.intent(
            service,
            format!("detach group `{from}` from {target_group}"),
        )?;
        with_retries(ctx, || cloud.detach_target_group(from, target_group))
            .await
            .map_err(fail)?;
        ctx.record(Event::GroupDetached {
            service: service.clone(),
            group: from.to_owned(),
        })?;
    }
    waiting
        .until(service, "drained", || drained(ctx, target_group, from))
        .await
}

/// A group and the targets of a target group, read together.
async fn group_and_targets<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    target_group: &str,
    group: &str,
) -> Result<(crate::aws::AutoScalingGroup, Vec<crate::aws::Target>), String> {
    let state = with_retries(ctx, || ctx.cloud.auto_scaling_group(group))
        .await
        .map_err(|e| e.to_string())?;
    let targets = with_retries(ctx, || ctx.cloud.targets(target_group))
        .await
        .map_err(|e| e.to_string())?;
    Ok((state, targets))
}

/// Every instance of `group` is registered in `target_group` and healthy.
async fn serving<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    target_group: &str,
    group: &str,
) -> Result<(), String> {
    let (state, targets) = group_and_targets(ctx, target_group, group).await?;
    state.readiness(None)?;
    let healthy = state
        .instances
        .iter()
        .filter(|i| targets.iter().any(|t| t.id == i.id && t.state == "healthy"))
        .count();
    if healthy == state.instances.len() && healthy > 0 {
        Ok(())
    } else {
        Err(format!(
            "{healthy} of {} instances of group `{group}` are healthy in the target group",
            state.instances.len()
        ))
    }
}

/// No instance of `group` is registered in `target_group` any more.
async fn drained<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    target_group: &str,
    group: &str,
) -> Result<(), String> {
    let (state, targets) = group_and_targets(ctx, target_group, group).await?;
    let left = targets
        .iter()
        .filter(|t| state.instances.iter().any(|i| i.id == t.id))
        .count();
    if left == 0 {
        Ok(())
    } else {
        Err(format!(
            "{left} instances of group `{group}` are still registered (draining)"
        ))
    }
}

/// Sets a desired count, journaling the intent and the outcome.
pub(crate) async fn scale<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    service: &str,
    cluster: &str,
    ecs_service: &str,
    desired: u32,
) -> Result<(), CloudError> {
    ctx.intent(
        service,
        format!("ECS `{ecs_service}`: desired count {desired}"),
    )
    .map_err(journal_error)?;
    with_retries(ctx, || {
        ctx.cloud.scale_service(cluster, ecs_service, desired)
    })
    .await?;
    ctx.record(Event::Scaled {
        service: service.to_owned(),
        ecs_service: ecs_service.to_owned(),
        desired,
    })
    .map_err(journal_error)
}

async fn ecs_steady<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    cluster: &str,
    ecs_service: &str,
) -> Result<(), String> {
    let state = with_retries(ctx, || ctx.cloud.ecs_service(cluster, ecs_service))
        .await
        .map_err(|e| e.to_string())?;
    if state.is_steady() {
        Ok(())
    } else {
        Err(format!(
            "ECS service `{ecs_service}` is not steady: {} of {} tasks running, {} deployments",
            state.running, state.desired, state.deployments
        ))
    }
}

async fn target_health<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    target_group: &str,
    side: &str,
) -> Result<(), String> {
    let health = with_retries(ctx, || ctx.cloud.target_health(target_group))
        .await
        .map_err(|e| e.to_string())?;
    if health.total > 0 && health.healthy == health.total {
        Ok(())
    } else {
        Err(format!(
            "{side} target group has {} of {} targets healthy",
            health.healthy, health.total
        ))
    }
}

/// Polls a check until it passes or the gate timeout is over, whatever the
/// poll interval: the last wait ends at the deadline, and a check still
/// running then is cut off.
struct Waiting<'a, C, G> {
    ctx: &'a Context<C, G>,
    /// Whether a signal or a lost lease stops the wait (not on the way back
    /// to blue, which must finish).
    cancellable: bool,
}

impl<'a, C: Cloud, G: HealthGate> Waiting<'a, C, G> {
    fn gate(ctx: &'a Context<C, G>) -> Self {
        Waiting {
            ctx,
            cancellable: true,
        }
    }

    fn rollback(ctx: &'a Context<C, G>) -> Self {
        Waiting {
            ctx,
            cancellable: false,
        }
    }

    async fn until<F, Fut>(&self, service: &str, gate: &str, mut check: F) -> Result<(), Failure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let ctx = self.ctx;
        let timeout = ctx.settings.gate_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            if self.cancellable {
                ctx.check_cancelled()?;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = tokio::time::timeout(remaining.max(Duration::from_millis(100)), check())
                .await
                .unwrap_or_else(|_| Err("the check did not answer in time".to_owned()));
            match outcome {
                Ok(()) => {
                    ctx.record(Event::GatePassed {
                        service: service.to_owned(),
                        gate: gate.to_owned(),
                    })?;
                    return Ok(());
                }
                // A dry run lists the gate's reads once and goes on.
                Err(_) if ctx.settings.dry_run => return Ok(()),
                Err(reason) if Instant::now() >= deadline => {
                    ctx.record(Event::GateFailed {
                        service: service.to_owned(),
                        gate: gate.to_owned(),
                        reason: reason.clone(),
                    })?;
                    return Err(Failure::service(
                        service,
                        format!(
                            "gate `{gate}` did not pass within {}: {reason}",
                            describe(timeout)
                        ),
                    ));
                }
                Err(_) => {
                    let next = (Instant::now() + ctx.settings.poll_interval).min(deadline);
                    if self.cancellable {
                        ctx.sleep_until(next).await?;
                    } else {
                        tokio::time::sleep_until(next).await;
                    }
                }
            }
        }
    }
}

/// Waits the bake time, re-checking green's gates along the way.
async fn bake<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    green: &str,
) -> Result<(), Failure> {
    if ctx.settings.dry_run {
        return Ok(());
    }
    // Checks every poll interval and at the end; sleeping until fixed instants
    // keeps the bake exactly as long as planned.
    let end = Instant::now() + switch.bake;
    let mut next = Instant::now();
    while next < end {
        next = (next + ctx.settings.poll_interval).min(end);
        ctx.sleep_until(next).await?;
        let mut checked = target_health(ctx, green, "green").await;
        if checked.is_ok() && switch.health.is_some() {
            checked = ctx.gate.check(switch).await;
        }
        if let Err(reason) = checked {
            ctx.record(Event::GateFailed {
                service: switch.service.clone(),
                gate: "bake".to_owned(),
                reason: reason.clone(),
            })?;
            return Err(Failure::service(
                &switch.service,
                format!("during bake: {reason}"),
            ));
        }
    }
    Ok(())
}

/// Makes the route forward everything to blue again, after blue has its
/// capacity back and is steady and healthy. Returns whether it changed the
/// route; when blue cannot take the traffic within the gate timeout, the
/// route stays where it is and the error says why.
pub(crate) async fn restore<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    sides: &Sides,
) -> Result<bool, String> {
    let blue = &sides.blue;
    let live = with_retries(ctx, || ctx.cloud.forward(&switch.route))
        .await
        .map_err(|e| e.to_string())?;
    if live.percent_to(blue) == 100 {
        return Ok(false);
    }
    blue_ready(ctx, switch, sides).await.map_err(|failure| {
        format!(
            "blue is not ready to take its traffic back, so {} stays as it is: {}",
            switch.route, failure.reason
        )
    })?;
    if switch.attached_to.is_some() {
        let green = switch.other(blue);
        move_groups(ctx, switch, green, blue, &Waiting::rollback(ctx))
            .await
            .map_err(|failure| failure.reason)?;
        return Ok(true);
    }
    ctx.intent(
        &switch.service,
        format!("{}: all traffic back to blue", switch.route),
    )
    .map_err(|e| e.to_string())?;
    let to_blue = Forward::to(blue);
    with_retries(ctx, || ctx.cloud.set_forward(&switch.route, &to_blue))
        .await
        .map_err(|e| e.to_string())?;
    Ok(true)
}

/// Blue's ECS service or Auto Scaling group back at its recorded capacity
/// and steady, and its target group healthy; waits up to the gate timeout.
async fn blue_ready<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    sides: &Sides,
) -> Result<(), Failure> {
    let blue = &sides.blue;
    let service = &switch.service;
    let waiting = Waiting::rollback(ctx);
    if let (Some((cluster, ecs_service)), Some(desired)) =
        (switch.ecs_service_for(blue), sides.blue_desired)
    {
        let fail = |e: CloudError| Failure::service(service, e.to_string());
        let state = with_retries(ctx, || ctx.cloud.ecs_service(cluster, ecs_service))
            .await
            .map_err(fail)?;
        if state.desired < desired {
            scale(ctx, service, cluster, ecs_service, desired)
                .await
                .map_err(fail)?;
        }
        waiting
            .until(service, "blue-ecs-steady", || {
                ecs_steady(ctx, cluster, ecs_service)
            })
            .await?;
    }
    if let (Some(group), Some(capacity)) = (switch.group_for(blue), sides.blue_capacity) {
        let fail = |e: CloudError| Failure::service(service, e.to_string());
        let state = with_retries(ctx, || ctx.cloud.auto_scaling_group(group))
            .await
            .map_err(fail)?;
        if state.capacity != capacity {
            scale_group(ctx, service, group, capacity)
                .await
                .map_err(fail)?;
        }
        waiting
            .until(service, "blue-asg-ready", || {
                group_ready(ctx, group, switch.current_ami.as_deref())
            })
            .await?;
    }
    // Blue's group joins the shared target group only when it is moved back.
    if switch.attached_to.is_some() {
        return Ok(());
    }
    waiting
        .until(service, "blue-target-health", || {
            target_health(ctx, blue, "blue")
        })
        .await
}

/// `1m`, `1s500ms`, `250ms`: the planner's one duration format.
pub(crate) fn describe(duration: Duration) -> String {
    cutover_planner::format_duration(duration)
}
