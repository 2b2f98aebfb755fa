//! `cutover unlock --lock-table T PLAN`: shows the leases held on the plan's
//! services, asks (unless `--force`), and breaks them.

use std::io::{BufRead, IsTerminal, Write};

use cutover_executor::{SdkCloud, break_leases, describe_expiry, held_leases, read_plan};

use super::{Outcome, write_stdout};
use crate::cli::UnlockArgs;

/// `cutover unlock`.
pub fn run(args: &UnlockArgs) -> anyhow::Result<Outcome> {
    let (plan, _) = read_plan(&args.plan)?;
    let services: Vec<String> = plan
        .waves
        .iter()
        .flat_map(|wave| wave.services.iter().map(|step| step.service.clone()))
        .collect();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let cloud = SdkCloud::connect(&args.aws.options()).await;
        let leases = held_leases(&cloud, &args.lock_table, &services).await?;
        if leases.is_empty() {
            write_stdout(&format!(
                "no lease is held on the plan's services in `{}`",
                args.lock_table
            ))?;
            return Ok(Outcome::Ok);
        }
        let now = cutover_executor::now_ms() / 1000;
        let mut text = format!("leases in `{}`:\n", args.lock_table);
        for lease in &leases {
            text.push_str(&format!(
                "  {}: held by {} (plan {}), {}\n",
                lease.key,
                lease.holder,
                lease.plan_digest.get(..12).unwrap_or(&lease.plan_digest),
                describe_expiry(lease.expires_at, now)
            ));
        }
        write_stdout(&text)?;
        if !args.force {
            if !std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "not breaking the lock without asking: run `cutover unlock` on a terminal, or pass `--force` once you know its holder is dead"
                );
            }
            if !confirm(leases.len())? {
                write_stdout("left as they are")?;
                return Ok(Outcome::No);
            }
        }
        break_leases(&cloud, &args.lock_table, &leases).await?;
        write_stdout(&format!("broke {} lease(s)", leases.len()))?;
        Ok(Outcome::Ok)
    })
}

/// Asks on the terminal; only `y` or `yes` is a yes.
#[allow(clippy::print_stderr)]
fn confirm(count: usize) -> anyhow::Result<bool> {
    eprint!("Break these {count} lease(s)? Only if their holder is dead. [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
