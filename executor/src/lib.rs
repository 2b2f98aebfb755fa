//! Carries out `cutover` plans on Amazon ECS and Application Load Balancers:
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

mod aws;

pub use aws::{
    AwsOptions, Cloud, CloudError, EcsService, FakeCloud, FakeFault, Forward, Lease, Route,
    SdkCloud, TargetHealth,
};
