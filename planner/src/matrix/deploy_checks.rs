//! Checks of the `deploy` blocks that go beyond one value's type: ARN
//! shapes, distinct target groups and ECS services, `steps` that a strategy
//! uses, images that something deploys, and Actuator URLs that are safe to
//! send a token to. Values that could not be read were reported already and
//! are not checked again.

use super::arn::{ArnKind, ArnShape, arn_shape};
use super::deploy::StrategySource;
use super::url_check::{UrlProblem, url_problems};
use super::{Located, Matrix, Service, Strategy};
use crate::diagnostic::{Code, Diagnostic};

/// Every problem of the `deploy` blocks, `defaults.deploy` and release images.
pub(crate) fn check_deploy(matrix: &Matrix) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for service in matrix.services.values() {
        check_service(matrix, service, &mut out);
    }
    check_default_steps(matrix, &mut out);
    check_shared(matrix, &mut out);
    out
}

/// A production route, target group, ECS service or Auto Scaling group
/// named by two services: their switches would move each other's traffic.
/// (A test listener may be shared; its rules are each service's own.)
fn check_shared(matrix: &Matrix, out: &mut Vec<Diagnostic>) {
    let mut first: std::collections::HashMap<(&str, String), (&str, &Located<String>)> =
        std::collections::HashMap::new();
    for service in matrix.services.values() {
        let deploy = &service.deploy;
        let mut named: Vec<(&str, String, &Located<String>)> = Vec::new();
        match (&deploy.rule, &deploy.listener) {
            (Some(rule), _) => named.push(("the rule", rule.value.clone(), rule)),
            (None, Some(listener)) => {
                named.push(("the listener", listener.value.clone(), listener));
            }
            (None, None) => {}
        }
        for group in deploy.target_groups.iter().flatten() {
            named.push(("the target group", group.value.clone(), group));
        }
        if let Some(single) = &deploy.target_group {
            named.push(("the target group", single.value.clone(), single));
        }
        if let Some(ecs) = &deploy.ecs {
            for name in &ecs.services {
                let key = format!("{}/{}", ecs.cluster, name.value);
                named.push(("the ECS service", key, name));
            }
        }
        for group in deploy.asg.iter().flat_map(|asg| &asg.groups) {
            named.push(("the Auto Scaling group", group.value.clone(), group));
        }
        for (kind, key, located) in named {
            match first.get(&(kind, key.clone())) {
                Some((other, earlier)) if *other != service.name => {
                    out.push(
                        Diagnostic::error(
                            Code::SharedDeployResource,
                            located.span,
                            format!(
                                "`{}` and `{other}` both name {kind} `{}`; a switch of one would move the other's traffic",
                                service.name, located.value
                            ),
                        )
                        .with_label("named by two services")
                        .with_secondary(earlier.span, format!("named by `{other}`"))
                        .with_hint("give each service its own routes, target groups and ECS services or Auto Scaling groups (with a shared listener, give each service its own `rule`)"),
                    );
                }
                Some(_) => {}
                None => {
                    first.insert((kind, key), (service.name.as_str(), located));
                }
            }
        }
    }
}

fn check_service(matrix: &Matrix, service: &Service, out: &mut Vec<Diagnostic>) {
    let deploy = &service.deploy;
    let within = format!("`deploy` of service `{}`", service.name);
    let arns = [
        (
            "listener",
            deploy.listener.as_ref(),
            &[ArnKind::Listener][..],
        ),
        ("rule", deploy.rule.as_ref(), &[ArnKind::ListenerRule]),
        (
            "target_group",
            deploy.target_group.as_ref(),
            &[ArnKind::TargetGroup],
        ),
        (
            "test_listener",
            deploy.test_listener.as_ref(),
            &[ArnKind::Listener, ArnKind::ListenerRule],
        ),
    ];
    for (field, value, expected) in arns {
        if let Some(value) = value {
            out.extend(arn_diagnostic(value, field, &within, expected));
        }
    }
    if let Some(groups) = &deploy.target_groups {
        for group in groups {
            out.extend(arn_diagnostic(
                group,
                "target_groups",
                &within,
                &[ArnKind::TargetGroup],
            ));
        }
        out.extend(duplicate(
            groups,
            Code::DuplicateTargetGroup,
            &format!("`target_groups` in {within} names the same target group twice; expected the blue and the green one"),
            "list the two different target groups the route switches between",
        ));
    }
    if let Some(ecs) = &deploy.ecs {
        out.extend(duplicate(
            &ecs.services,
            Code::DuplicateEcsService,
            &format!("`ecs.services` in {within} names the same ECS service twice; expected one per target group"),
            "name the ECS service behind each target group, in the order of `target_groups`",
        ));
        if deploy.target_groups.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MissingField,
                    ecs.span,
                    format!("{within} has `ecs` but no `target_groups`"),
                )
                .with_label("`ecs.services` follow the order of `target_groups`")
                .with_hint("list the two target groups under `target_groups`, in the order of `ecs.services`"),
            );
        }
    }
    check_groups(matrix, service, &within, out);
    let token_env = matrix.defaults.health.token_env.as_deref();
    for (field, url) in [
        ("health", deploy.health.as_ref()),
        ("live_health", deploy.live_health.as_ref()),
    ] {
        if let Some(url) = url {
            out.extend(url_diagnostics(url, field, &within, token_env));
        }
    }
    check_steps(matrix, service, &within, out);
    for check in &deploy.checks {
        if let Some(default) = matrix
            .defaults
            .checks
            .iter()
            .find(|d| d.name.value == check.name.value)
        {
            out.push(
                Diagnostic::error(
                    Code::DuplicateCheck,
                    check.name.span,
                    format!(
                        "the check `{}` of {within} has the name of a check in `defaults.deploy.checks`; both would run",
                        check.name.value
                    ),
                )
                .with_label("same name as a default check")
                .with_secondary(default.name.span, "the default check")
                .with_hint("rename one of them; the journal and the run report tell checks apart by name"),
            );
        }
    }
    for release in service.releases.values() {
        if let (Some(image), None) = (&release.image, &deploy.ecs) {
            out.push(image_without_ecs(service, &release.version, image));
        }
        if let (Some(ami), None) = (&release.ami, &deploy.asg) {
            out.push(ami_without_asg(service, &release.version, ami));
        }
    }
}

/// The Auto Scaling shapes: `asg` beside `target_groups` (the route
/// switches) or beside `target_group` (the groups attach in turn), never
/// with `ecs`; one target group switches all at once.
fn check_groups(matrix: &Matrix, service: &Service, within: &str, out: &mut Vec<Diagnostic>) {
    let deploy = &service.deploy;
    let conflict = |span, message: String, label: &str, hint: &str| {
        Diagnostic::error(Code::ConflictingFields, span, message)
            .with_label(label.to_owned())
            .with_hint(hint.to_owned())
    };
    if let (Some(asg), Some(_)) = (&deploy.asg, &deploy.ecs) {
        out.push(conflict(
            asg.span,
            format!("{within} has both `ecs` and `asg`; a service runs on one of them"),
            "`asg` beside `ecs`",
            "keep `ecs` for a service on ECS, `asg` for one on EC2 Auto Scaling groups",
        ));
    }
    if let Some(single) = &deploy.target_group {
        if deploy.target_groups.is_some() {
            out.push(conflict(
                single.span,
                format!("{within} has both `target_group` and `target_groups`"),
                "`target_group` beside `target_groups`",
                "use `target_groups` (two) when a route switches between them, or `target_group` (one) when the Auto Scaling groups attach to it in turn",
            ));
        }
        if let Some(test) = &deploy.test_listener {
            out.push(conflict(
                test.span,
                format!("{within} has `test_listener`, but with `target_group` green has no target group of its own to test"),
                "no green target group to point at",
                "remove `test_listener`, or give the service two `target_groups` behind a route",
            ));
        }
        if deploy.asg.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MissingField,
                    single.span,
                    format!("{within} has `target_group` but no `asg`"),
                )
                .with_label("nothing to attach to it")
                .with_hint("name the two Auto Scaling groups that take turns behind it: `asg: {groups: [NAME_A, NAME_B]}`"),
            );
        }
        let (strategy, source) = deploy.strategy_in_force(&matrix.defaults);
        if strategy != Strategy::AllAtOnce {
            let from = match source {
                StrategySource::Service => "its `strategy`",
                StrategySource::Defaults | StrategySource::Unset => "`defaults.deploy.strategy`",
            };
            let name = strategy.name();
            out.push(
                Diagnostic::error(
                    Code::UnsupportedStrategy,
                    single.span,
                    format!("{within} attaches its Auto Scaling groups to one `target_group`, which moves traffic all at once, but {from} is `{name}`"),
                )
                .with_label("one target group: all at once")
                .with_hint("set `strategy: all-at-once` on this service, or give it two `target_groups` behind a route to move traffic in steps"),
            );
        }
    }
    if let Some(asg) = &deploy.asg {
        out.extend(duplicate(
            &asg.groups,
            Code::DuplicateAsgGroup,
            &format!("`asg.groups` in {within} names the same Auto Scaling group twice; expected blue's and green's"),
            "name the two different Auto Scaling groups, in the order of `target_groups`",
        ));
        if deploy.target_groups.is_none() && deploy.target_group.is_none() {
            out.push(
                Diagnostic::error(
                    Code::MissingField,
                    asg.span,
                    format!("{within} has `asg` but neither `target_groups` nor `target_group`"),
                )
                .with_label("the groups serve behind target groups")
                .with_hint("list the two target groups under `target_groups` (in the order of `asg.groups`), or the one they attach to in turn under `target_group`"),
            );
        }
    }
}

fn arn_diagnostic(
    value: &Located<String>,
    field: &str,
    within: &str,
    expected: &[ArnKind],
) -> Option<Diagnostic> {
    let found = match arn_shape(&value.value) {
        ArnShape::Is(kind) if expected.contains(&kind) => return None,
        ArnShape::Is(kind) => kind.describe().to_owned(),
        ArnShape::Other(found) => found,
    };
    let wanted = expected
        .iter()
        .map(|kind| kind.describe())
        .collect::<Vec<_>>()
        .join(" or ");
    let forms = expected
        .iter()
        .map(|kind| format!("`{}`", kind.form()))
        .collect::<Vec<_>>()
        .join(" or ");
    let hint = match (expected.first(), arn_shape(&value.value)) {
        (Some(ArnKind::ListenerRule), ArnShape::Is(ArnKind::Listener)) => {
            "to switch the listener's default action, put this ARN under `listener` and remove `rule`; otherwise `aws elbv2 describe-rules --listener-arn LISTENER` lists the rules".to_owned()
        }
        (Some(ArnKind::Listener), ArnShape::Is(ArnKind::ListenerRule)) if field == "listener" => {
            "a rule's ARN belongs under `rule`; `listener` takes the ARN of the listener it belongs to".to_owned()
        }
        (Some(ArnKind::Listener), _) => {
            "`aws elbv2 describe-listeners --load-balancer-arn BALANCER` lists the listener ARNs".to_owned()
        }
        (Some(ArnKind::ListenerRule), _) => {
            "`aws elbv2 describe-rules --listener-arn LISTENER` lists the rule ARNs".to_owned()
        }
        (Some(ArnKind::TargetGroup) | None, _) => {
            "`aws elbv2 describe-target-groups` lists the target group ARNs".to_owned()
        }
    };
    Some(
        Diagnostic::error(
            Code::InvalidArn,
            value.span,
            format!("`{field}` in {within} must be {wanted} ({forms}), found {found}"),
        )
        .with_label(format!("expected {wanted}"))
        .with_hint(hint),
    )
}

/// The second occurrence of a value already listed, pointing back at the first.
fn duplicate(
    list: &[Located<String>],
    code: Code,
    message: &str,
    hint: &str,
) -> Option<Diagnostic> {
    list.iter().enumerate().find_map(|(i, item)| {
        let first = list[..i]
            .iter()
            .find(|earlier| earlier.value == item.value)?;
        Some(
            Diagnostic::error(code, item.span, message)
                .with_label("named again here")
                .with_secondary(first.span, "first named here")
                .with_hint(hint),
        )
    })
}

fn url_diagnostics(
    url: &Located<String>,
    field: &str,
    within: &str,
    token_env: Option<&str>,
) -> Vec<Diagnostic> {
    url_problems(&url.value, token_env.is_some())
        .into_iter()
        .map(|problem| match problem {
            UrlProblem::Invalid(found) => Diagnostic::error(
                Code::InvalidUrl,
                url.span,
                format!("`{field}` in {within} must be an `http://` or `https://` URL with a host, found {found}"),
            )
            .with_label("not an Actuator URL")
            .with_hint("write the Actuator base URL, e.g. `https://orders.internal:8443/actuator`"),
            UrlProblem::Credentials { shown, user_info } => {
                let variable = match token_env {
                    Some(name) => format!("the environment variable `{name}` named by `defaults.health.token_env`"),
                    None => "an environment variable and name it in `defaults.health.token_env`".to_owned(),
                };
                Diagnostic::error(
                    Code::CredentialsInUrl,
                    url.span,
                    format!("`{field}` in {within} holds credentials (`{shown}`); they would be written into plan files and logs"),
                )
                .with_label("credentials in the URL")
                .with_hint(format!("remove `{user_info}` from the URL and put the bearer token in {variable}"))
            }
            UrlProblem::PlainHttp(host) => Diagnostic::warning(
                Code::TokenOverHttp,
                url.span,
                format!(
                    "`{field}` in {within} is plain `http://` to `{host}`, which is not loopback; the bearer token from `{}` would travel unencrypted",
                    token_env.unwrap_or_default()
                ),
            )
            .with_label("plain http")
            .with_hint("use `https://`, or reach the Actuator over a loopback address"),
        })
        .collect()
}

/// `steps` in a service's `deploy` that its strategy does not use.
fn check_steps(matrix: &Matrix, service: &Service, within: &str, out: &mut Vec<Diagnostic>) {
    let deploy = &service.deploy;
    let Some(steps) = &deploy.steps else {
        return;
    };
    let (strategy, source) = deploy.strategy_in_force(&matrix.defaults);
    let from = match source {
        StrategySource::Service => "its `strategy` is `all-at-once`",
        StrategySource::Defaults => "`defaults.deploy.strategy` is `all-at-once`",
        StrategySource::Unset => "no `strategy` is set, which means `all-at-once`",
    };
    if strategy != Strategy::AllAtOnce {
        return;
    }
    out.push(
        Diagnostic::error(
            Code::StepsWithoutStrategy,
            steps.span,
            format!("`steps` in {within} would never be used: {from}, which switches in one step"),
        )
        .with_label("unused steps")
        .with_hint(
            "add `strategy: canary` or `strategy: linear` beside `steps`, or remove `steps`",
        ),
    );
}

/// `defaults.deploy.steps` that no service uses.
fn check_default_steps(matrix: &Matrix, out: &mut Vec<Diagnostic>) {
    let defaults = &matrix.defaults;
    let Some(steps) = &defaults.steps else {
        return;
    };
    if defaults.strategy.is_some_and(|s| s != Strategy::AllAtOnce) {
        return;
    }
    let used = matrix.services.values().any(|service| {
        service.deploy.steps.is_none()
            && service
                .deploy
                .strategy
                .is_some_and(|s| s != Strategy::AllAtOnce)
    });
    if used {
        return;
    }
    let strategy = match defaults.strategy {
        Some(_) => "`defaults.deploy.strategy` is `all-at-once`",
        None => "no default `strategy` is set, which means `all-at-once`",
    };
    out.push(
        Diagnostic::error(
            Code::StepsWithoutStrategy,
            steps.span,
            format!(
                "`steps` in `defaults.deploy` would never be used: {strategy}, and no service without its own `steps` sets `canary` or `linear`"
            ),
        )
        .with_label("unused steps")
        .with_hint("add `strategy: canary` or `strategy: linear` to `defaults.deploy`, or remove `steps`"),
    );
}

fn ami_without_asg(
    service: &Service,
    version: &semver::Version,
    ami: &Located<String>,
) -> Diagnostic {
    let name = &service.name;
    Diagnostic::error(
        Code::AmiWithoutAsg,
        ami.span,
        format!("`ami` of `{name}` {version} would never be launched: `deploy` of service `{name}` has no `asg`"),
    )
    .with_label("no `asg` to launch it")
    .with_hint(
        "add `asg: {groups: [GROUP_A, GROUP_B]}` under `deploy` (the Auto Scaling groups, in the order of `target_groups`), or remove `ami`",
    )
}

fn image_without_ecs(
    service: &Service,
    version: &semver::Version,
    image: &Located<String>,
) -> Diagnostic {
    let name = &service.name;
    Diagnostic::error(
        Code::ImageWithoutEcs,
        image.span,
        format!("`image` of `{name}` {version} would never be deployed: `deploy` of service `{name}` has no `ecs`"),
    )
    .with_label("no `ecs` to run it")
    .with_hint(
        "add `ecs: {cluster: CLUSTER, services: [SERVICE_A, SERVICE_B]}` under `deploy` (the ECS services behind `target_groups`, in the same order), or remove `image`",
    )
}

#[cfg(test)]
mod tests {
    use crate::{Limits, Severity, validate_bytes};

    /// `(code, severity, line)` of every diagnostic of `yaml`.
    fn findings(yaml: &str) -> Vec<(&'static str, Severity, u32)> {
        validate_bytes("m.yaml", yaml.as_bytes(), &Limits::default())
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.severity, d.primary.span.line))
            .collect()
    }

    const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup";

    #[test]
    fn ecs_needs_target_groups() {
        let yaml = "version: 1\nservices:\n  a:\n    current: 1.0.0\n    releases: {1.0.0: {image: r/a:1}}\n    deploy:\n      ecs: {cluster: shop, services: [a-1, a-2]}\n";
        assert_eq!(findings(yaml), [("missing-field", Severity::Error, 7)]);
    }

    #[test]
    fn a_well_formed_deploy_block_has_no_findings() {
        let yaml = format!(
            "version: 1\ndefaults:\n  health: {{token_env: T, timeout: 5m}}\n  deploy: {{steps: [10, 100], bake: 24h}}\nservices:\n  a:\n    current: 1.0.0\n    releases: {{1.0.0: {{image: r/a:1}}}}\n    deploy:\n      listener: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/s/1/2\n      test_listener: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/s/1/2/3\n      target_groups: [{TG}/a-1/1, {TG}/a-2/2]\n      ecs: {{cluster: shop, services: [a-1, a-2], container: app}}\n      health: https://a.internal/actuator\n      live_health: http://localhost:8080/actuator\n      strategy: canary\n"
        );
        assert_eq!(findings(&yaml), []);
    }

    #[test]
    fn the_same_target_group_in_two_places_of_one_list_is_reported_once() {
        let yaml = format!(
            "version: 1\nservices:\n  a:\n    current: 1.0.0\n    releases: {{1.0.0: {{}}}}\n    deploy:\n      target_groups: [{TG}/a/1, {TG}/a/1]\n"
        );
        assert_eq!(
            findings(&yaml),
            [("duplicate-target-group", Severity::Error, 7)]
        );
    }
}
