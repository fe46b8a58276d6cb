//! `kfp-iam apply`: make AWS and Kubernetes match the spec.

use clap::Args;

use super::output::{Format, Paint, document, print, print_document};
use super::plan::kind_label;
use super::{Exit, SpecSource, connect};
use std::io::IsTerminal;

use crate::apply::{
    AppliedChange, ApplyError, ApplyReport, Outcome, Progress, apply_with_progress,
};
use crate::plan::{DiffOptions, plan};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Take over same-named resources that kfp-iam did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(args: ApplyArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let (desired, observed, plan) = plan(
        &spec,
        &aws,
        &kube,
        DiffOptions {
            adopt: args.adopt,
            now: super::now(),
            ..DiffOptions::default()
        },
    )
    .await?;
    let bar = Bar::for_terminal(args.output, plan.change_count());
    let result = apply_with_progress(&plan, &desired, &observed, &aws, &kube, &bar).await;

    finish(result, args.output, "ApplyReport", |report| {
        render(report, Paint(color))
    })
}

/// A progress bar on stderr, for runs big enough to need one and only on a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn for_terminal(output: Format, changes: usize) -> Self {
        let wanted = output == Format::Human && changes > 20 && std::io::stderr().is_terminal();
        Self(wanted.then(|| {
            let bar = indicatif::ProgressBar::new(changes as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} changes {msg}")
            {
                bar.set_style(style);
            }
            bar
        }))
    }
}

impl Progress for Bar {
    fn finished(&self, change: &AppliedChange) {
        if let Some(bar) = &self.0 {
            bar.set_message(change.resource.clone());
            bar.inc(1);
        }
    }

    fn end(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// What apply did, then the outputs users copy into their pipelines.
pub fn render(report: &ApplyReport, paint: Paint) -> String {
    let mut out = render_changes(report, paint);
    render_outputs(report, paint, &mut out);
    out
}

/// What a run did, change by change.
pub fn render_changes(report: &ApplyReport, paint: Paint) -> String {
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
        out.push_str(&format!(
            "{mark:>8} {label} {}: {}\n",
            applied.resource, applied.summary
        ));
        if let Outcome::Failed(error) = &applied.outcome {
            out.push_str(&format!("         {error}\n"));
        }
    }
    out
}

fn render_outputs(report: &ApplyReport, paint: Paint, out: &mut String) {
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
    out.push_str(&format!(
        "  node roles granted: {}\n",
        o.node_roles.join(", ")
    ));
}

/// Prints what a run of changes did, whole or partial, as `kind` in a document format, and
/// then passes its error on. A blocked plan wrote nothing and has no report to print.
pub(super) fn finish(
    result: Result<ApplyReport, ApplyError>,
    format: Format,
    kind: &str,
    text: impl FnOnce(&ApplyReport) -> String,
) -> anyhow::Result<Exit> {
    let report = match &result {
        Ok(report) => report,
        Err(ApplyError::Partial { report }) => report.as_ref(),
        Err(ApplyError::Blocked(_)) => return result.map(|_| Exit::Success).map_err(Into::into),
    };
    match format {
        Format::Human => print(&text(report))?,
        format => print_document(format, &document(kind, report)?)?,
    }
    result?;
    Ok(Exit::Success)
}
