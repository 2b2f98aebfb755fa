//! A local stand-in for AWS and the services' Actuators, for `scripts/demo`
//! and for trying `cutover` by hand: moto server and small Actuator servers
//! on 127.0.0.1, a five-service shop on the emulated ALB (four services on
//! ECS, one on EC2 Auto Scaling groups), and its matrix.
//!
//! ```text
//! sandbox up DIR       # writes DIR/matrix.yaml, DIR/endpoint; runs until DIR/stop exists
//! sandbox routes DIR   # each production route, as a person reads it
//! ```

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::routing::get;
use cutover_executor::sandbox::{MotoServer, Shop, ShopKind, ShopService, sdk_config_at};
use cutover_executor::{Cloud, Route, SdkCloud};

type Error = Box<dyn std::error::Error>;

/// `ledger` first; each later service needs the one before it at 2.x.
const CHAIN: [(&str, Option<&str>); 5] = [
    ("ledger", None),
    ("payments", Some("ledger")),
    ("orders", Some("payments")),
    ("gateway", Some("orders")),
    ("web", Some("gateway")),
];

/// How each service runs: `web` on two Auto Scaling groups, each behind
/// its own target group; the others on ECS.
fn kind(name: &str) -> ShopKind {
    if name == "web" {
        ShopKind::AsgPair
    } else {
        ShopKind::Ecs
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, dir] if command == "up" => up(Path::new(dir)).await,
        [command, dir] if command == "routes" => routes(Path::new(dir)).await,
        _ => Err("usage: sandbox up DIR | sandbox routes DIR".into()),
    }
}

/// Starts everything, writes the files, and runs until `DIR/stop` exists.
async fn up(dir: &Path) -> Result<(), Error> {
    let moto = MotoServer::start().await?;
    let names: Vec<&str> = CHAIN.iter().map(|(name, _)| *name).collect();
    let kinds: Vec<(&str, ShopKind)> = names.iter().map(|n| (*n, kind(n))).collect();
    let shop = Shop::build_with(&moto, &kinds).await?;
    let actuator = actuator(
        names
            .iter()
            .map(|n| ((*n).to_owned(), "2.0.0".to_owned()))
            .collect(),
    )
    .await?;
    std::fs::write(dir.join("matrix.yaml"), matrix(&shop, &actuator)?)?;
    let services: BTreeMap<&str, &ShopService> =
        shop.services.iter().map(|s| (s.name.as_str(), s)).collect();
    std::fs::write(
        dir.join("shop.json"),
        serde_json::to_string_pretty(&shop_json(&services))?,
    )?;
    // Written last: the demo waits for it.
    std::fs::write(dir.join("endpoint"), moto.endpoint_url())?;
    let stop: PathBuf = dir.join("stop");
    while !stop.exists() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn shop_json(services: &BTreeMap<&str, &ShopService>) -> serde_json::Value {
    serde_json::Value::Array(
        CHAIN
            .iter()
            .filter_map(|(name, _)| services.get(name))
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "rule": s.rule,
                    "target_groups": s.target_groups,
                    "names": [format!("{}-a", s.name), format!("{}-b", s.name)],
                })
            })
            .collect(),
    )
}

/// The shop's matrix: a chain of five services moving 1.0.0 → 2.0.0 with
/// canary steps, each green checked through its Actuator stand-in; a new
/// image for the ECS services, a new AMI for `web`.
fn matrix(shop: &Shop, actuator: &str) -> Result<String, Error> {
    let mut matrix = String::from(
        "version: 1\ndefaults:\n  health: {timeout: 1s, retries: 1, require: [db]}\n  deploy: {strategy: canary, steps: [25, 100], bake: 1s}\nservices:\n",
    );
    for (name, provider) in CHAIN {
        let consumes =
            |v: &str| provider.map_or_else(String::new, |p| format!("{p}-api: \"^{v}\""));
        let service = shop.service(name).ok_or("service")?;
        let artifact = |version: &str, index: usize| match &service.asg {
            Some(groups) => format!("ami: {}", groups.amis[index]),
            None => format!("image: \"registry.local/{name}:{version}\""),
        };
        matrix.push_str(&format!(
            "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{{}, provides: {{{name}-api: 1.0.0}}, consumes: {{{}}}}}\n      2.0.0: {{{}, provides: {{{name}-api: [1.0.0, 2.0.0]}}, consumes: {{{}}}}}\n{}      health: {actuator}/{name}/actuator\n",
            artifact("1.0.0", 0),
            consumes("1"),
            artifact("2.0.0", 1),
            consumes("2"),
            service.deploy_yaml(),
        ));
    }
    Ok(matrix)
}

/// `/{service}/actuator/health` UP and `/info` with the target release.
async fn actuator(versions: BTreeMap<String, String>) -> Result<String, Error> {
    let versions = Arc::new(versions);
    let info = move |axum::extract::Path(service): axum::extract::Path<String>| {
        let version = versions.get(&service).cloned().unwrap_or_default();
        async move { Json(serde_json::json!({"build": {"version": version}})) }
    };
    let app = axum::Router::new()
        .route(
            "/{service}/actuator/health",
            get(|| async {
                Json(serde_json::json!({"status": "UP", "components": {"db": {"status": "UP"}}}))
            }),
        )
        .route("/{service}/actuator/info", get(info));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}"))
}

/// "`ledger`: 100 % to `ledger-b` (green)".
async fn routes(dir: &Path) -> Result<(), Error> {
    let endpoint = std::fs::read_to_string(dir.join("endpoint"))?;
    let shop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shop.json"))?)?;
    let cloud = SdkCloud::from_config(&sdk_config_at(endpoint.trim()).await);
    for service in shop.as_array().ok_or("shop.json")? {
        let name = service["name"].as_str().unwrap_or_default();
        let rule = service["rule"].as_str().unwrap_or_default();
        let forward = cloud.forward(&Route::Rule(rule.to_owned())).await?;
        let total: u64 = forward.targets.iter().map(|(_, w)| u64::from(*w)).sum();
        let shares: Vec<String> = forward
            .targets
            .iter()
            .filter(|(_, w)| *w > 0)
            .map(|(tg, w)| {
                let side = usize::from(service["target_groups"][1].as_str() == Some(tg.as_str()));
                let group = service["names"][side].as_str().unwrap_or_default();
                let colour = ["blue", "green"][side];
                format!(
                    "{} % to `{group}` ({colour})",
                    u64::from(*w) * 100 / total.max(1)
                )
            })
            .collect();
        println!("  `{name}`: {}", shares.join(", "));
    }
    Ok(())
}
