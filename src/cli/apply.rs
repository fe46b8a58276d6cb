//! `kfp-iam apply`: make AWS and Kubernetes match the spec.

use clap::Args;

use super::output::{Format, Paint, document, print, print_document};
use super::plan::kind_label;
use super::{Exit, SpecSource, connect};
use crate::apply::{ApplyError, ApplyReport, Outcome, apply};
use crate::plan::{DiffOptions, plan};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Take over same-named resources that kfp-iam did not create.
    #[arg(long)]
    pub adopt: bool,
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(args: ApplyArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let (desired, observed, plan) =
        plan(&spec, &aws, &kube, DiffOptions { adopt: args.adopt }).await?;
    let result = apply(&plan, &desired, &observed, &aws, &kube).await;

    let report = match &result {
        Ok(report) => report,
        Err(ApplyError::Partial { report }) => report.as_ref(),
        Err(ApplyError::Blocked(_)) => return Err(result.err().map(Into::into).unwrap_or_else(
            || anyhow::anyhow!("apply was blocked"))),
    };
    match args.output {
        Format::Human => print(&render(report, Paint(color)))?,
        format => print_document(format, &document("ApplyReport", report)?)?,
    }
    result?;
    Ok(Exit::Success)
}

/// What apply did, then the outputs users copy into their pipelines.
pub fn render(report: &ApplyReport, paint: Paint) -> String {
    let mut out = String::new();
    if report.changes.is_empty() {
        out.push_str("No changes: AWS and Kubernetes already match the spec.\n");
    }
    for applied in &report.changes {
        let mark = match &applied.outcome {
            Outcome::Done => paint.green("done"),
            Outcome::Failed(_) => paint.red("FAILED"),
            Outcome::Skipped => paint.yellow("skipped"),
        };
        let label = kind_label(applied.kind);
        out.push_str(&format!("{mark:>8} {label} {}: {}\n", applied.resource, applied.summary));
        if let Outcome::Failed(error) = &applied.outcome {
            out.push_str(&format!("         {error}\n"));
        }
    }
    let o = &report.outputs;
    let none = "-".to_owned();
    out.push_str("\nOutputs:\n");
    out.push_str(&format!(
        "  execution role ARN: {}\n",
        paint.bold(o.execution_role_arn.as_ref().unwrap_or(&none))
    ));
    if let Some(user) = &o.user_arn {
        out.push_str(&format!("  user ARN:           {user}\n"));
    }
    if !o.secrets.is_empty() {
        out.push_str(&format!("  Secrets:            {}\n", o.secrets.join(", ")));
    }
    if !o.pipeline_roles.is_empty() {
        let shown = match o.pipeline_roles.len() {
            n if n > 3 => format!("{}, ... ({n} roles)", o.pipeline_roles[..3].join(", ")),
            _ => o.pipeline_roles.join(", "),
        };
        out.push_str(&format!("  pipeline roles:     {shown}\n"));
    }
    out.push_str(&format!("  node roles granted: {}\n", o.node_roles.join(", ")));
    out
}
