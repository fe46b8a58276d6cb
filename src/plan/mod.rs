//! The plan: desired state from the spec, observed state from the clouds, and the changes
//! between them.
//!
//! Flow: [`resolve_node_roles`] and [`Desired::new`] turn a spec into what should exist;
//! [`observe`] reads what does; [`diff`] lists the changes, in the order apply must run them,
//! and the blockers that forbid applying at all. Reading a plan never writes.

mod desired;
mod diff;
mod keys;
mod lint;
mod observed;
mod teardown;

use serde::Serialize;
use serde_json::Value;

pub use desired::{
    ACCESS_KEY_ID_KEY, ACCESS_LABEL, Desired, EXECUTION_POLICY_NAME, INVOKE_SID, ManagedPolicy,
    PipelineRole, ROLE_ARN_ANNOTATION, Resolved, SECRET_ACCESS_KEY_KEY, STS_AUDIENCE, TRUST_SID,
    Target, default_service_account,
};
pub use diff::{DiffOptions, TRUST_QUOTA, diff, merge_trust, same_document};
pub use keys::{KEYS_TAG, PENDING_KEY_TAG, ROTATING_FROM_TAG};
pub use observed::{
    CONCURRENCY, KeyHealth, Observed, ObservedNodeRole, ObservedRole, ObservedSecret, key_health,
    key_in_secret, observe,
};
pub use teardown::{deletions, teardown};

use std::collections::BTreeMap;

use crate::aws::{Aws, AwsError, role_name_from_arn};
use crate::kube::{Kube, KubeError};
use crate::spec::{IdentityMode, NamespaceScope, Spec};

/// Errors building a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error(
        "no node role to grant `sagemaker:InvokeEndpoint`: set `spec.nodeRoles`, or \
         `spec.cluster` (or --cluster) to discover them from the cluster's managed nodegroups"
    )]
    NoClusterNorNodeRoles,
    #[error(
        "EKS cluster `{0}` has no managed nodegroup with a node role; list the node roles \
         in `spec.nodeRoles`"
    )]
    NoNodeRoles(String),
    #[error("the trust policy of role `{role}` is not valid JSON: {message}")]
    UnreadableTrust { role: String, message: String },
    #[error("no namespace is in scope: {0}")]
    EmptyScope(String),
}

/// The kind of resource a plan entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceKind {
    User,
    Secret,
    ExecutionRole,
    NodeRole,
    OidcProvider,
    PipelineRole,
    ServiceAccount,
    PodIdentityAssociation,
    /// Keys of the user to delete once the Secrets hold a working one.
    AccessKey,
    /// The generated pipeline permissions (scoped mode).
    PipelinePolicy,
}

/// What happens to a resource as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    NoChange,
    /// Something forbids changing it; see the plan's blockers.
    Blocked,
    /// Removed: by `destroy`, or by apply when the spec no longer needs it.
    Delete,
    /// Left alone by `destroy`: kfp-iam does not own it.
    Keep,
}

/// One write apply will make. Documents are JSON; secret values never appear.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    CreateUser {
        user: String,
        tags: BTreeMap<String, String>,
    },
    TagUser {
        user: String,
        tags: BTreeMap<String, String>,
    },
    AttachUserPolicy {
        user: String,
        policy_arn: String,
    },
    DetachUserPolicy {
        user: String,
        policy_arn: String,
    },
    /// Creates a key and writes it straight into the Secret, labelled for spec `access`.
    CreateAccessKey {
        user: String,
        namespace: String,
        secret: String,
        access: String,
    },
    /// Copies the working key from one namespace's Secret into another's.
    CopyAccessKey {
        from_namespace: String,
        namespace: String,
        secret: String,
        access: String,
    },
    DeleteAccessKey {
        user: String,
        access_key_id: String,
        reason: String,
    },
    /// Ends a rotation: once the Secrets hold a key STS accepts, and none holds the old one,
    /// deactivates and deletes the old key.
    RetireAccessKey {
        user: String,
        access_key_id: String,
        namespaces: Vec<String>,
        secret: String,
    },
    UntagUser {
        user: String,
        keys: Vec<String>,
    },
    /// Deletes the user's keys, policies and the user itself.
    DeleteUser {
        user: String,
    },
    DeleteSecret {
        namespace: String,
        secret: String,
    },
    DeleteInlinePolicy {
        role: String,
        policy_name: String,
    },
    DeleteOidcProvider {
        arn: String,
    },
    CreateManagedPolicy {
        name: String,
        path: String,
        document: Value,
        tags: BTreeMap<String, String>,
    },
    /// Makes `to` the policy's default version.
    UpdateManagedPolicy {
        arn: String,
        from: Value,
        to: Value,
    },
    /// Deletes a customer managed policy; run after everything it was attached to is gone.
    DeleteManagedPolicy {
        arn: String,
    },
    /// Puts the ownership labels on a Secret that already holds a working key.
    LabelSecret {
        namespace: String,
        secret: String,
        access: String,
    },
    CreateRole {
        role: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        trust: Value,
        tags: BTreeMap<String, String>,
    },
    TagRole {
        role: String,
        tags: BTreeMap<String, String>,
    },
    /// Detaches and deletes the role's policies, then the role.
    DeleteRole {
        role: String,
    },
    CreateOidcProvider {
        url: String,
        client_ids: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    /// Sets kfp-iam's annotation and label on the service account (creating it if missing),
    /// or removes them when `role_arn` is `None`.
    ApplyServiceAccount {
        namespace: String,
        name: String,
        role_arn: Option<String>,
        /// Value of the `kfp-iam.io/access` label: the spec's name.
        access: String,
    },
    CreatePodIdentityAssociation {
        cluster: String,
        namespace: String,
        service_account: String,
        role_arn: String,
    },
    UpdatePodIdentityAssociation {
        cluster: String,
        id: String,
        role_arn: String,
    },
    DeletePodIdentityAssociation {
        cluster: String,
        id: String,
    },
    UpdateTrust {
        role: String,
        from: Value,
        to: Value,
    },
    AttachRolePolicy {
        role: String,
        policy_arn: String,
    },
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    PutInlinePolicy {
        role: String,
        policy_name: String,
        from: Option<Value>,
        to: Value,
    },
}

impl Change {
    /// A one-line description for people.
    pub fn summary(&self) -> String {
        match self {
            Self::CreateUser { user, .. } => format!("create IAM user `{user}`"),
            Self::TagUser { user, tags } => {
                format!("tag IAM user `{user}` with {}", tag_list(tags))
            }
            Self::AttachUserPolicy { policy_arn, .. } => format!("attach `{policy_arn}`"),
            Self::DetachUserPolicy { policy_arn, .. } => format!("detach `{policy_arn}`"),
            Self::CreateAccessKey {
                user,
                namespace,
                secret,
                ..
            } => format!(
                "create an access key for `{user}` and store it in Secret \
                 `{namespace}/{secret}` (values redacted)"
            ),
            Self::CopyAccessKey {
                from_namespace,
                namespace,
                secret,
                ..
            } => format!(
                "copy the working key from `{from_namespace}/{secret}` into \
                 `{namespace}/{secret}` (values redacted)"
            ),
            Self::RetireAccessKey { access_key_id, .. } => {
                format!("retire the old access key `{access_key_id}` once the new one works")
            }
            Self::UntagUser { keys, .. } => format!("remove tags `{}`", keys.join("`, `")),
            Self::DeleteUser { user } => {
                format!("delete IAM user `{user}` with its access keys and policies")
            }
            Self::DeleteSecret { namespace, secret } => {
                format!("delete Secret `{namespace}/{secret}`")
            }
            Self::DeleteInlinePolicy { policy_name, .. } => {
                format!("delete inline policy `{policy_name}`")
            }
            Self::DeleteOidcProvider { arn } => format!("delete OIDC provider `{arn}`"),
            Self::CreateManagedPolicy { name, .. } => format!("create managed policy `{name}`"),
            Self::UpdateManagedPolicy { .. } => "update the policy document".into(),
            Self::DeleteManagedPolicy { arn } => format!("delete managed policy `{arn}`"),
            Self::DeleteRole { role } => format!("delete IAM role `{role}` and its policies"),
            Self::CreateOidcProvider { url, .. } => {
                format!("create the IAM OIDC provider for `{url}`")
            }
            Self::ApplyServiceAccount {
                role_arn: Some(arn),
                ..
            } => {
                format!("annotate with `eks.amazonaws.com/role-arn: {arn}`")
            }
            Self::ApplyServiceAccount { role_arn: None, .. } => {
                "remove kfp-iam's role annotation".into()
            }
            Self::CreatePodIdentityAssociation { role_arn, .. } => {
                format!("associate with role `{role_arn}`")
            }
            Self::UpdatePodIdentityAssociation { role_arn, .. } => {
                format!("re-associate with role `{role_arn}`")
            }
            Self::DeletePodIdentityAssociation { id, .. } => {
                format!("delete pod identity association `{id}`")
            }
            Self::DeleteAccessKey {
                access_key_id,
                reason,
                ..
            } => {
                format!("delete access key `{access_key_id}` ({reason})")
            }
            Self::LabelSecret {
                namespace, secret, ..
            } => {
                format!("label Secret `{namespace}/{secret}` as managed by kfp-iam")
            }
            Self::CreateRole { role, .. } => format!("create IAM role `{role}`"),
            Self::TagRole { role, tags } => {
                format!("tag IAM role `{role}` with {}", tag_list(tags))
            }
            Self::UpdateTrust { .. } => "update the trust policy".into(),
            Self::AttachRolePolicy { policy_arn, .. } => format!("attach `{policy_arn}`"),
            Self::DetachRolePolicy { policy_arn, .. } => format!("detach `{policy_arn}`"),
            Self::PutInlinePolicy {
                policy_name,
                from: None,
                ..
            } => {
                format!("add inline policy `{policy_name}`")
            }
            Self::PutInlinePolicy { policy_name, .. } => {
                format!("update inline policy `{policy_name}`")
            }
        }
    }

    /// The policy document before and after, for changes that write one.
    pub fn document_diff(&self) -> Option<(Option<&Value>, &Value)> {
        match self {
            Self::CreateRole { trust, .. } => Some((None, trust)),
            Self::UpdateTrust { from, to, .. } => Some((Some(from), to)),
            Self::PutInlinePolicy { from, to, .. } => Some((from.as_ref(), to)),
            Self::CreateManagedPolicy { document, .. } => Some((None, document)),
            Self::UpdateManagedPolicy { from, to, .. } => Some((Some(from), to)),
            _ => None,
        }
    }
}

fn tag_list(tags: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    pairs.join(", ")
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePlan {
    /// Apply runs waves in order; resources of one wave are independent of each other.
    #[serde(skip)]
    pub wave: u8,
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
    pub changes: Vec<Change>,
}

/// Why a resource cannot be changed; apply refuses to start while any exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    pub kind: ResourceKind,
    pub name: String,
    pub reason: String,
}

/// Every change needed, grouped by resource, in the order apply runs them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub resources: Vec<ResourcePlan>,
    pub blockers: Vec<Blocker>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(|r| !r.changes.is_empty())
    }

    pub fn change_count(&self) -> usize {
        self.resources.iter().map(|r| r.changes.len()).sum()
    }
}

/// The node roles to grant: the spec's list, or every managed nodegroup's role.
pub async fn resolve_node_roles(spec: &Spec, aws: &impl Aws) -> Result<Vec<String>, PlanError> {
    if let Some(roles) = &spec.spec.node_roles {
        return Ok(roles.clone());
    }
    let Some(cluster) = &spec.spec.cluster else {
        return Err(PlanError::NoClusterNorNodeRoles);
    };
    let mut roles: Vec<String> = aws
        .list_nodegroups(cluster)
        .await?
        .iter()
        .filter_map(|ng| role_name_from_arn(&ng.node_role_arn).map(str::to_owned))
        .collect();
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(PlanError::NoNodeRoles(cluster.clone()));
    }
    Ok(roles)
}

/// The namespaces in scope, each with the service account its pipelines run as.
pub async fn resolve_targets(spec: &Spec, kube: &impl Kube) -> Result<Vec<Target>, PlanError> {
    let names = match &spec.spec.namespaces {
        None => vec![spec.spec.secret.namespace.clone()],
        Some(NamespaceScope::Names(names)) => names.clone(),
        Some(NamespaceScope::Selector { selector }) => {
            let found = kube.list_namespaces(Some(selector)).await?;
            if found.is_empty() {
                return Err(PlanError::EmptyScope(format!(
                    "no namespace matches `spec.namespaces.selector` `{selector}`"
                )));
            }
            found
        }
        Some(NamespaceScope::Profiles { .. }) => kube.list_profiles().await?,
    };
    let account = spec.spec.identity.service_account.as_deref();
    let mut targets: Vec<Target> = names
        .into_iter()
        .map(|namespace| Target {
            service_account: account
                .unwrap_or(default_service_account(&namespace))
                .to_owned(),
            namespace,
        })
        .collect();
    targets.sort();
    targets.dedup();
    Ok(targets)
}

/// Everything desired state depends on that only the clouds know.
pub async fn resolve(spec: &Spec, aws: &impl Aws, kube: &impl Kube) -> Result<Resolved, PlanError> {
    let issuer = async {
        match (spec.spec.identity.mode, &spec.spec.cluster) {
            (IdentityMode::Irsa, Some(cluster)) => Ok(Some(aws.cluster_issuer(cluster).await?)),
            _ => Ok::<_, PlanError>(None),
        }
    };
    let account = async { Ok::<_, PlanError>(aws.account_id().await?) };
    let (node_roles, targets, issuer, account) = futures::future::try_join4(
        resolve_node_roles(spec, aws),
        resolve_targets(spec, kube),
        issuer,
        account,
    )
    .await?;
    Ok(Resolved {
        node_roles,
        targets,
        issuer,
        account,
        region: aws.region().to_owned(),
    })
}

/// Resolves, observes and diffs: the whole read side of a run.
pub async fn plan(
    spec: &Spec,
    aws: &impl Aws,
    kube: &impl Kube,
    options: DiffOptions,
) -> Result<(Desired, Observed, Plan), PlanError> {
    // Boxed: the reads are large futures, and callers may run on small test-thread stacks.
    let desired = Desired::new(spec, Box::pin(resolve(spec, aws, kube)).await?);
    let observed = Box::pin(observe(&desired, aws, kube)).await?;
    let plan = diff(&desired, &observed, options)?;
    Ok((desired, observed, plan))
}
