//! The health report for people: one line per service, its problems below,
//! and a verdict at the end (no colours, stable for snapshots).

use std::fmt::Write;

use crate::describe::plural;
use crate::health_report::{HealthReport, ServiceHealth};

/// The report as a terminal table: service, `ok` or `FAIL`, status, version
/// found and URL; each problem on its own line below its service; a last line
/// that names the unhealthy services.
pub fn render_health(report: &HealthReport) -> String {
    let mut out = String::new();
    let total = report.services.len();
    if total == 0 {
        out.push_str("No service changes, so there is no green side to check.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "Health of the green side of {total} changing service{}:\n",
        plural(total)
    );
    let width =
        |f: &dyn Fn(&ServiceHealth) -> usize| report.services.iter().map(f).max().unwrap_or(0);
    let name_width = width(&|s| s.service.len()).max("SERVICE".len());
    let status_width = width(&|s| s.status.as_deref().map_or(1, str::len)).max("STATUS".len());
    let version_width = width(&|s| s.version.as_deref().map_or(1, str::len)).max("VERSION".len());
    let row = |out: &mut String, cells: [&str; 5]| {
        let [name, check, status, version, url] = cells;
        let line = format!(
            "  {name:name_width$}  {check:5}  {status:status_width$}  {version:version_width$}  {url}"
        );
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row(
        &mut out,
        ["SERVICE", "CHECK", "STATUS", "VERSION", "ACTUATOR"],
    );
    for service in &report.services {
        row(
            &mut out,
            [
                &service.service,
                if service.ok { "ok" } else { "FAIL" },
                service.status.as_deref().unwrap_or("?"),
                service.version.as_deref().unwrap_or("?"),
                service.url.as_deref().unwrap_or("?"),
            ],
        );
        for problem in &service.problems {
            let _ = writeln!(out, "      - {problem}");
        }
    }
    out.push('\n');
    let unhealthy: Vec<String> = report
        .unhealthy()
        .map(|s| format!("`{}`", s.service))
        .collect();
    if unhealthy.is_empty() {
        let _ = writeln!(
            out,
            "{} green side{} healthy.",
            if total == 1 {
                "The".to_owned()
            } else {
                format!("All {total}")
            },
            if total == 1 { " is" } else { "s are" }
        );
    } else {
        let count = match (unhealthy.len(), total) {
            (1, 1) => "the green side is".to_owned(),
            (1, _) => format!("1 of {total} green sides is"),
            (n, _) => format!("{n} of {total} green sides are"),
        };
        let _ = writeln!(out, "error: {count} not healthy: {}", unhealthy.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_with_problems_and_verdict() {
        let report = HealthReport::new(vec![
            ServiceHealth {
                service: "orders".to_owned(),
                url: Some("http://h/orders/actuator".to_owned()),
                status: Some("DOWN".to_owned()),
                version: Some("1.9.0".to_owned()),
                expected_version: Some("2.0.0".to_owned()),
                ok: false,
                problems: vec!["status `DOWN`".to_owned()],
            },
            ServiceHealth {
                service: "cart".to_owned(),
                url: Some("http://h/cart/actuator".to_owned()),
                status: Some("UP".to_owned()),
                version: Some("2.4.0".to_owned()),
                expected_version: Some("2.4.0".to_owned()),
                ok: true,
                problems: vec![],
            },
        ]);
        assert_eq!(
            render_health(&report),
            "\
Health of the green side of 2 changing services:

  SERVICE  CHECK  STATUS  VERSION  ACTUATOR
  cart     ok     UP      2.4.0    http://h/cart/actuator
  orders   FAIL   DOWN    1.9.0    http://h/orders/actuator
      - status `DOWN`

error: 1 of 2 green sides is not healthy: `orders`
"
        );
        assert_eq!(
            render_health(&HealthReport::new(vec![])),
            "No service changes, so there is no green side to check.\n"
        );
    }
}
