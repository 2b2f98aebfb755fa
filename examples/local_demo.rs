//! A multi-wave cutover on your machine: moto server stands in for AWS, small
//! HTTP servers for the Spring Boot Actuator endpoints of each green side.
//! It builds a shop on the emulated ALB, writes its matrix, plans, executes
//! and shows every route before and after.
//!
//! Run: `scripts/demo` (installs moto into ./.venv on first use, then runs
//! `cargo run --example local_demo`).

// An example program: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use cutover_executor::sandbox::{MotoServer, Shop};
use cutover_executor::{ActuatorGate, Cloud, Event, Observer, Record, Route, Runner, Settings};
use cutover_planner::{Limits, PlanDocument, render, validate_bytes};

/// Prints the journal as it is written.
struct Lines;

impl Observer for Lines {
    fn record(&self, record: &Record) {
        let line = match &record.event {
            Event::WaveStarted { wave, services } => {
                format!("wave {wave}: {}", services.join(", "))
            }
            Event::GatePassed { service, gate } => format!("  {service}: gate `{gate}` passed"),
            Event::RouteSet {
                service,
                green_percent,
                ..
            } => {
                format!("  {service}: {green_percent}% on green")
            }
            Event::ServiceSwitched { service } => format!("  {service}: on green"),
            Event::RunFinished { outcome } => format!("finished: {outcome}"),
            _ => return,
        };
        println!("{line}");
    }
}

/// `/{service}/actuator/health` and `/info`, answering UP and the target release.
async fn actuator(
    versions: BTreeMap<String, String>,
) -> Result<String, Box<dyn std::error::Error>> {
    let versions = Arc::new(versions);
    let info = {
        let versions = Arc::clone(&versions);
        move |Path(service): Path<String>| {
            let version = versions.get(&service).cloned().unwrap_or_default();
            async move { Json(serde_json::json!({"build": {"version": version}})) }
        }
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let moto = MotoServer::start().await?;
    let names = ["ledger", "payments", "orders", "gateway"];
    let shop = Shop::build(&moto, &names).await?;
    let actuator = actuator(
        names
            .iter()
            .map(|n| ((*n).to_owned(), "2.0.0".to_owned()))
            .collect(),
    )
    .await?;

    // ledger 2.0.0 serves ledger-api 2 (and still 1); payments 2.0.0 needs it;
    // orders 2.0.0 needs payments-api 2; gateway 2.0.0 needs orders-api 2.
    let chain = [
        ("ledger", None),
        ("payments", Some("ledger")),
        ("orders", Some("payments")),
        ("gateway", Some("orders")),
    ];
    let mut matrix = String::from(
        "version: 1\ndefaults:\n  health: {timeout: 1s, retries: 1, require: [db]}\n  deploy: {strategy: canary, steps: [25, 100], bake: 1s}\nservices:\n",
    );
    for (name, provider) in chain {
        let consumes =
            |v: &str| provider.map_or_else(String::new, |p| format!("{p}-api: \"^{v}\""));
        matrix.push_str(&format!(
            "  {name}:\n    current: 1.0.0\n    target: 2.0.0\n    releases:\n      1.0.0: {{provides: {{{name}-api: 1.0.0}}, consumes: {{{}}}}}\n      2.0.0: {{provides: {{{name}-api: [1.0.0, 2.0.0]}}, consumes: {{{}}}}}\n{}      health: {actuator}/{name}/actuator\n",
            consumes("1"),
            consumes("2"),
            shop.service(name).ok_or("service")?.deploy_yaml(),
        ));
    }
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("matrix.yaml"), &matrix)?;
    let validated = validate_bytes("matrix.yaml", matrix.as_bytes(), &Limits::default());
    let result = validated.plan().ok_or("the demo matrix is invalid")?;
    let plan = PlanDocument::new(&validated, Some(&result));
    println!("{}", render::human(&plan));
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan)?)?;

    let cloud = moto.cloud().await;
    show_routes("before", &cloud, &shop).await?;
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let settings = Settings {
        poll_interval: Duration::from_millis(250),
        gate_timeout: Duration::from_secs(10),
        ..Settings::default()
    };
    let runner = Runner::new(
        cloud.clone(),
        ActuatorGate::new(|_| None),
        settings,
        Arc::new(Lines),
        cancelled,
    );
    let report = runner
        .execute(&plan_path, &dir.path().join("plan.journal.jsonl"))
        .await?;
    show_routes("after", &cloud, &shop).await?;
    println!(
        "outcome: {:?}; the journal holds {} records (its temporary directory is removed now)",
        report.outcome,
        cutover_executor::read_journal(&dir.path().join("plan.journal.jsonl"))?.len()
    );
    Ok(())
}

async fn show_routes(
    when: &str,
    cloud: &impl Cloud,
    shop: &Shop,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("routes {when}:");
    for service in &shop.services {
        let live = cloud.forward(&Route::Rule(service.rule.clone())).await?;
        let side = |tg: &str| {
            if tg == service.target_groups[0] {
                "blue"
            } else {
                "green"
            }
        };
        let split: Vec<String> = live
            .targets
            .iter()
            .map(|(tg, w)| format!("{} {w}", side(tg)))
            .collect();
        println!("  {:<10} {}", service.name, split.join(", "));
    }
    Ok(())
}
