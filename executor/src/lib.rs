//! Carries out `cutover` plans on Application Load Balancers, Amazon ECS and
//! EC2 Auto Scaling groups:
//! wave by wave, gates, weighted switches, bake, reverse-order rollback, a
//! crash-safe journal, resume and locking.
//!
//! AWS sits behind the [`Cloud`] trait: [`SdkCloud`] is the real thing,
//! [`FakeCloud`] an in-memory stand-in for tests.
//!
//! ```
//! use cutover_executor::{Forward, Route};
//!
//! let route = Route::Listener("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/shop/1/2".into());
//! let canary = Forward::split("blue-tg", "green-tg", 10);
//! assert_eq!(canary.percent_to("green-tg"), 10);
//! assert_eq!(route.arn().ends_with("/2"), true);
//! ```

mod actuator;
mod alarms;
mod aws;
mod checks;
mod context;
mod cutover;
mod gate;
mod journal;
mod lock;
mod notify;
mod observe;
mod plan_file;
mod preflight;
mod report;
mod run;
pub mod sandbox;
mod settings;
mod switch;

pub use actuator::ActuatorGate;
pub use aws::{
    ALARMS_PER_CALL, ActionRecord, Alarm, AlarmState, AutoScalingGroup, AwsOptions, Cloud,
    CloudError, Container, DryRun, EcsService, FakeCloud, FakeFault, Forward, GroupCapacity,
    GroupInstance, Lease, Route, RouteState, SdkCloud, Target, TargetHealth,
};
pub use checks::OUTPUT_TAIL;
pub use cutover::{Cutover, PlanError, ServiceSwitch};
pub use gate::{HealthGate, NoHealthGate};
pub use journal::{Event, Journal, JournalError, Record, now_ms, read_journal};
pub use lock::{Leases, break_leases, describe_expiry, held_leases, holder};
pub use notify::{Notification, NotifiedService, Webhook, WebhookError};
pub use observe::observe_blue;
pub use plan_file::{check_matrix, matrix_path, read_plan};
pub use report::{GateReport, Outcome, PauseReport, RunError, RunReport, ServiceReport, Side};
pub use run::{Halter, Runner};
pub use settings::{Confirm, Observer, Prepare, Settings, Silent};
