//! Apply: runs a plan's changes against AWS and Kubernetes.
//!
//! # Guarantees
//! - Order: the plan puts every resource in a wave; waves run in order, the resources of one
//!   wave concurrently (at most [`CONCURRENCY`] at a time), and the changes of one resource
//!   in plan order. A wave with a failure stops the waves after it, which depend on it.
//! - A new access key goes from the AWS response straight into the Secret. If the Secret write
//!   fails, the new key is deleted again, so no key is left that no Secret holds.
//! - The report lists what was done, what failed and what was skipped. Every change is
//!   idempotent, so running apply again resumes.
//! - Nothing is written while the plan has blockers.

use std::collections::BTreeMap;

use futures::{StreamExt, stream};
use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::aws::{Aws, AwsError, CallCounts, ErrorKind};
use crate::kube::{Kube, KubeError};
use crate::plan::{
    ACCESS_KEY_ID_KEY, ACCESS_LABEL, Blocker, CONCURRENCY, Change, Desired, KEYS_TAG, Observed,
    PENDING_KEY_TAG, Plan, ROLE_ARN_ANNOTATION, ResourceKind, ResourcePlan, SECRET_ACCESS_KEY_KEY,
    key_in_secret,
};
use crate::retry::{Backoff, TokioSleeper, retry};
use crate::secret::SecretValue;
use crate::spec::{MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// Errors that stop an apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("nothing was written: the plan has {} blocker(s):\n{}", .0.len(), render(.0))]
    Blocked(Vec<Blocker>),
    #[error(
        "{} of {} change(s) failed; run apply again to resume",
        .report.failed(),
        .report.changes.len()
    )]
    Partial { report: Box<ApplyReport> },
}

fn render(blockers: &[Blocker]) -> String {
    let lines: Vec<String> = blockers
        .iter()
        .map(|b| format!("  - {}", b.reason))
        .collect();
    lines.join("\n")
}

/// A failed write, from either side.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error("Secret `{0}` no longer holds the key to copy; run apply again")]
    KeyVanished(String),
    #[error("Secret `{secret}` still holds the old key `{key}`; it was not deleted")]
    OldKeyStillHeld { secret: String, key: String },
    #[error("the new key in Secret `{secret}` does not work yet: {reason}; run apply again")]
    NewKeyNotWorking { secret: String, reason: String },
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
    /// The access-key user (access-key mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// `namespace/name` of each Secret holding the access key (access-key mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// ARNs of the roles pipeline pods assume (irsa and pod-identity modes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipeline_roles: Vec<String>,
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
        self.changes
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
            .count()
    }
}

/// Hears about each change as it finishes, to show progress.
pub trait Progress: Send + Sync {
    fn begin(&self, _total: usize) {}
    fn finished(&self, _change: &AppliedChange) {}
    fn end(&self) {}
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Runs `plan`; see the module documentation for the guarantees.
pub async fn apply(
    plan: &Plan,
    desired: &Desired,
    observed: &Observed,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<ApplyReport, ApplyError> {
    Box::pin(apply_with_progress(
        plan, desired, observed, aws, kube, &Silent,
    ))
    .await
}

/// [`apply`], reporting each finished change to `progress`.
pub async fn apply_with_progress(
    plan: &Plan,
    desired: &Desired,
    observed: &Observed,
    aws: &impl Aws,
    kube: &impl Kube,
    progress: &impl Progress,
) -> Result<ApplyReport, ApplyError> {
    if !plan.blockers.is_empty() {
        return Err(ApplyError::Blocked(plan.blockers.clone()));
    }
    let mut outputs = initial_outputs(desired, observed);

    let mut changes = Vec::new();
    let mut failed = false;
    progress.begin(plan.change_count());
    let last_wave = plan
        .resources
        .iter()
        .map(|r| r.wave)
        .max()
        .unwrap_or_default();
    for wave in 0..=last_wave {
        let resources = plan
            .resources
            .iter()
            .filter(|r| r.wave == wave && !r.changes.is_empty());
        if failed {
            changes.extend(resources.flat_map(skipped));
            continue;
        }
        let runs: Vec<_> = stream::iter(resources)
            .map(|resource| run_resource(resource, aws, kube, progress))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (applied, arn) in runs {
            failed |= applied
                .iter()
                .any(|a| matches!(a.outcome, Outcome::Failed(_)));
            changes.extend(applied);
            match arn {
                Some((ResourceKind::User, arn)) => outputs.user_arn = Some(arn),
                Some((ResourceKind::ExecutionRole, arn)) => outputs.execution_role_arn = Some(arn),
                _ => {}
            }
        }
    }

    progress.end();
    let calls = Calls {
        aws: aws.calls(),
        kubernetes: kube.calls(),
    };
    let report = ApplyReport {
        changes,
        outputs,
        calls,
    };
    match report.failed() {
        0 => Ok(report),
        _ => Err(ApplyError::Partial {
            report: Box::new(report),
        }),
    }
}

fn initial_outputs(desired: &Desired, observed: &Observed) -> Outputs {
    let access_key = desired.mode == crate::spec::IdentityMode::AccessKey;
    let secrets = desired.targets.iter().filter(|_| access_key);
    let pipeline_roles = desired.pipeline_roles.iter().map(|r| {
        observed
            .pipeline_roles
            .get(&r.name)
            .map(|o| o.role.arn.clone())
            .unwrap_or_else(|| desired.pipeline_role_arn(&r.name))
    });
    Outputs {
        execution_role_arn: observed.role.as_ref().map(|r| r.arn.clone()),
        user_arn: observed
            .user
            .as_ref()
            .map(|u| u.arn.clone())
            .filter(|_| access_key),
        secrets: secrets
            .map(|t| format!("{}/{}", t.namespace, desired.secret_name))
            .collect(),
        pipeline_roles: pipeline_roles.collect(),
        node_roles: desired.node_roles.clone(),
    }
}

fn skipped(resource: &ResourcePlan) -> impl Iterator<Item = AppliedChange> + '_ {
    resource.changes.iter().map(|change| AppliedChange {
        kind: resource.kind,
        resource: resource.name.clone(),
        summary: change.summary(),
        change: change.clone(),
        outcome: Outcome::Skipped,
    })
}

/// Runs one resource's changes in order; stops at its first failure.
async fn run_resource(
    resource: &ResourcePlan,
    aws: &impl Aws,
    kube: &impl Kube,
    progress: &impl Progress,
) -> (Vec<AppliedChange>, Option<(ResourceKind, String)>) {
    let span = info_span!("resource", kind = ?resource.kind, name = %resource.name);
    async {
        let mut applied = Vec::new();
        let mut created = None;
        let mut failed = false;
        for change in &resource.changes {
            let outcome = if failed {
                Outcome::Skipped
            } else {
                match execute(change, aws, kube).await {
                    Ok(arn) => {
                        created = created.or(arn.map(|a| (resource.kind, a)));
                        Outcome::Done
                    }
                    Err(e) => {
                        warn!(error = %e, "change failed");
                        failed = true;
                        Outcome::Failed(e.to_string())
                    }
                }
            };
            let change = AppliedChange {
                kind: resource.kind,
                resource: resource.name.clone(),
                summary: change.summary(),
                change: change.clone(),
                outcome,
            };
            progress.finished(&change);
            applied.push(change);
        }
        (applied, created)
    }
    .instrument(span)
    .await
}

/// The labels of a Secret kfp-iam writes for the spec named `access`.
fn secret_labels(access: &str) -> BTreeMap<String, String> {
    let mut labels = managed_labels();
    labels.insert(ACCESS_LABEL.to_owned(), access.to_owned());
    labels
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
        Change::CreateUser { user, tags } => {
            // A retried create whose first attempt went through finds the user there.
            return match aws.create_user(user, tags).await {
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    Ok(aws.get_user(user).await?.map(|u| u.arn))
                }
                other => Ok(Some(other?.arn)),
            };
        }
        Change::TagUser { user, tags } => aws.tag_user(user, tags).await?,
        Change::AttachUserPolicy { user, policy_arn } => {
            aws.attach_user_policy(user, policy_arn).await?
        }
        Change::DetachUserPolicy { user, policy_arn } => {
            aws.detach_user_policy(user, policy_arn).await?
        }
        Change::CreateAccessKey {
            user,
            namespace,
            secret,
            access,
        } => store_new_key(user, (namespace, secret), &secret_labels(access), aws, kube).await?,
        Change::DeleteAccessKey {
            user,
            access_key_id,
            ..
        } => match aws.delete_access_key(user, access_key_id).await {
            Err(e) if e.is_not_found() => {}
            other => other?,
        },
        Change::RetireAccessKey {
            user,
            access_key_id,
            namespaces,
            secret,
        } => retire_key(user, access_key_id, namespaces, secret, aws, kube).await?,
        Change::UntagUser { user, keys } => aws.untag_user(user, keys).await?,
        Change::DeleteUser { user } => delete_user(user, aws).await?,
        Change::DeleteSecret { namespace, secret } => kube.delete_secret(namespace, secret).await?,
        Change::DeleteInlinePolicy { role, policy_name } => {
            match aws.delete_role_inline_policy(role, policy_name).await {
                Err(e) if e.is_not_found() => {}
                other => other?,
            }
        }
        Change::CreateManagedPolicy {
            name,
            path,
            document,
            tags,
        } => {
            match aws
                .create_policy(name, path, &document.to_string(), tags)
                .await
            {
                Err(e) if e.kind == ErrorKind::AlreadyExists => {}
                other => drop(other?),
            }
        }
        Change::UpdateManagedPolicy { arn, to, .. } => {
            aws.set_policy_document(arn, &to.to_string()).await?
        }
        Change::DeleteManagedPolicy { arn } => match aws.delete_policy(arn).await {
            Err(e) if e.is_not_found() => {}
            other => other?,
        },
        Change::DeleteOidcProvider { arn } => match aws.delete_oidc_provider(arn).await {
            Err(e) if e.is_not_found() => {}
            other => other?,
        },
        Change::LabelSecret {
            namespace,
            secret,
            access,
        } => {
            let labels = secret_labels(access);
            kube.label_secret(namespace, secret, &labels).await?
        }
        Change::CreateRole {
            role,
            path,
            trust,
            tags,
        } => {
            let trust = trust.to_string();
            return match aws.create_role(role, path.as_deref(), &trust, tags).await {
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    Ok(aws.get_role(role).await?.map(|r| r.arn))
                }
                other => Ok(Some(other?.arn)),
            };
        }
        Change::DeleteRole { role } => delete_role(role, aws).await?,
        Change::CopyAccessKey {
            from_namespace,
            namespace,
            secret,
            access,
        } => {
            let source = kube.get_secret(from_namespace, secret).await?;
            let from = format!("{from_namespace}/{secret}");
            let pair = source
                .as_ref()
                .and_then(key_in_secret)
                .ok_or(WriteError::KeyVanished(from))?;
            let data = BTreeMap::from([
                (
                    ACCESS_KEY_ID_KEY.to_owned(),
                    SecretValue::new(pair.access_key_id),
                ),
                (SECRET_ACCESS_KEY_KEY.to_owned(), pair.secret_access_key),
            ]);
            kube.apply_secret(namespace, secret, &secret_labels(access), &data)
                .await?
        }
        Change::CreateOidcProvider {
            url,
            client_ids,
            tags,
        } => match aws.create_oidc_provider(url, client_ids, tags).await {
            Err(e) if e.kind == ErrorKind::AlreadyExists => {}
            other => drop(other?),
        },
        Change::ApplyServiceAccount {
            namespace,
            name,
            role_arn,
            access,
        } => {
            let (annotations, labels) = match role_arn {
                Some(arn) => (
                    BTreeMap::from([(ROLE_ARN_ANNOTATION.to_owned(), arn.clone())]),
                    BTreeMap::from([(ACCESS_LABEL.to_owned(), access.clone())]),
                ),
                None => (BTreeMap::new(), BTreeMap::new()),
            };
            kube.apply_service_account(namespace, name, &annotations, &labels)
                .await?
        }
        Change::CreatePodIdentityAssociation {
            cluster,
            namespace,
            service_account,
            role_arn,
        } => {
            let tags = managed_labels();
            let created = aws
                .create_pod_identity_association(
                    cluster,
                    namespace,
                    service_account,
                    role_arn,
                    &tags,
                )
                .await;
            match created {
                Err(e) if e.kind == ErrorKind::AlreadyExists => {}
                other => other?,
            }
        }
        Change::UpdatePodIdentityAssociation {
            cluster,
            id,
            role_arn,
        } => {
            aws.update_pod_identity_association(cluster, id, role_arn)
                .await?
        }
        Change::DeletePodIdentityAssociation { cluster, id } => {
            aws.delete_pod_identity_association(cluster, id).await?
        }
        Change::TagRole { role, tags } => aws.tag_role(role, tags).await?,
        Change::UpdateTrust { role, to, .. } => aws.update_trust(role, &to.to_string()).await?,
        Change::AttachRolePolicy { role, policy_arn } => {
            aws.attach_role_policy(role, policy_arn).await?
        }
        Change::DetachRolePolicy { role, policy_arn } => {
            aws.detach_role_policy(role, policy_arn).await?
        }
        Change::PutInlinePolicy {
            role,
            policy_name,
            to,
            ..
        } => {
            aws.put_role_inline_policy(role, policy_name, &to.to_string())
                .await?
        }
    }
    Ok(None)
}

/// Deletes a user the way IAM requires: keys and policies first. Safe to run again after an
/// interruption: whatever is already gone is skipped.
async fn delete_user(user: &str, aws: &impl Aws) -> Result<(), WriteError> {
    let gone = |r: Result<(), AwsError>| match r {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    };
    let keys = match aws.list_access_keys(user).await {
        Err(e) if e.is_not_found() => return Ok(()),
        other => other?,
    };
    for key in keys {
        gone(aws.delete_access_key(user, &key.id).await)?;
    }
    for arn in aws.list_user_policies(user).await? {
        gone(aws.detach_user_policy(user, &arn).await)?;
    }
    for name in aws.list_user_inline_policies(user).await? {
        gone(aws.delete_user_inline_policy(user, &name).await)?;
    }
    Ok(gone(aws.delete_user(user).await)?)
}

/// Deletes a role the way IAM requires: attached and inline policies first.
async fn delete_role(role: &str, aws: &impl Aws) -> Result<(), WriteError> {
    let policies = match aws.list_role_policies(role).await {
        Err(e) if e.is_not_found() => return Ok(()),
        other => other?,
    };
    for arn in policies {
        aws.detach_role_policy(role, &arn).await?;
    }
    for name in aws.list_role_inline_policies(role).await? {
        aws.delete_role_inline_policy(role, &name).await?;
    }
    match aws.delete_role(role).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => Ok(other?),
    }
}

/// Creates a key and writes it into the Secret; deletes the key again if the write fails.
/// The user carries [`PENDING_KEY_TAG`] from before the key exists until it is stored, so a
/// run killed in between leaves a mark the next run uses to delete the orphan; once stored,
/// the key joins the ids in [`KEYS_TAG`], the keys kfp-iam made and may delete when no Secret
/// holds them any more.
async fn store_new_key(
    user: &str,
    (namespace, secret): (&str, &str),
    labels: &BTreeMap<String, String>,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<(), WriteError> {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let since = since.map(|d| d.as_secs()).unwrap_or_default().to_string();
    aws.tag_user(user, &BTreeMap::from([(PENDING_KEY_TAG.to_owned(), since)]))
        .await?;
    let id = stored_key(user, namespace, secret, labels, aws, kube).await?;

    let existing = aws.list_access_keys(user).await?;
    let mut ours: Vec<String> = aws
        .get_user(user)
        .await?
        .and_then(|u| {
            u.tags
                .get(KEYS_TAG)
                .map(|t| t.split_whitespace().map(str::to_owned).collect())
        })
        .unwrap_or_default();
    ours.push(id);
    ours.retain(|k| existing.iter().any(|e| &e.id == k));
    ours.dedup();
    let tags = BTreeMap::from([(KEYS_TAG.to_owned(), ours.join(" "))]);
    aws.tag_user(user, &tags).await?;
    aws.untag_user(user, &[PENDING_KEY_TAG.to_owned()]).await?;
    Ok(())
}

async fn stored_key(
    user: &str,
    namespace: &str,
    secret: &str,
    labels: &BTreeMap<String, String>,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<String, WriteError> {
    let key = aws.create_access_key(user).await?;
    let data = BTreeMap::from([
        (
            ACCESS_KEY_ID_KEY.to_owned(),
            SecretValue::new(key.access_key_id.clone()),
        ),
        (
            SECRET_ACCESS_KEY_KEY.to_owned(),
            key.secret_access_key.clone(),
        ),
    ]);
    let Err(write) = kube.apply_secret(namespace, secret, labels, &data).await else {
        return Ok(key.access_key_id);
    };
    // The new key is useless without the Secret; do not leave it behind.
    if let Err(cleanup) = aws.delete_access_key(user, &key.access_key_id).await {
        warn!(key_id = %key.access_key_id, error = %cleanup,
            "could not delete the access key that the Secret failed to store; the next apply \
             deletes it");
    }
    Err(write.into())
}

/// Finishes a rotation: every Secret must hold a key STS accepts (IAM is eventually
/// consistent, so a new key gets a bounded wait), and none the old key; only then is the old
/// key deactivated and deleted.
async fn retire_key(
    user: &str,
    old: &str,
    namespaces: &[String],
    secret: &str,
    aws: &impl Aws,
    kube: &impl Kube,
) -> Result<(), WriteError> {
    let wait = Backoff {
        max_attempts: 8,
        budget: std::time::Duration::from_secs(30),
        ..Backoff::default()
    };
    for namespace in namespaces {
        let name = format!("{namespace}/{secret}");
        let held = kube
            .get_secret(namespace, secret)
            .await?
            .as_ref()
            .and_then(key_in_secret);
        let Some(pair) = held else { continue };
        if pair.access_key_id == old {
            return Err(WriteError::OldKeyStillHeld {
                secret: name,
                key: old.to_owned(),
            });
        }
        let retryable = |e: &AwsError| e.kind == ErrorKind::AccessDenied || e.kind.is_retryable();
        let checked = retry(&wait, &TokioSleeper, retryable, || {
            info!(target: "kfp_iam::wait", secret = %name,
                "waiting for IAM to accept the new access key");
            aws.caller_arn(&pair)
        })
        .await;
        if let Err(e) = checked {
            return Err(WriteError::NewKeyNotWorking {
                secret: name,
                reason: e.to_string(),
            });
        }
    }
    match aws.set_access_key_active(user, old, false).await {
        Err(e) if e.is_not_found() => return Ok(()),
        other => other?,
    }
    match aws.delete_access_key(user, old).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => Ok(other?),
    }
}
