//! Services on EC2 Auto Scaling groups, with the binary against moto: a
//! release of both shapes (a route between two target groups; groups that
//! attach in turn to one), its dry run, retiring blue and rolling back, and
//! a blue that does not run the matrix's current AMI.

use cutover_executor::sandbox::{MotoServer, Shop, ShopKind};
use cutover_executor::{AutoScalingGroup, Cloud, Route, SdkCloud};

use super::*;

/// moto with `web` (two target groups behind a rule) consuming `batch`
/// (one target group the groups attach to in turn).
struct Fleet {
    runtime: tokio::runtime::Runtime,
    moto: MotoServer,
    shop: Shop,
    cloud: SdkCloud,
    dir: tempfile::TempDir,
}

impl Fleet {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let (moto, shop, cloud) = runtime.block_on(async {
            let moto = MotoServer::start()
                .await
                .unwrap_or_else(|e| panic!("moto server is needed for this test: {e}"));
            let shop = Shop::build_with(
                &moto,
                &[("batch", ShopKind::AsgShared), ("web", ShopKind::AsgPair)],
            )
            .await
            .expect("shop");
            let cloud = moto.cloud().await;
            (moto, shop, cloud)
        });
        Fleet {
            runtime,
            moto,
            shop,
            cloud,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The AMIs of a service: what blue runs (1.0.0) and the release's (2.0.0).
    fn amis(&self, name: &str) -> [String; 2] {
        let service = self.shop.service(name).expect("service");
        service.asg.as_ref().expect("groups").amis.clone()
    }

    /// Writes the matrix, with `current_ami` as what `batch` 1.0.0 runs, and plans it.
    fn plan(&self, batch_current_ami: &str) -> PathBuf {
        let [_, batch_new] = self.amis("batch");
        let [web_old, web_new] = self.amis("web");
        let deploy = |name: &str| self.shop.service(name).expect("service").deploy_yaml();
        let matrix = format!(
            "version: 1\ndefaults:\n  deploy: {{bake: 10ms}}\nservices:\n  batch:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{ami: {batch_current_ami}, provides: {{batch-api: 1.0.0}}}}\n      2.0.0: {{ami: {batch_new}, provides: {{batch-api: [1.0.0, 2.0.0]}}}}\n{}  web:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{ami: {web_old}, consumes: {{batch-api: ^1}}}}\n      2.0.0: {{ami: {web_new}, consumes: {{batch-api: ^2}}}}\n{}      strategy: linear\n      steps: [50, 100]\n",
            deploy("batch"),
            deploy("web"),
        );
        let path = self.dir.path().join("fleet.yaml");
        std::fs::write(&path, matrix).expect("matrix");
        let plan = self.dir.path().join("plan.json");
        plan_json(&path, &plan);
        plan
    }

    /// `cutover COMMAND FILE` against moto, with the lock and fast polls.
    fn run(&self, command: &str, file: &Path, extra: &[&str]) -> Run {
        let endpoint = self.moto.endpoint_url();
        let mut args = vec![
            command,
            file.to_str().expect("utf-8"),
            "--endpoint-url",
            endpoint.as_str(),
            "--region",
            "us-east-1",
            "--poll-interval",
            "100ms",
            "--gate-timeout",
            "30s",
            "--lock-table",
            "cutover-locks",
        ];
        args.extend(extra);
        cutover_aws(&args)
    }

    fn group(&self, name: &str) -> AutoScalingGroup {
        self.runtime
            .block_on(self.cloud.auto_scaling_group(name))
            .expect("group")
    }

    /// The groups attached to `batch`'s target group.
    fn batch_attached(&self) -> Vec<String> {
        let batch = self.shop.service("batch").expect("batch");
        let target_group = batch.asg.as_ref().and_then(|a| a.target_group.clone());
        let route = Route::TargetGroup(target_group.expect("shared target group"));
        let live = self
            .runtime
            .block_on(self.cloud.route(&route))
            .expect("route");
        live.forward.targets.into_iter().map(|(g, _)| g).collect()
    }

    /// The share of `web`'s production traffic on its green target group.
    fn web_on_green(&self) -> u32 {
        let web = self.shop.service("web").expect("web");
        let route = Route::Rule(web.rule.clone());
        let live = self
            .runtime
            .block_on(self.cloud.forward(&route))
            .expect("route");
        live.percent_to(&web.target_groups[1])
    }
}

fn images(group: &AutoScalingGroup) -> Vec<String> {
    group
        .instances
        .iter()
        .map(|i| i.image.clone().unwrap_or_default())
        .collect()
}

#[test]
fn auto_scaling_services_release_retire_and_roll_back_against_moto() {
    let fleet = Fleet::start();
    let [batch_old, batch_new] = fleet.amis("batch");
    let [web_old, web_new] = fleet.amis("web");
    let plan = fleet.plan(&batch_old);
    let blue_size = fleet.group("web-a").capacity;
    assert_eq!(blue_size.desired, 2);

    let dry = fleet.run("execute", &plan, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.transcript());
    for call in [
        format!("CreateLaunchTemplateVersion (from batch-b's version, ImageId {batch_new})"),
        "UpdateAutoScalingGroup web-b min 0 max 4 desired 2".to_owned(),
        "AttachLoadBalancerTargetGroups batch-b".to_owned(),
        "DetachLoadBalancerTargetGroups batch-a".to_owned(),
        "ModifyRule".to_owned(),
    ] {
        assert!(dry.stdout.contains(&call), "{call}:\n{}", dry.stdout);
    }
    assert_eq!(
        fleet.batch_attached(),
        ["batch-a"],
        "a dry run changes nothing"
    );
    assert_eq!(fleet.group("web-b").capacity.desired, 0);

    let real = fleet.run("execute", &plan, &["--retire-blue", "--prepare", "ahead"]);
    assert_eq!(real.code, 0, "{}", real.transcript());
    assert!(
        real.stdout.contains("outcome: succeeded"),
        "{}",
        real.stdout
    );
    // web: green's group launched the new AMI at blue's size, the rule on green.
    let web_green = fleet.group("web-b");
    assert_eq!(web_green.capacity, blue_size);
    assert_eq!(web_green.template_image.as_deref(), Some(web_new.as_str()));
    assert_eq!(images(&web_green), [web_new.clone(), web_new.clone()]);
    assert_eq!(fleet.web_on_green(), 100);
    // batch: only green's group is attached, on the new AMI.
    assert_eq!(fleet.batch_attached(), ["batch-b"]);
    assert_eq!(
        images(&fleet.group("batch-b")),
        [batch_new.clone(), batch_new.clone()]
    );
    // --retire-blue: both blue groups at 0.
    for blue in ["web-a", "batch-a"] {
        let group = fleet.group(blue);
        assert_eq!(
            (group.capacity.min, group.capacity.desired),
            (0, 0),
            "{blue}"
        );
        assert!(group.instances.is_empty(), "{blue}: {:?}", group.instances);
    }

    let journal = fleet.dir.path().join("plan.journal.jsonl");
    let back = fleet.run("rollback", &journal, &[]);
    assert_eq!(back.code, 0, "{}", back.transcript());
    assert_eq!(fleet.web_on_green(), 0, "web back on blue");
    assert_eq!(fleet.batch_attached(), ["batch-a"], "batch back on blue");
    let web_blue = fleet.group("web-a");
    assert_eq!(web_blue.capacity, blue_size, "blue's size back");
    assert_eq!(images(&web_blue), [web_old.clone(), web_old]);
    assert_eq!(
        images(&fleet.group("batch-a")),
        [batch_old.clone(), batch_old]
    );
    // Blue's size came back before its traffic, in reverse plan order.
    let order: Vec<&str> = back
        .stderr
        .lines()
        .filter(|l| {
            l.contains("group `web-a`: min")
                || l.contains("back on blue")
                || l.contains("group `batch-a` attached")
        })
        .collect();
    assert!(
        order.len() >= 3
            && order[0].contains("group `web-a`: min")
            && order[1].starts_with("web: back on blue")
            && order.iter().any(|l| l.contains("group `batch-a` attached")),
        "{}",
        back.stderr
    );
}

#[test]
fn a_blue_group_on_another_ami_than_current_is_refused() {
    let fleet = Fleet::start();
    let [_, batch_new] = fleet.amis("batch");
    // The matrix says batch 1.0.0 runs the new AMI: not what blue launched.
    let plan = fleet.plan(&batch_new);
    let run = fleet.run("execute", &plan, &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("blue's Auto Scaling group `batch-a` has instance"),
        "{}",
        run.stderr
    );
    assert_eq!(fleet.batch_attached(), ["batch-a"]);
    assert_eq!(
        fleet.group("batch-b").capacity.desired,
        0,
        "nothing changed"
    );
}
