//! A local server that mimics Spring Boot Actuator, for the health tests of
//! the planner, the CLI and the benchmark. It listens on 127.0.0.1 only.
//!
//! Every URL is `/{scenario}/actuator/{health|info}`; the scenario decides
//! the answers (see [`answer`]). The running release is [`RELEASE`] unless the
//! scenario says otherwise.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The release the healthy scenarios run.
pub const RELEASE: &str = "2.0.0";

/// The bearer token the `secured` scenario expects.
pub const TOKEN: &str = "tok-3f9a-do-not-print-me";

/// A running fake Actuator.
#[derive(Clone)]
pub struct Actuator {
    /// Where it listens.
    pub addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

impl Actuator {
    /// Starts the server on the current tokio runtime.
    pub async fn start() -> Actuator {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener)
    }

    /// Starts the server on its own thread and runtime (for tests that run
    /// the `cutover` binary, or benchmarks with their own client runtime).
    pub fn start_in_background() -> Actuator {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                sender.send(Self::start().await).expect("send");
                std::future::pending::<()>().await;
            });
        });
        receiver.recv().expect("server started")
    }

    fn serve(listener: tokio::net::TcpListener) -> Actuator {
        let addr = listener.local_addr().expect("local address");
        let actuator = Actuator {
            addr,
            hits: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(actuator.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        actuator
    }

    /// The Actuator base URL of a scenario.
    pub fn url(&self, scenario: &str) -> String {
        format!("http://{}/{scenario}/actuator", self.addr)
    }

    /// How many requests reached `/{scenario}/actuator/{endpoint}`.
    pub fn hits(&self, scenario: &str, endpoint: &str) -> u32 {
        let hits = self.hits.lock().expect("lock");
        hits.get(&format!("{scenario}/{endpoint}"))
            .copied()
            .unwrap_or(0)
    }
}

/// An unused local port: bound, then released, so connections are refused.
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

async fn handle(State(actuator): State<Actuator>, uri: Uri, headers: HeaderMap) -> Response {
    let parts: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let [scenario, "actuator", endpoint] = parts.as_slice() else {
        return (StatusCode::NOT_FOUND, "no such path").into_response();
    };
    let hit = {
        let mut hits = actuator.hits.lock().expect("lock");
        let count = hits.entry(format!("{scenario}/{endpoint}")).or_insert(0);
        *count += 1;
        *count
    };
    answer(scenario, endpoint, hit, &headers).await
}

const V3: &str = "application/vnd.spring-boot.actuator.v3+json";
const V2: &str = "application/vnd.spring-boot.actuator.v2+json;charset=UTF-8";
const V1: &str = "application/vnd.spring-boot.actuator.v1+json;charset=UTF-8";

fn json(status: StatusCode, content_type: &'static str, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// Spring Boot 3.x, everything UP: a composite `db` with a primary and
/// replicas, disk space, ping, liveness/readiness and the probe groups.
fn boot3_up() -> serde_json::Value {
    serde_json::json!({
        "status": "UP",
        "components": {
            "db": {
                "status": "UP",
                "components": {
                    "primary": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}},
                    "replicas": {
                        "status": "UP",
                        "components": {
                            "replica-1": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}},
                            "replica-2": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}}
                        }
                    }
                }
            },
            "diskSpace": {"status": "UP", "details": {"total": 107_374_182_400_u64, "free": 53_687_091_200_u64, "threshold": 10_485_760, "path": "/app/.", "exists": true}},
            "kafka": {"status": "UP", "details": {"clusterId": "lkc-7x9q2", "nodes": 3}},
            "livenessState": {"status": "UP"},
            "ping": {"status": "UP"},
            "readinessState": {"status": "UP"}
        },
        "groups": ["liveness", "readiness"]
    })
}

/// Spring Boot 3.x, one replica of the database down: `db` aggregates to DOWN.
fn boot3_replica_down() -> serde_json::Value {
    let mut body = boot3_up();
    body["status"] = "DOWN".into();
    body["components"]["db"]["status"] = "DOWN".into();
    body["components"]["db"]["components"]["replicas"]["status"] = "DOWN".into();
    body["components"]["db"]["components"]["replicas"]["components"]["replica-2"] = serde_json::json!({
        "status": "DOWN",
        "details": {"error": "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"}
    });
    body
}

/// Spring Boot 2.0/2.1: components under `details`.
fn boot2(status: &str, kafka: &str) -> serde_json::Value {
    serde_json::json!({
        "status": status,
        "details": {
            "db": {"status": "UP", "details": {"database": "MySQL", "hello": 1}},
            "diskSpace": {"status": "UP", "details": {"total": 250_790_436_864_u64, "free": 100_101_210_112_u64, "threshold": 10_485_760}},
            "kafka": {"status": kafka, "details": {"clusterId": "xH3cDq0aTq2", "brokerId": "1"}}
        }
    })
}

/// Spring Boot 1.x: components beside `status`.
fn boot1(status: &str, db: &str) -> serde_json::Value {
    serde_json::json!({
        "status": status,
        "diskSpace": {"status": "UP", "total": 250_790_436_864_u64, "free": 100_101_210_112_u64, "threshold": 10_485_760},
        "db": {"status": db, "database": "H2", "hello": 1},
        "rabbit": {"status": "UP", "version": "3.6.6"}
    })
}

fn info(version: &str) -> serde_json::Value {
    serde_json::json!({
        "app": {"name": "orders", "description": "Orders service"},
        "build": {"artifact": "orders", "name": "orders", "time": "2025-11-20T09:14:03.120Z", "version": version, "group": "com.example.shop"},
        "git": {"branch": "main", "commit": {"id": "4f2a9c1", "time": "2025-11-20T09:10:00Z"}}
    })
}

/// The answer of `endpoint` in `scenario`, `hit` being the 1-based count of
/// requests to it so far.
async fn answer(scenario: &str, endpoint: &str, hit: u32, headers: &HeaderMap) -> Response {
    let ok = StatusCode::OK;
    let down = StatusCode::SERVICE_UNAVAILABLE;
    let (base, _) = scenario.split_once('-').unwrap_or((scenario, ""));
    if endpoint == "info" {
        return match scenario {
            "wrong-version" => json(ok, V3, info("1.9.0")),
            "no-version" => json(
                ok,
                V3,
                serde_json::json!({"app": {"name": "orders"}, "git": {"branch": "main", "commit": {"id": "4f2a9c1"}}}),
            ),
            "boot2-up" | "boot2-down" => json(
                ok,
                V2,
                serde_json::json!({"git": {"branch": "release/2.0", "build": {"version": RELEASE}}}),
            ),
            "boot1-up" | "boot1-down" => json(
                ok,
                V1,
                serde_json::json!({"app": {"name": "orders", "version": RELEASE}}),
            ),
            "secured" if !authorized(headers) => unauthorized(),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                json(ok, V3, info(RELEASE))
            }
            _ if base == "delayed" => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                json(ok, V3, info(RELEASE))
            }
            _ => json(ok, V3, info(RELEASE)),
        };
    }
    if endpoint != "health" {
        return (StatusCode::NOT_FOUND, "no such endpoint").into_response();
    }
    match scenario {
        "boot3-up" | "wrong-version" | "no-version" => json(ok, V3, boot3_up()),
        "boot3-down" => json(down, V3, boot3_replica_down()),
        "boot2-up" => json(ok, V2, boot2("UP", "UP")),
        "boot2-down" => json(down, V2, boot2("DOWN", "DOWN")),
        "boot1-up" => json(ok, V1, boot1("UP", "UP")),
        "boot1-down" => json(down, V1, boot1("DOWN", "DOWN")),
        "out-of-service" => json(
            down,
            V3,
            serde_json::json!({
                "status": "OUT_OF_SERVICE",
                "components": {
                    "db": {"status": "UP", "details": {"database": "PostgreSQL"}},
                    "readinessState": {"status": "OUT_OF_SERVICE"}
                },
                "groups": ["liveness", "readiness"]
            }),
        ),
        "minimal" => json(ok, V3, serde_json::json!({"status": "UP"})),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            json(ok, V3, boot3_up())
        }
        "flaky" if hit <= 2 => (StatusCode::BAD_GATEWAY, "upstream connect error").into_response(),
        "flaky" => json(ok, V3, boot3_up()),
        "broken" => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            V3,
            serde_json::json!({"timestamp": "2025-11-20T09:14:03.120+00:00", "status": 500, "error": "Internal Server Error", "path": "/actuator/health"}),
        ),
        "not-json" => (
            ok,
            [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
            "<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error</p></body></html>",
        )
            .into_response(),
        "huge" => {
            let blob = "x".repeat(2 * 1024 * 1024);
            json(ok, V3, serde_json::json!({"status": "UP", "components": {"custom": {"status": "UP", "details": {"blob": blob}}}}))
        }
        "loop" => redirect("/loop/actuator/health"),
        "secured" if authorized(headers) => json(ok, V3, boot3_up()),
        "secured" => unauthorized(),
        _ if base == "chain" => {
            let n: u32 = scenario["chain-".len()..].parse().unwrap_or(0);
            redirect(&format!("/chain-{}/actuator/health", n + 1))
        }
        _ if base == "delayed" => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            json(ok, V3, boot3_up())
        }
        _ => (StatusCode::NOT_FOUND, "unknown scenario").into_response(),
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Body::empty(),
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, to.to_owned())],
        Body::empty(),
    )
        .into_response()
}
