//! `kfp-iam plan`: what apply would change, read-only.

use clap::Args;
use serde::Serialize;

use super::output::{Format, Paint, document, document_diff, print, print_document};
use super::{Exit, SpecSource, connect};
use crate::apply::Calls;
use crate::aws::Aws;
use crate::kube::Kube;
use crate::plan::{Action, DiffOptions, Plan, ResourceKind, plan};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Plan to take over same-named resources that kfp-iam did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Exit 0 when nothing would change, 2 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// The `-o json|yaml` document: the plan and the calls it took to read the state.
#[derive(Serialize)]
struct PlanOutput<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    calls: Calls,
}

pub async fn run(args: PlanArgs, color: bool) -> anyhow::Result<Exit> {
    let spec = args.source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let (_, _, plan) = plan(
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
    let calls = Calls {
        aws: aws.calls(),
        kubernetes: kube.calls(),
    };

    match args.output {
        Format::Human => print(&render(&plan, Paint(color)))?,
        format => print_document(
            format,
            &document("Plan", &PlanOutput { plan: &plan, calls })?,
        )?,
    }
    if !plan.blockers.is_empty() {
        anyhow::bail!(
            "the plan has {} blocker(s); apply would refuse to run until they are resolved",
            plan.blockers.len()
        );
    }
    Ok(match (args.detailed_exitcode, plan.has_changes()) {
        (true, true) => Exit::ChangesPending,
        _ => Exit::Success,
    })
}

pub fn kind_label(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "IAM user",
        ResourceKind::Secret => "Secret",
        ResourceKind::ExecutionRole => "execution role",
        ResourceKind::NodeRole => "node role",
        ResourceKind::OidcProvider => "OIDC provider",
        ResourceKind::PipelineRole => "pipeline role",
        ResourceKind::ServiceAccount => "service account",
        ResourceKind::PodIdentityAssociation => "pod identity association",
        ResourceKind::AccessKey => "access keys of",
        ResourceKind::PipelinePolicy => "pipeline policy",
    }
}

/// The plan as people read it: one block per resource, documents as diffs, then a summary.
pub fn render(plan: &Plan, paint: Paint) -> String {
    let mut out = render_resources(plan, paint);
    let summary = match (plan.change_count(), plan.blockers.len()) {
        (0, 0) => "No changes: AWS and Kubernetes match the spec.".to_owned(),
        (n, 0) => format!("Plan: {n} change(s). Run `kfp-iam apply` to make them."),
        (n, b) => format!("Plan: {n} change(s), {b} blocker(s); apply will refuse to run."),
    };
    out.push('\n');
    out.push_str(&summary);
    out.push('\n');
    out
}

/// One block per resource with its changes, then the blockers.
pub fn render_resources(plan: &Plan, paint: Paint) -> String {
    let mut out = String::new();
    for resource in &plan.resources {
        let (mark, word) = match resource.action {
            Action::Create => (paint.green("+"), paint.green("create")),
            Action::Update => (paint.yellow("~"), paint.yellow("update")),
            Action::NoChange => (" ".into(), "no change".into()),
            Action::Blocked => (paint.red("!"), paint.red("blocked")),
            Action::Delete => (paint.red("-"), paint.red("delete")),
            Action::Keep => (" ".into(), paint.yellow("kept: not managed by kfp-iam")),
        };
        let label = kind_label(resource.kind);
        out.push_str(&format!(
            "{mark} {label} {}: {word}\n",
            paint.bold(&resource.name)
        ));
        for change in &resource.changes {
            out.push_str(&format!("    {}\n", change.summary()));
            if let Some((from, to)) = change.document_diff() {
                out.push_str(&document_diff(from, to, "        ", paint));
            }
        }
    }
    for blocker in &plan.blockers {
        out.push_str(&format!("{} {}\n", paint.red("blocked:"), blocker.reason));
    }
    out
}
