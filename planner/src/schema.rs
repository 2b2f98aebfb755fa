//! The JSON Schema of the matrix format, for editors.

/// The JSON Schema (draft 2020-12) of matrix format v1.
pub fn json_schema() -> &'static str {
    include_str!("schema.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::read::keys;

    fn properties<'a>(schema: &'a serde_json::Value, pointer: &str) -> Vec<&'a str> {
        let mut names: Vec<&str> = schema
            .pointer(pointer)
            .and_then(|v| v.as_object())
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        names.sort_unstable();
        names
    }

    fn sorted(keys: &[&'static str]) -> Vec<&'static str> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys
    }

    /// The schema and the reader must accept exactly the same keys.
    #[test]
    fn schema_keys_match_the_reader() {
        let schema: serde_json::Value =
            serde_json::from_str(json_schema()).expect("schema is JSON");
        assert_eq!(properties(&schema, "/properties"), sorted(keys::TOP));
        assert_eq!(
            properties(&schema, "/$defs/service/properties"),
            sorted(keys::SERVICE)
        );
        assert_eq!(
            properties(&schema, "/$defs/release/properties"),
            sorted(keys::RELEASE)
        );
        assert_eq!(
            properties(&schema, "/$defs/deploy/properties"),
            sorted(keys::DEPLOY)
        );
        assert_eq!(
            properties(&schema, "/$defs/deploy/properties/ecs/properties"),
            sorted(keys::ECS)
        );
        assert_eq!(
            properties(&schema, "/$defs/deploy/properties/asg/properties"),
            sorted(keys::ASG)
        );
        assert_eq!(
            properties(&schema, "/$defs/defaults/properties"),
            sorted(keys::DEFAULTS)
        );
        assert_eq!(
            properties(&schema, "/$defs/defaults/properties/health/properties"),
            sorted(keys::HEALTH_DEFAULTS)
        );
        assert_eq!(
            properties(&schema, "/$defs/defaults/properties/deploy/properties"),
            sorted(keys::DEPLOY_DEFAULTS)
        );
        assert_eq!(
            properties(&schema, "/$defs/checks/items/properties"),
            sorted(keys::CHECK)
        );
    }
}
