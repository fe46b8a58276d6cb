//! Apply: runs a plan's changes against AWS and Kubernetes.
//!
//! # Guarantees
//! - Order: within a chain (the user with its key and Secret; the execution role; each node
//!   role) changes run in plan order; independent chains run concurrently.
//! - A new access key goes from the AWS response straight into the Secret. If the Secret write
//!   fails, the new key is deleted again, so no key is left that no Secret holds.
//! - A failed change stops its own chain only; the report lists what was done, what failed and
//!   what was skipped. Every change is idempotent, so running apply again resumes.
//! - Nothing is written while the plan has blockers.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::aws::{Aws, AwsError, CallCounts};
use crate::kube::{Kube, KubeError};
use crate::plan::{
    ACCESS_KEY_ID_KEY, Blocker, Change, Desired, Observed, Plan, ResourceKind, ResourcePlan,
    SECRET_ACCESS_KEY_KEY,
};
use crate::secret::SecretValue;
use crate::spec::{MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// Errors that stop an apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("nothing was written: the plan has {} blocker(s):\n{}", .0.len(), render(.0))]
    Blocked(Vec<Blocker>),
    #[error("{} of {} change(s) failed; run apply again to resume", .report.failed(), .report.changes.len())]
    Partial { report: Box<ApplyReport> },
}

fn render(blockers: &[Blocker]) -> String {
    let lines: Vec<String> = blockers.iter().map(|b| format!("  - {}", b.reason)).collect();
    lines.join("\n")
}

/// A failed write, from either side.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Kube(#[from] KubeError),
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "status", content = "error")]
pub enum Outcome {
    Done,
    Failed(String),
    /// Not attempted because an earlier change of its chain failed.
    Skipped,
}

/// One change with its outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedChange {
    pub kind: ResourceKind,
    pub resource: String,
    pub summary: String,
    pub change: Change,
    pub outcome: Outcome,
}

/// The values users need after an apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outputs {
    /// The role ARN to pass to SageMaker components.
    pub execution_role_arn: Option<String>,
    pub user_arn: Option<String>,
    /// `namespace/name` of the Secret holding the access key.
    pub secret: String,
    pub node_roles: Vec<String>,
}

/// Calls made during a run, by side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Calls {
    pub aws: CallCounts,
    pub kubernetes: CallCounts,
}

/// The result of an apply.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub changes: Vec<AppliedChange>,
    pub outputs: Outputs,
    pub calls: Calls,
}

impl ApplyReport {
    pub fn failed(&self) -> usize {
        self.changes.iter().filter(|c| matches!(c.outcome, Outcome::Failed(_))).count()
    }
}

/// Chains of resources whose changes depend on each other.
fn chains(plan: &Plan) -> Vec<Vec<&ResourcePlan>> {
    let mut user_chain = Vec::new();
    let mut others = Vec::new();
    for resource in &plan.resources {
        match resource.kind {
            ResourceKind::User | ResourceKind::Secret => user_chain.push(resource),
            _ => others.push(vec![resource]),
        }
    }
    std::iter::once(user_chain).chain(others).filter(|c| !c.is_empty()).collect()
}

/// Runs `plan`; see the module documentation for the guarantees.
pub async fn apply(
    plan: &Plan,
    desired: &Desired,
    observed: &Observed,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<ApplyReport, ApplyError> {
    if !plan.blockers.is_empty() {
        return Err(ApplyError::Blocked(plan.blockers.clone()));
    }
    let mut outputs = Outputs {
        execution_role_arn: observed.role.as_ref().map(|r| r.arn.clone()),
        user_arn: observed.user.as_ref().map(|u| u.arn.clone()),
        secret: format!("{}/{}", desired.secret_namespace, desired.secret_name),
        node_roles: desired.node_roles.clone(),
    };

    let runs = chains(plan).into_iter().map(|chain| run_chain(chain, aws, kube));
    let mut changes = Vec::new();
    for (applied, arns) in join_all(runs).await {
        changes.extend(applied);
        for (kind, arn) in arns {
            match kind {
                ResourceKind::User => outputs.user_arn = Some(arn),
                ResourceKind::ExecutionRole => outputs.execution_role_arn = Some(arn),
                _ => {}
            }
        }
    }

    let calls = Calls { aws: aws.calls(), kubernetes: kube.calls() };
    let report = ApplyReport { changes, outputs, calls };
    match report.failed() {
        0 => Ok(report),
        _ => Err(ApplyError::Partial { report: Box::new(report) }),
    }
}

type ChainResult = (Vec<AppliedChange>, Vec<(ResourceKind, String)>);

async fn run_chain(chain: Vec<&ResourcePlan>, aws: &impl Aws, kube: &impl Kube) -> ChainResult {
    let mut applied = Vec::new();
    let mut arns = Vec::new();
    let mut failed = false;
    for resource in chain {
        for change in &resource.changes {
            let span = info_span!("change", kind = ?resource.kind, name = %resource.name);
            let outcome = if failed {
                Outcome::Skipped
            } else {
                match execute(change, aws, kube).instrument(span).await {
                    Ok(arn) => {
                        arns.extend(arn.map(|a| (resource.kind, a)));
                        Outcome::Done
                    }
                    Err(e) => {
                        warn!(resource = %resource.name, error = %e, "change failed");
                        failed = true;
                        Outcome::Failed(e.to_string())
                    }
                }
            };
            applied.push(AppliedChange {
                kind: resource.kind,
                resource: resource.name.clone(),
                summary: change.summary(),
                change: change.clone(),
                outcome,
            });
        }
    }
    (applied, arns)
}

fn managed_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())])
}

/// Runs one change; returns the ARN of a resource it created.
async fn execute(
    change: &Change,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<Option<String>, WriteError> {
    info!(change = %change.summary(), "applying");
    match change {
        Change::CreateUser { user, tags } => return Ok(Some(aws.create_user(user, tags).await?.arn)),
        Change::TagUser { user, tags } => aws.tag_user(user, tags).await?,
        Change::AttachUserPolicy { user, policy_arn } => {
            aws.attach_user_policy(user, policy_arn).await?
        }
        Change::DetachUserPolicy { user, policy_arn } => {
            aws.detach_user_policy(user, policy_arn).await?
        }
        Change::CreateAccessKey { user, namespace, secret } => {
            store_new_key(user, namespace, secret, aws, kube).await?
        }
        Change::DeleteAccessKey { user, access_key_id, .. } => {
            aws.delete_access_key(user, access_key_id).await?
        }
        Change::LabelSecret { namespace, secret } => {
            kube.apply_secret(namespace, secret, &managed_labels(), &BTreeMap::new()).await?
        }
        Change::CreateRole { role, trust, tags } => {
            let created = aws.create_role(role, &trust.to_string(), tags).await?;
            return Ok(Some(created.arn));
        }
        Change::TagRole { role, tags } => aws.tag_role(role, tags).await?,
        Change::UpdateTrust { role, to, .. } => aws.update_trust(role, &to.to_string()).await?,
        Change::AttachRolePolicy { role, policy_arn } => {
            aws.attach_role_policy(role, policy_arn).await?
        }
        Change::DetachRolePolicy { role, policy_arn } => {
            aws.detach_role_policy(role, policy_arn).await?
        }
        Change::PutInlinePolicy { role, policy_name, to, .. } => {
            aws.put_role_inline_policy(role, policy_name, &to.to_string()).await?
        }
    }
    Ok(None)
}

/// Creates a key and writes it into the Secret; deletes the key again if the write fails.
async fn store_new_key(
    user: &str,
    namespace: &str,
    secret: &str,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<(), WriteError> {
    let key = aws.create_access_key(user).await?;
    let data = BTreeMap::from([
        (ACCESS_KEY_ID_KEY.to_owned(), SecretValue::new(key.access_key_id.clone())),
        (SECRET_ACCESS_KEY_KEY.to_owned(), key.secret_access_key.clone()),
    ]);
    let Err(write) = kube.apply_secret(namespace, secret, &managed_labels(), &data).await else {
        return Ok(());
    };
    // The new key is useless without the Secret; do not leave it behind.
    if let Err(cleanup) = aws.delete_access_key(user, &key.access_key_id).await {
        warn!(key_id = %key.access_key_id, error = %cleanup,
            "could not delete the access key that the Secret failed to store; the next apply \
             deletes it");
    }
    Err(write.into())
}
