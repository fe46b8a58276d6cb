//! `kfp-iam destroy`: remove what kfp-iam made for a spec, and nothing else.

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;

use super::apply::{finish, render_changes};
use super::output::{Format, Paint, document, print, print_document};
use super::plan::render_resources;
use super::{Exit, SpecSource, connect};
use crate::apply::apply;
use crate::aws::Aws;
use crate::plan::{Desired, deletions, observe, resolve, teardown};

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Show what would be deleted and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// Deletes what carries kfp-iam's mark, in the order AWS requires; idempotent, and an
/// interrupted destroy finishes on the next run.
pub async fn run(args: DestroyArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let desired = Desired::new(&spec, Box::pin(resolve(&spec, &aws, &kube)).await?);
    let observed = Box::pin(observe(&desired, &aws, &kube)).await?;
    let provider_in_use = match &observed.provider {
        Some(provider) => {
            let ours: Vec<&str> = observed
                .pipeline_roles
                .keys()
                .map(String::as_str)
                .chain(observed.stale_roles.iter().map(|r| r.name.as_str()))
                .collect();
            let roles = aws.list_roles("/").await?;
            roles
                .iter()
                .any(|r| !ours.contains(&r.name.as_str()) && r.trust.contains(&provider.arn))
        }
        None => false,
    };
    let plan = teardown(&desired, &observed, provider_in_use);
    let count = deletions(&plan).count();

    let kept = plan.resources.len() - count;
    match args.output {
        Format::Human => print(&format!(
            "{}\nDestroy: {count} resource(s) to delete, {kept} kept.\n",
            render_resources(&plan, Paint(color))
        ))?,
        format if args.dry_run || count == 0 => {
            print_document(format, &document("DestroyPlan", &plan)?)?
        }
        _ => {}
    }
    if args.dry_run || count == 0 {
        return Ok(Exit::Success);
    }
    if !args.yes && !confirmed(count)? {
        anyhow::bail!("destroy cancelled: nothing was deleted");
    }

    let result = apply(&plan, &desired, &observed, &aws, &kube).await;
    finish(result, args.output, "DestroyReport", |report| {
        render_changes(report, Paint(color))
    })
}

/// Asks on the terminal; without one, refuses rather than guessing.
fn confirmed(count: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("refusing to delete {count} resource(s) without confirmation: pass --yes");
    }
    eprint!("kfp-iam will delete the {count} resource(s) above. Type `yes` to continue: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}
