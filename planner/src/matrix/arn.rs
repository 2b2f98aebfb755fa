//! The shape of the Elastic Load Balancing (v2) ARNs in `deploy`: what kind
//! of resource an ARN names, checked from its text alone (no AWS call).

/// The kinds of ARN `deploy` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArnKind {
    /// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID`
    Listener,
    /// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID`
    ListenerRule,
    /// `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`
    TargetGroup,
}

impl ArnKind {
    const ALL: [ArnKind; 3] = [
        ArnKind::Listener,
        ArnKind::ListenerRule,
        ArnKind::TargetGroup,
    ];

    /// "a listener ARN", for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ArnKind::Listener => "a listener ARN",
            ArnKind::ListenerRule => "a listener-rule ARN",
            ArnKind::TargetGroup => "a target-group ARN",
        }
    }

    /// The form of such an ARN, for messages.
    pub(crate) fn form(self) -> &'static str {
        match self {
            ArnKind::Listener => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID"
            }
            ArnKind::ListenerRule => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/NAME/ID/ID/ID"
            }
            ArnKind::TargetGroup => {
                "arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
            }
        }
    }

    /// The resource type before the first `/`.
    fn resource_type(self) -> &'static str {
        match self {
            ArnKind::Listener => "listener",
            ArnKind::ListenerRule => "listener-rule",
            ArnKind::TargetGroup => "targetgroup",
        }
    }

    /// How many `/`-separated parts the resource has.
    fn parts(self) -> usize {
        match self {
            ArnKind::Listener => 5,
            ArnKind::ListenerRule => 6,
            ArnKind::TargetGroup => 3,
        }
    }
}

/// What a string in an ARN field turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ArnShape {
    /// A well-formed ARN of this kind.
    Is(ArnKind),
    /// Anything else, described for a message ("a target-group ARN",
    /// "an ARN of service `ecs`", "text that is not an ARN", ...).
    Other(String),
}

/// Reads the shape of `text`.
pub(crate) fn arn_shape(text: &str) -> ArnShape {
    let fields: Vec<&str> = text.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = fields[..] else {
        return ArnShape::Other(if text.starts_with("arn:") {
            "an ARN with fewer than six `:`-separated fields".to_owned()
        } else {
            "text that is not an ARN".to_owned()
        });
    };
    if prefix != "arn" {
        return ArnShape::Other("text that is not an ARN".to_owned());
    }
    if !partition.starts_with("aws") {
        return ArnShape::Other(format!("an ARN with partition `{partition}`"));
    }
    if service != "elasticloadbalancing" {
        return ArnShape::Other(format!("an ARN of service `{service}`"));
    }
    if region.is_empty() {
        return ArnShape::Other("an ARN without a region".to_owned());
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return ArnShape::Other(format!("an ARN whose account `{account}` is not 12 digits"));
    }
    let parts: Vec<&str> = resource.split('/').collect();
    let Some(kind) = ArnKind::ALL
        .into_iter()
        .find(|kind| kind.resource_type() == parts[0])
    else {
        return ArnShape::Other(format!("an `elasticloadbalancing` ARN of a `{}`", parts[0]));
    };
    let application = kind == ArnKind::TargetGroup || parts.get(1) == Some(&"app");
    if !application {
        return ArnShape::Other(format!(
            "{} that is not of an Application Load Balancer (`{}/app/...`)",
            kind.describe(),
            kind.resource_type()
        ));
    }
    if parts.len() != kind.parts() || parts.iter().any(|p| p.is_empty()) {
        return ArnShape::Other(format!(
            "{} with {} `/`-separated parts instead of {}",
            kind.describe(),
            parts.len(),
            kind.parts()
        ));
    }
    ArnShape::Is(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012";

    #[test]
    fn well_formed_arns_are_recognised() {
        let cases = [
            (
                "listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
                ArnKind::Listener,
            ),
            (
                "listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cab1a",
                ArnKind::ListenerRule,
            ),
            (
                "targetgroup/orders-a/73e2d6bc24d8a01a",
                ArnKind::TargetGroup,
            ),
        ];
        for (resource, kind) in cases {
            assert_eq!(
                arn_shape(&format!("{PREFIX}:{resource}")),
                ArnShape::Is(kind)
            );
        }
        assert_eq!(
            arn_shape("arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/a/1"),
            ArnShape::Is(ArnKind::TargetGroup)
        );
    }

    #[test]
    fn other_shapes_are_described() {
        let other = |text: &str| match arn_shape(text) {
            ArnShape::Other(found) => found,
            ArnShape::Is(kind) => panic!("{text} read as {kind:?}"),
        };
        assert_eq!(
            other("arn:listener/a"),
            "an ARN with fewer than six `:`-separated fields"
        );
        assert_eq!(other("tg/a-a"), "text that is not an ARN");
        assert_eq!(other(""), "text that is not an ARN");
        assert_eq!(
            other("arn:aws:ecs:eu-west-1:123456789012:service/shop/orders"),
            "an ARN of service `ecs`"
        );
        assert_eq!(
            other(&format!("{PREFIX}:loadbalancer/app/shop/50dc6c495c0c9188")),
            "an `elasticloadbalancing` ARN of a `loadbalancer`"
        );
        assert_eq!(
            other(&format!("{PREFIX}:listener/net/shop/1/2")),
            "a listener ARN that is not of an Application Load Balancer (`listener/app/...`)"
        );
        assert_eq!(
            other(&format!("{PREFIX}:targetgroup/orders-a")),
            "a target-group ARN with 2 `/`-separated parts instead of 3"
        );
        assert_eq!(
            other("arn:aws:elasticloadbalancing:eu-west-1:1234:targetgroup/a/1"),
            "an ARN whose account `1234` is not 12 digits"
        );
    }
}
