//! `kfp-iam policy`: lint documents, show what apply would write, evaluate live policies.

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::json;

use super::output::{Format, document, print, print_document};
use super::{Exit, SpecSource, connect};
use crate::plan::{Desired, EXECUTION_POLICY_NAME, resolve};
use crate::policy::catalog::{self, ActionKnown};
use crate::policy::lint::{DocumentKind, Finding, Severity, lint};
use crate::policy::{NamedPolicy, PolicyDocument, PolicySet, Request, evaluate};
use crate::spec::IdentityMode;
use crate::verify::{Identity, identity_documents};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Lint policy documents (JSON files); exits 1 when any has an error.
    Lint(LintArgs),
    /// Print the policy documents apply would write for the spec.
    Show {
        #[command(flatten)]
        source: SpecSource,
    },
    /// Evaluate a request against the live policies of one of the spec's identities.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy documents to lint.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// What the documents are, which decides the rules and the size quota.
    #[arg(long, value_enum, default_value_t = Kind::Identity)]
    pub kind: Kind,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Identity,
    Trust,
    Managed,
    Inline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum As {
    /// The access-key user.
    User,
    /// The identity pipeline pods use: the user, or the (first) pipeline role.
    Pipeline,
    /// The SageMaker execution role.
    ExecutionRole,
    /// The first node role.
    NodeRole,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: SpecSource,
    /// Whose policies to evaluate.
    #[arg(long = "as", value_enum)]
    pub principal: As,
    /// The action, such as `sagemaker:CreateTrainingJob`.
    #[arg(long)]
    pub action: String,
    /// The resource ARN.
    #[arg(long, default_value = "*")]
    pub resource: String,
    /// A request context key and value, such as `iam:PassedToService=sagemaker.amazonaws.com`.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Output format: text for people, or one JSON or YAML document on stdout.
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(command: PolicyCommand) -> anyhow::Result<Exit> {
    match command {
        PolicyCommand::Lint(args) => run_lint(args),
        PolicyCommand::Show { source } => run_show(source).await,
        PolicyCommand::Check(args) => run_check(args).await,
    }
}

#[derive(Serialize)]
struct FileFindings {
    file: String,
    findings: Vec<Finding>,
}

fn run_lint(args: LintArgs) -> anyhow::Result<Exit> {
    let kind = match args.kind {
        Kind::Identity => DocumentKind::Identity,
        Kind::Trust => DocumentKind::Trust,
        Kind::Managed => DocumentKind::ManagedPolicy,
        Kind::Inline => DocumentKind::Inline,
    };
    let mut results = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
        let doc = PolicyDocument::parse(&text)
            .map_err(|e| anyhow::anyhow!("`{}` is not a policy document: {e}", path.display()))?;
        results.push(FileFindings {
            file: path.display().to_string(),
            findings: lint(&doc, kind),
        });
    }
    let errors = results
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.severity == Severity::Error)
        .count();
    match args.output {
        Format::Human => {
            let mut out = String::new();
            for result in &results {
                for finding in &result.findings {
                    out.push_str(&format!("{}: {finding}\n", result.file));
                }
            }
            let total: usize = results.iter().map(|r| r.findings.len()).sum();
            out.push_str(&format!(
                "{} file(s), {total} finding(s), {errors} error(s)\n",
                results.len()
            ));
            print(&out)?;
        }
        format => print_document(format, &document("LintReport", &json!({"files": results}))?)?,
    }
    Ok(if errors == 0 {
        Exit::Success
    } else {
        Exit::Error
    })
}

async fn desired_of(source: &SpecSource) -> anyhow::Result<(Desired, crate::aws::SdkAws)> {
    let spec = source.load()?;
    let (aws, kube) = connect(&spec).await?;
    let desired = Desired::new(&spec, resolve(&spec, &aws, &kube).await?);
    Ok((desired, aws))
}

async fn run_show(source: SpecSource) -> anyhow::Result<Exit> {
    let (desired, _) = desired_of(&source).await?;
    let mut documents = BTreeMap::new();
    documents.insert(
        format!("role/{}/trust", desired.role),
        Desired::fresh_trust(desired.trust_statements.clone()),
    );
    if let Some(doc) = &desired.execution_policy {
        documents.insert(
            format!("role/{}/{EXECUTION_POLICY_NAME}", desired.role),
            doc.clone(),
        );
    }
    if let Some(policy) = &desired.pipeline_policy {
        documents.insert(
            format!("policy{}{}", policy.path, policy.name),
            policy.document.clone(),
        );
    }
    for role in desired.pipeline_roles.iter().take(1) {
        documents.insert(
            format!("role/{}/trust", role.name),
            Desired::fresh_trust(desired.pipeline_trust_statements(role)),
        );
    }
    for node in &desired.node_roles {
        documents.insert(
            format!("role/{node}/{}", desired.node_policy_name),
            desired.node_policy.clone(),
        );
    }
    print(&format!("{}\n", serde_json::to_string_pretty(&documents)?))?;
    Ok(Exit::Success)
}

async fn run_check(args: CheckArgs) -> anyhow::Result<Exit> {
    let (desired, aws) = desired_of(&args.source).await?;
    let identity = match args.principal {
        As::User => Identity::User(&desired.user),
        As::Pipeline if desired.mode == IdentityMode::AccessKey => Identity::User(&desired.user),
        As::Pipeline => Identity::Role(
            desired
                .pipeline_roles
                .first()
                .map(|r| r.name.as_str())
                .ok_or_else(|| anyhow::anyhow!("no namespace is in scope, so no pipeline role"))?,
        ),
        As::ExecutionRole => Identity::Role(&desired.role),
        As::NodeRole => Identity::Role(
            desired
                .node_roles
                .first()
                .map(String::as_str)
                .ok_or_else(|| anyhow::anyhow!("the spec resolves to no node role"))?,
        ),
    };
    let documents = identity_documents(identity, &aws).await?;
    let identity_policies = documents
        .iter()
        .map(|(name, text)| {
            let doc = PolicyDocument::parse(text)
                .map_err(|e| anyhow::anyhow!("policy `{name}` does not parse: {e}"))?;
            Ok(NamedPolicy::new(name.clone(), doc))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let ActionKnown::UnknownAction | ActionKnown::UnknownService =
        catalog::action_exists(&args.action)
    {
        eprintln!(
            "note: `{}` is not in kfp-iam's action catalog; check its spelling \
                   (`kfp-iam policy lint` suggests the nearest action)",
            args.action
        );
    }
    let mut request = Request::new(&args.action, &args.resource);
    for pair in &args.context {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--context `{pair}` is not KEY=VALUE"))?;
        request = request.with_context(key, value);
    }
    let set = PolicySet {
        identity: identity_policies,
        ..PolicySet::default()
    };
    let decision = evaluate(&set, &request)?;
    let by: Vec<String> = decision.deciding.iter().map(ToString::to_string).collect();
    let body = json!({
        "principal": match identity { Identity::User(n) => format!("user/{n}"),
            Identity::Role(n) => format!("role/{n}") },
        "action": args.action,
        "resource": args.resource,
        "decision": decision.outcome.to_string(),
        "decidingStatements": by,
        "policies": documents.keys().collect::<Vec<_>>(),
    });
    match args.output {
        Format::Human => {
            let mut out = format!(
                "{}: {} `{}` on `{}`\n",
                body["principal"].as_str().unwrap_or_default(),
                decision.outcome,
                args.action,
                args.resource
            );
            for statement in &by {
                out.push_str(&format!("  decided by {statement}\n"));
            }
            if by.is_empty() && !decision.is_allowed() {
                out.push_str(
                    "  no statement allows it; a statement whose condition needs a \
                              context key may, with --context KEY=VALUE\n",
                );
            }
            print(&out)?;
        }
        format => print_document(format, &document("PolicyDecision", &body)?)?,
    }
    Ok(if decision.is_allowed() {
        Exit::Success
    } else {
        Exit::ChecksFailed
    })
}
