//! The SDK-backed cloud's Auto Scaling side against moto server: groups,
//! their launch template versions and instances' AMIs, capacity, instance
//! replacement, and target group attachments. These tests fail, never skip,
//! when moto is missing.

use cutover_executor::sandbox::{BLUE_INSTANCES, GROUP_MAX_SIZE, Shop, ShopKind, ShopService};
use cutover_executor::{Cloud, CloudError, Forward, GroupCapacity, Route, SdkCloud, Target};

use super::moto::moto;

fn asg(service: &ShopService) -> &cutover_executor::sandbox::ShopGroups {
    service.asg.as_ref().expect("an Auto Scaling service")
}

fn ids(targets: &[Target]) -> Vec<String> {
    let mut ids: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    ids.sort();
    ids
}

async fn instance_ids(cloud: &SdkCloud, group: &str) -> Vec<String> {
    let mut ids: Vec<String> = cloud
        .auto_scaling_group(group)
        .await
        .expect("group")
        .instances
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn groups_show_capacity_template_and_instance_images() {
    let moto = moto().await;
    let shop = Shop::build_with(&moto, &[("orders", ShopKind::AsgPair)])
        .await
        .expect("shop");
    let cloud = moto.cloud().await;
    let orders = shop.service("orders").expect("orders");
    let groups = asg(orders);
    let [current, _] = &groups.amis;
    assert!(current.starts_with("ami-"), "{current}");

    let blue = cloud
        .auto_scaling_group(&groups.groups[0])
        .await
        .expect("blue");
    assert_eq!(blue.name, "orders-a");
    assert_eq!(
        blue.capacity,
        GroupCapacity {
            min: 0,
            max: GROUP_MAX_SIZE,
            desired: BLUE_INSTANCES
        }
    );
    assert_eq!(
        blue.template,
        Some((groups.launch_template.clone(), "$Default".to_owned()))
    );
    assert_eq!(blue.template_image.as_deref(), Some(current.as_str()));
    assert_eq!(blue.instances.len(), BLUE_INSTANCES as usize);
    for instance in &blue.instances {
        assert!(instance.is_ready(), "{instance:?}");
        assert_eq!(instance.image.as_deref(), Some(current.as_str()));
    }
    assert_eq!(blue.target_groups, [orders.target_groups[0].clone()]);
    blue.readiness(Some(current)).expect("blue is ready");

    let green = cloud
        .auto_scaling_group(&groups.groups[1])
        .await
        .expect("green");
    assert_eq!(green.capacity.desired, 0);
    assert!(green.instances.is_empty());
    assert_eq!(green.template_image.as_deref(), Some(current.as_str()));
    assert_eq!(green.target_groups, [orders.target_groups[1].clone()]);
}

#[tokio::test]
async fn a_new_image_reaches_the_template_and_new_instances() {
    let moto = moto().await;
    let shop = Shop::build_with(&moto, &[("orders", ShopKind::AsgPair)])
        .await
        .expect("shop");
    let cloud = moto.cloud().await;
    let groups = asg(shop.service("orders").expect("orders"));
    let [old, new] = &groups.amis;
    let [blue, green] = &groups.groups;

    // Green: a new version from the one it uses ($Default, 1), then scaled up.
    let version = cloud.set_group_image(green, new).await.expect("image");
    assert_eq!(version, "2");
    let described = cloud.auto_scaling_group(green).await.expect("green");
    assert_eq!(
        described.template,
        Some((groups.launch_template.clone(), "2".to_owned()))
    );
    assert_eq!(described.template_image.as_deref(), Some(new.as_str()));
    // Blue still launches from `$Default`, which a new version does not move.
    let described = cloud.auto_scaling_group(blue).await.expect("blue");
    assert_eq!(described.template_image.as_deref(), Some(old.as_str()));

    let capacity = GroupCapacity {
        min: 2,
        max: GROUP_MAX_SIZE,
        desired: 2,
    };
    cloud
        .set_group_capacity(green, capacity)
        .await
        .expect("scale up");
    let described = cloud.auto_scaling_group(green).await.expect("green");
    assert_eq!(described.capacity, capacity);
    assert_eq!(described.instances.len(), 2);
    described
        .readiness(Some(new))
        .expect("green on the new AMI");

    // Blue: a new version, then one instance replaced: the replacement
    // launches from the new AMI, the other keeps the old one.
    assert_eq!(cloud.set_group_image(blue, new).await.expect("image"), "3");
    let before = instance_ids(&cloud, blue).await;
    cloud
        .replace_instance(blue, &before[0])
        .await
        .expect("replace");
    let described = cloud.auto_scaling_group(blue).await.expect("blue");
    assert_eq!(
        described.capacity.desired, BLUE_INSTANCES,
        "not decremented"
    );
    assert_eq!(described.instances.len(), BLUE_INSTANCES as usize);
    assert!(described.instances.iter().all(|i| i.id != before[0]));
    let replacement = described
        .instances
        .iter()
        .find(|i| !before.contains(&i.id))
        .expect("a replacement");
    assert_eq!(replacement.image.as_deref(), Some(new.as_str()));
    let kept = described
        .instances
        .iter()
        .find(|i| i.id == before[1])
        .expect("the other instance stays");
    assert_eq!(kept.image.as_deref(), Some(old.as_str()));
    let refused = described.readiness(Some(new));
    assert!(
        refused.as_ref().is_err_and(|why| why.contains(&before[1])),
        "{refused:?}"
    );

    // Scaling in and to zero.
    let none = GroupCapacity {
        min: 0,
        max: GROUP_MAX_SIZE,
        desired: 0,
    };
    cloud
        .set_group_capacity(green, none)
        .await
        .expect("to zero");
    let described = cloud.auto_scaling_group(green).await.expect("green");
    assert_eq!(described.capacity, none);
    assert!(described.instances.is_empty(), "{described:?}");
}

#[tokio::test]
async fn attaching_and_detaching_moves_the_target_group_route() {
    let moto = moto().await;
    let shop = Shop::build_with(&moto, &[("orders", ShopKind::AsgShared)])
        .await
        .expect("shop");
    let cloud = moto.cloud().await;
    let groups = asg(shop.service("orders").expect("orders"));
    let [blue, green] = &groups.groups;
    let tg = groups.target_group.clone().expect("one target group");
    let route = Route::TargetGroup(tg.clone());

    let state = cloud.route(&route).await.expect("route");
    assert_eq!(state.forward, Forward::to(blue));
    assert!(state.actions.is_empty());
    // moto registers the instances of an attached group, healthy at once.
    let targets = cloud.targets(&tg).await.expect("targets");
    assert_eq!(ids(&targets), instance_ids(&cloud, blue).await);
    assert!(targets.iter().all(|t| t.state == "healthy"), "{targets:?}");
    let health = cloud.target_health(&tg).await.expect("health");
    assert_eq!(
        (health.healthy, health.total),
        (BLUE_INSTANCES, BLUE_INSTANCES)
    );

    cloud
        .set_group_capacity(
            green,
            GroupCapacity {
                min: 2,
                max: GROUP_MAX_SIZE,
                desired: 2,
            },
        )
        .await
        .expect("scale green");
    cloud.attach_target_group(green, &tg).await.expect("attach");
    let state = cloud.route(&route).await.expect("route");
    assert_eq!(
        state.forward.targets,
        [(blue.clone(), 1), (green.clone(), 1)]
    );
    let mut both = instance_ids(&cloud, blue).await;
    both.extend(instance_ids(&cloud, green).await);
    both.sort();
    assert_eq!(ids(&cloud.targets(&tg).await.expect("targets")), both);
    let attached = cloud.auto_scaling_group(green).await.expect("green");
    assert_eq!(attached.target_groups, std::slice::from_ref(&tg));

    // moto deregisters a detached group's instances at once (AWS drains them).
    cloud.detach_target_group(blue, &tg).await.expect("detach");
    assert_eq!(
        cloud.route(&route).await.expect("route").forward,
        Forward::to(green)
    );
    let targets = cloud.targets(&tg).await.expect("targets");
    assert_eq!(ids(&targets), instance_ids(&cloud, green).await);
    assert!(
        cloud
            .auto_scaling_group(blue)
            .await
            .expect("blue")
            .target_groups
            .is_empty()
    );

    // The groups are moved by attachment only: a forward cannot be set.
    let refused = cloud.set_forward(&route, &Forward::to(blue)).await;
    assert!(
        matches!(refused, Err(CloudError::UnsupportedRoute { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_replaced_instance_of_an_attached_group() {
    let moto = moto().await;
    let shop = Shop::build_with(&moto, &[("orders", ShopKind::AsgShared)])
        .await
        .expect("shop");
    let cloud = moto.cloud().await;
    let groups = asg(shop.service("orders").expect("orders"));
    let blue = &groups.groups[0];
    let tg = groups.target_group.clone().expect("one target group");
    let before = instance_ids(&cloud, blue).await;
    cloud
        .replace_instance(blue, &before[0])
        .await
        .expect("replace");
    let after = instance_ids(&cloud, blue).await;
    assert_eq!(after.len(), before.len());
    let replacement = after
        .iter()
        .find(|id| !before.contains(id))
        .expect("a replacement");
    let targets = cloud.targets(&tg).await.expect("targets");
    let state = |id: &str| targets.iter().find(|t| t.id == id).map(|t| t.state.clone());
    // The replacement is registered, healthy at once.
    assert_eq!(state(replacement).as_deref(), Some("healthy"));
    // moto leaves the terminated instance registered and reports it
    // healthy (AWS would drain and deregister it): a reader of moto's
    // targets must not count it.
    assert_eq!(state(&before[0]).as_deref(), Some("healthy"), "{targets:?}");
}

#[tokio::test]
async fn missing_groups_instances_and_target_groups_are_not_found() {
    let moto = moto().await;
    let shop = Shop::build_with(
        &moto,
        &[("orders", ShopKind::AsgPair), ("ledger", ShopKind::Ecs)],
    )
    .await
    .expect("shop");
    let cloud = moto.cloud().await;
    let orders = shop.service("orders").expect("orders");
    let groups = asg(orders);
    let [blue, green] = &groups.groups;
    let not_found = |result: Result<_, CloudError>, what: &str| match result {
        Err(CloudError::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    };

    not_found(
        cloud.auto_scaling_group("nope").await.map(|_| ()),
        "describe",
    );
    not_found(
        cloud
            .set_group_image("nope", &groups.amis[1])
            .await
            .map(|_| ()),
        "set image",
    );
    not_found(
        cloud
            .set_group_capacity("nope", GroupCapacity::default())
            .await,
        "capacity",
    );
    not_found(
        cloud.replace_instance(blue, "i-0123456789abcdef0").await,
        "unknown instance",
    );
    // An instance of another group is never terminated.
    let theirs = instance_ids(&cloud, blue).await;
    not_found(
        cloud.replace_instance(green, &theirs[0]).await,
        "instance of another group",
    );
    assert_eq!(instance_ids(&cloud, blue).await, theirs);
    let missing_tg = format!("{}-missing", orders.target_groups[0]);
    not_found(
        cloud
            .route(&Route::TargetGroup(missing_tg.clone()))
            .await
            .map(|_| ()),
        "route of a missing target group",
    );
    not_found(
        cloud.targets(&missing_tg).await.map(|_| ()),
        "targets of a missing target group",
    );

    // An ECS service's target group has no groups attached, and IP targets.
    let ledger = shop.service("ledger").expect("ledger");
    assert_eq!(ledger.deploy_yaml().matches("ecs:").count(), 1);
    let route = Route::TargetGroup(ledger.target_groups[0].clone());
    assert!(
        cloud
            .route(&route)
            .await
            .expect("route")
            .forward
            .targets
            .is_empty()
    );
}

#[tokio::test]
async fn a_group_without_a_launch_template_is_refused_a_new_image() {
    use aws_sdk_autoscaling::types::{
        InstancesDistribution, LaunchTemplate, LaunchTemplateSpecification, MixedInstancesPolicy,
    };
    let moto = moto().await;
    let shop = Shop::build_with(&moto, &[("orders", ShopKind::AsgPair)])
        .await
        .expect("shop");
    let cloud = moto.cloud().await;
    let groups = asg(shop.service("orders").expect("orders"));
    let autoscaling = aws_sdk_autoscaling::Client::new(&moto.sdk_config().await);
    autoscaling
        .create_launch_configuration()
        .launch_configuration_name("legacy")
        .image_id(&groups.amis[0])
        .instance_type("t3.micro")
        .send()
        .await
        .expect("launch configuration");
    autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name("legacy")
        .launch_configuration_name("legacy")
        .min_size(0)
        .max_size(1)
        .desired_capacity(1)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name("mixed")
        .mixed_instances_policy(
            MixedInstancesPolicy::builder()
                .launch_template(
                    LaunchTemplate::builder()
                        .launch_template_specification(
                            LaunchTemplateSpecification::builder()
                                .launch_template_id(&groups.launch_template)
                                .build(),
                        )
                        .build(),
                )
                .instances_distribution(InstancesDistribution::builder().build())
                .build(),
        )
        .min_size(0)
        .max_size(1)
        .desired_capacity(0)
        .availability_zones("us-east-1a")
        .send()
        .await
        .expect("group");
    for name in ["legacy", "mixed"] {
        let described = cloud.auto_scaling_group(name).await.expect("described");
        assert_eq!(described.template, None, "{name}");
        assert_eq!(described.template_image, None, "{name}");
        let refused = cloud.set_group_image(name, &groups.amis[1]).await;
        assert!(
            matches!(&refused, Err(CloudError::Service { message, .. })
                if message.contains("not a launch template")),
            "{name}: {refused:?}"
        );
    }
    let legacy = cloud.auto_scaling_group("legacy").await.expect("legacy");
    assert_eq!(legacy.instances.len(), 1);
    assert_eq!(
        legacy.instances[0].image.as_deref(),
        Some(groups.amis[0].as_str())
    );
}

#[tokio::test]
async fn deploy_blocks_name_the_routes_and_groups() {
    let moto = moto().await;
    let shop = Shop::build_with(
        &moto,
        &[
            ("orders", ShopKind::AsgPair),
            ("ledger", ShopKind::AsgShared),
        ],
    )
    .await
    .expect("shop");
    let orders = shop.service("orders").expect("orders");
    assert_eq!(
        orders.deploy_yaml(),
        format!(
            "    deploy:\n      listener: {}\n      rule: {}\n      target_groups: [{}, {}]\n      asg: {{groups: [orders-a, orders-b]}}\n",
            orders.listener, orders.rule, orders.target_groups[0], orders.target_groups[1]
        )
    );
    let ledger = shop.service("ledger").expect("ledger");
    let tg = asg(ledger).target_group.clone().expect("one target group");
    assert!(tg.contains(":targetgroup/ledger/"), "{tg}");
    assert_eq!(
        ledger.deploy_yaml(),
        format!(
            "    deploy:\n      target_group: {tg}\n      asg: {{groups: [ledger-a, ledger-b]}}\n"
        )
    );
    // Each service has AMIs of its own.
    assert_ne!(asg(orders).amis, asg(ledger).amis);
    // The shared target group's rule forwards to it.
    let cloud = moto.cloud().await;
    assert_eq!(
        cloud
            .forward(&Route::Rule(ledger.rule.clone()))
            .await
            .expect("rule")
            .sole_target(),
        Some(tg.as_str())
    );
}
