//! One service's switch, step by step: prepare green, gates, weighted route
//! changes with bake, read-back; and the way back to blue.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{Cloud, CloudError, Forward};
use crate::context::{Context, Failure};
use crate::cutover::ServiceSwitch;
use crate::gate::HealthGate;
use crate::journal::Event;

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

/// Switches one service from `blue` to green; on error the route may be
/// anywhere between the two (the caller rolls back).
pub(crate) async fn switch_service<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    blue: &str,
) -> Result<(), Failure> {
    let green = switch.other(blue).to_owned();
    let service = switch.service.clone();
    let fail = |reason: String| Failure::service(&service, reason);
    let cloud = &*ctx.cloud;

    if let Some((cluster, ecs_service)) = switch.ecs_service_for(&green) {
        if let Some(image) = &switch.image {
            let task_definition =
                with_retries(ctx, || cloud.deploy_image(cluster, ecs_service, image))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
            ctx.record(Event::ImageDeployed {
                service: service.clone(),
                task_definition,
            })?;
        }
        wait_until(ctx, &service, "ecs-steady", || async {
            let state = with_retries(ctx, || cloud.ecs_service(cluster, ecs_service))
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
        })
        .await?;
    }

    if let Some(test_route) = &switch.test_route {
        let to_green = Forward::to(&green);
        with_retries(ctx, || cloud.set_forward(test_route, &to_green))
            .await
            .map_err(|e| fail(e.to_string()))?;
        ctx.record(Event::TestRouteSet {
            service: service.clone(),
        })?;
    }

    wait_until(ctx, &service, "target-health", || {
        target_health(ctx, &green)
    })
    .await?;
    if switch.health.is_some() {
        wait_until(ctx, &service, "actuator", || ctx.gate.check(switch)).await?;
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
    for &percent in &switch.steps {
        ctx.check_cancelled()?;
        let forward = if percent >= 100 {
            Forward::to(&green)
        } else {
            Forward::split(blue, &green, percent)
        };
        with_retries(ctx, || cloud.set_forward(&switch.route, &forward))
            .await
            .map_err(|e| fail(e.to_string()))?;
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
        bake(ctx, switch, &green).await?;
        ctx.record(Event::Baked {
            service: service.clone(),
            green_percent: percent,
        })?;
    }
    ctx.record(Event::ServiceSwitched { service })?;
    Ok(())
}

async fn target_health<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    target_group: &str,
) -> Result<(), String> {
    let health = with_retries(ctx, || ctx.cloud.target_health(target_group))
        .await
        .map_err(|e| e.to_string())?;
    if health.total > 0 && health.healthy == health.total {
        Ok(())
    } else {
        Err(format!(
            "green target group has {} of {} targets healthy",
            health.healthy, health.total
        ))
    }
}

/// Polls `check` until it passes, the gate timeout passes, or the run is cancelled.
async fn wait_until<C, G, F, Fut>(
    ctx: &Context<C, G>,
    service: &str,
    gate: &str,
    mut check: F,
) -> Result<(), Failure>
where
    C: Cloud,
    G: HealthGate,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + ctx.settings.gate_timeout;
    loop {
        ctx.check_cancelled()?;
        match check().await {
            Ok(()) => {
                ctx.record(Event::GatePassed {
                    service: service.to_owned(),
                    gate: gate.to_owned(),
                })?;
                return Ok(());
            }
            Err(reason) if Instant::now() >= deadline => {
                return Err(Failure::service(
                    service,
                    format!(
                        "gate `{gate}` did not pass within {}: {reason}",
                        describe(ctx.settings.gate_timeout)
                    ),
                ));
            }
            Err(_) => ctx.sleep(ctx.settings.poll_interval).await?,
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
        let fail =
            |reason: String| Failure::service(&switch.service, format!("during bake: {reason}"));
        target_health(ctx, green).await.map_err(fail)?;
        if switch.health.is_some() {
            ctx.gate.check(switch).await.map_err(fail)?;
        }
    }
    Ok(())
}

/// Makes the route forward everything to `blue` again (a no-op when it does).
pub(crate) async fn restore<C: Cloud, G: HealthGate>(
    ctx: &Context<C, G>,
    switch: &ServiceSwitch,
    blue: &str,
) -> Result<bool, CloudError> {
    let live = with_retries(ctx, || ctx.cloud.forward(&switch.route)).await?;
    if live.percent_to(blue) == 100 {
        return Ok(false);
    }
    let to_blue = Forward::to(blue);
    with_retries(ctx, || ctx.cloud.set_forward(&switch.route, &to_blue)).await?;
    Ok(true)
}

/// `60s`, `1.5s`, `250ms`.
pub(crate) fn describe(duration: Duration) -> String {
    if duration.as_millis().is_multiple_of(1000) {
        format!("{}s", duration.as_secs())
    } else if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
