//! The diff: the changes that take observed state to desired state, and what blocks them.
//!
//! Pure functions of [`Desired`] and [`Observed`], so every decision here is unit tested
//! without a server. Each resource gets a wave: apply runs waves in order, and the resources of
//! one wave concurrently, so a change only ever runs after what it depends on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::desired::{ACCESS_LABEL, Desired, ROLE_ARN_ANNOTATION, STS_AUDIENCE, Target};
use super::observed::{Observed, ObservedRole};
use super::{Action, Blocker, Change, Plan, PlanError, ResourceKind, ResourcePlan};
use crate::aws::Role;
use crate::kube::ServiceAccountState;
use crate::policy::PolicyDocument;
use crate::spec::{IdentityMode, MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// IAM's default quota for a role trust policy, in characters without whitespace.
pub const TRUST_QUOTA: usize = 2048;

/// Choices that change what a diff may touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Take over same-named resources that kfp-iam did not create.
    pub adopt: bool,
    /// Replace the access key even if it works and is young enough (`rotate-key`).
    pub rotate: bool,
    /// Seconds since the Unix epoch, for key ages; the caller's clock.
    pub now: i64,
}

pub(super) fn is_owned(tags_or_labels: &BTreeMap<String, String>) -> bool {
    tags_or_labels.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Desired tags that are missing or different on the resource.
fn missing_tags(
    desired: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    desired
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether two policy documents mean the same, ignoring spelling (list or string, order of
/// keys); falls back to exact JSON equality when either does not parse.
pub fn same_document(a: &Value, b: &Value) -> bool {
    match (PolicyDocument::from_value(a), PolicyDocument::from_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn same_statement(a: &Value, b: &Value) -> bool {
    let without_sid = |s: &Value| {
        let mut s = s.clone();
        if let Some(map) = s.as_object_mut() {
            map.remove("Sid");
        }
        serde_json::json!({"Version": "2012-10-17", "Statement": [s]})
    };
    same_document(&without_sid(a), &without_sid(b))
}

/// Merges kfp-iam's statements into an existing trust policy. Statements others wrote are
/// kept in place; statements carrying one of `our_sids` are replaced by `ours`; one of `ours`
/// that someone already wrote in equivalent form, under another Sid, is not added again.
pub fn merge_trust(observed: &str, ours: &[Value], our_sids: &[&str]) -> Result<Value, String> {
    let mut doc: Value = serde_json::from_str(observed).map_err(|e| e.to_string())?;
    let Some(map) = doc.as_object_mut() else {
        return Err("not a JSON object".into());
    };
    let statements = match map.remove("Statement") {
        Some(Value::Array(list)) => list,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let has_our_sid = |s: &Value| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_some_and(|sid| our_sids.contains(&sid))
    };
    let mut satisfied = vec![false; ours.len()];
    for statement in statements.iter().filter(|s| !has_our_sid(s)) {
        let hit = ours
            .iter()
            .enumerate()
            .find(|(i, o)| !satisfied[*i] && same_statement(statement, o));
        if let Some((i, _)) = hit {
            satisfied[i] = true;
        }
    }
    let pending: Vec<Value> = ours
        .iter()
        .zip(&satisfied)
        .filter(|(_, s)| !**s)
        .map(|(o, _)| o.clone())
        .collect();
    let mut merged = Vec::with_capacity(statements.len() + pending.len());
    let mut placed = false;
    for statement in statements {
        if !has_our_sid(&statement) {
            merged.push(statement);
        } else if !placed {
            merged.extend(pending.iter().cloned());
            placed = true;
        }
    }
    if !placed {
        merged.extend(pending);
    }
    map.entry("Version").or_insert_with(|| "2012-10-17".into());
    map.insert("Statement".into(), Value::Array(merged));
    Ok(doc)
}

pub(super) fn blocker(kind: ResourceKind, name: &str, reason: String) -> Blocker {
    Blocker {
        kind,
        name: name.to_owned(),
        reason,
    }
}

pub(super) fn unowned_reason(what: &str) -> String {
    format!("{what} exists but is not managed by kfp-iam; pass --adopt to take it over")
}

pub(super) fn resource(
    wave: u8,
    kind: ResourceKind,
    name: &str,
    action: Action,
    changes: Vec<Change>,
) -> ResourcePlan {
    let action = match (action, changes.is_empty()) {
        (Action::NoChange, false) => Action::Update,
        (action, _) => action,
    };
    ResourcePlan {
        wave,
        kind,
        name: name.to_owned(),
        action,
        changes,
    }
}

/// Lists the changes from `observed` to `desired`.
pub fn diff(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
) -> Result<Plan, PlanError> {
    let mut blockers = Vec::new();
    let mut resources = Vec::new();
    let present: Vec<&Target> = desired
        .targets
        .iter()
        .filter(|t| {
            let exists = observed.namespaces.contains(&t.namespace);
            if !exists {
                blockers.push(missing_namespace(desired, &t.namespace));
            }
            exists
        })
        .collect();

    blockers.extend(super::lint::lint_desired(desired));
    resources.extend(diff_pipeline_policy(desired, observed));
    match desired.mode {
        IdentityMode::AccessKey => {
            let mut user = diff_user(desired, observed, options, &mut blockers);
            let keys = super::keys::diff_keys(desired, observed, options, &user, &mut blockers);
            user.changes.extend(keys.user_changes);
            if user.action == Action::NoChange && !user.changes.is_empty() {
                user.action = Action::Update;
            }
            resources.push(user);
            resources.extend(keys.resources);
            for (namespace, secret) in &observed.stale_secrets {
                let name = format!("{namespace}/{secret}");
                let change = Change::DeleteSecret {
                    namespace: namespace.clone(),
                    secret: secret.clone(),
                };
                resources.push(resource(
                    2,
                    ResourceKind::Secret,
                    &name,
                    Action::Delete,
                    vec![change],
                ));
            }
            // Left by an earlier irsa or pod-identity apply of this spec.
            resources.extend(unmark_accounts(desired, observed, &BTreeSet::new()));
            resources.extend(delete_stale_roles(observed));
        }
        IdentityMode::Irsa | IdentityMode::PodIdentity => {
            resources.extend(diff_provider(desired, observed, &mut blockers));
            let arns =
                diff_pipeline_roles(desired, observed, options, &mut resources, &mut blockers)?;
            match desired.mode {
                IdentityMode::Irsa => resources.extend(diff_service_accounts(
                    desired,
                    observed,
                    options,
                    &present,
                    &arns,
                    &mut blockers,
                )),
                _ => {
                    resources.extend(diff_associations(desired, observed, &present, &arns));
                    // Pod identity marks no service account: any mark is from irsa.
                    resources.extend(unmark_accounts(desired, observed, &BTreeSet::new()));
                }
            }
            resources.extend(delete_stale_roles(observed));
        }
    }
    resources.push(diff_execution_role(
        desired,
        observed,
        options,
        &mut blockers,
    )?);
    resources.extend(diff_node_roles(desired, observed, &mut blockers));
    Ok(Plan {
        resources,
        blockers,
    })
}

fn diff_pipeline_policy(desired: &Desired, observed: &Observed) -> Option<ResourcePlan> {
    let Some(policy) = desired.pipeline_policy.as_ref() else {
        // Left over from scoped mode: removed once everything has let go of it.
        observed.pipeline_policy.as_ref()?;
        let arn = desired.pipeline_policy_arn.clone();
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        let change = Change::DeleteManagedPolicy { arn };
        return Some(resource(
            4,
            ResourceKind::PipelinePolicy,
            &name,
            Action::Update,
            vec![change],
        ));
    };
    let kind = ResourceKind::PipelinePolicy;
    let plan = match &observed.pipeline_policy {
        None => resource(
            0,
            kind,
            &policy.name,
            Action::Create,
            vec![Change::CreateManagedPolicy {
                name: policy.name.clone(),
                path: policy.path.clone(),
                document: policy.document.clone(),
                tags: desired.tags.clone(),
            }],
        ),
        Some(current) => {
            let from: Value =
                serde_json::from_str(current).unwrap_or_else(|_| Value::String(current.clone()));
            let changes = match same_document(&from, &policy.document) {
                true => Vec::new(),
                false => vec![Change::UpdateManagedPolicy {
                    arn: policy.arn.clone(),
                    from,
                    to: policy.document.clone(),
                }],
            };
            resource(0, kind, &policy.name, Action::NoChange, changes)
        }
    };
    Some(plan)
}

fn missing_namespace(desired: &Desired, namespace: &str) -> Blocker {
    let kind = match desired.mode {
        IdentityMode::AccessKey => ResourceKind::Secret,
        _ => ResourceKind::ServiceAccount,
    };
    let fix = match desired.targets_named {
        true => "or change `spec.namespaces` (`spec.secret.namespace` when it is not set)",
        false => "or wait until the profile's namespace exists",
    };
    let reason = format!(
        "namespace `{namespace}` does not exist; create it (`kubectl create namespace \
         {namespace}`) {fix}"
    );
    blocker(kind, namespace, reason)
}

fn diff_user(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    blockers: &mut Vec<Blocker>,
) -> ResourcePlan {
    let name = &desired.user;
    let kind = ResourceKind::User;
    let mut changes = Vec::new();
    let (action, attached): (Action, &[String]) = match &observed.user {
        None => {
            changes.push(Change::CreateUser {
                user: name.clone(),
                tags: desired.tags.clone(),
            });
            (Action::Create, &[])
        }
        Some(user) if !is_owned(&user.tags) && !options.adopt => {
            blockers.push(blocker(
                kind,
                name,
                unowned_reason(&format!("IAM user `{name}`")),
            ));
            return resource(1, kind, name, Action::Blocked, Vec::new());
        }
        Some(user) => {
            let tags = missing_tags(&desired.tags, &user.tags);
            if !tags.is_empty() {
                changes.push(Change::TagUser {
                    user: name.clone(),
                    tags,
                });
            }
            (Action::NoChange, &observed.user_policies)
        }
    };
    for arn in desired
        .user_policies
        .iter()
        .filter(|a| !attached.contains(a))
    {
        changes.push(Change::AttachUserPolicy {
            user: name.clone(),
            policy_arn: arn.clone(),
        });
    }
    for arn in attached
        .iter()
        .filter(|a| !desired.user_policies.contains(a))
    {
        changes.push(Change::DetachUserPolicy {
            user: name.clone(),
            policy_arn: arn.clone(),
        });
    }
    // After the pipeline policy it may attach exists.
    resource(1, kind, name, action, changes)
}

fn diff_provider(
    desired: &Desired,
    observed: &Observed,
    blockers: &mut Vec<Blocker>,
) -> Option<ResourcePlan> {
    let issuer = desired.issuer.as_ref()?;
    let kind = ResourceKind::OidcProvider;
    let plan = match &observed.provider {
        Some(p) if p.client_ids.iter().any(|c| c == STS_AUDIENCE) => {
            resource(0, kind, issuer, Action::NoChange, Vec::new())
        }
        Some(_) => {
            blockers.push(blocker(kind, issuer, format!(
                "the IAM OIDC provider for `{issuer}` lacks the client id `{STS_AUDIENCE}`; add \
                 it with `aws iam add-client-id-to-open-id-connect-provider`"
            )));
            resource(0, kind, issuer, Action::Blocked, Vec::new())
        }
        None if !desired.create_provider => {
            blockers.push(blocker(
                kind,
                issuer,
                format!(
                    "no IAM OIDC provider exists for the cluster's issuer `{issuer}` and \
                 `spec.identity.createOidcProvider` is false; create it (`eksctl utils \
                 associate-iam-oidc-provider --cluster {} --approve`) or set the field to true",
                    desired.cluster.as_deref().unwrap_or_default()
                ),
            ));
            resource(0, kind, issuer, Action::Blocked, Vec::new())
        }
        None => {
            let change = Change::CreateOidcProvider {
                url: format!("https://{issuer}"),
                client_ids: vec![STS_AUDIENCE.into()],
                tags: desired.tags.clone(),
            };
            resource(0, kind, issuer, Action::Create, vec![change])
        }
    };
    Some(plan)
}

fn trust_size_blocker(role: &str, trust: &Value) -> Option<Blocker> {
    let size = PolicyDocument::from_value(trust).ok()?.minified_len();
    (size > TRUST_QUOTA).then(|| {
        blocker(
            ResourceKind::PipelineRole,
            role,
            format!(
                "the trust policy of role `{role}` would be {size} characters, over IAM's default \
         quota of {TRUST_QUOTA} (raisable to 4,096 through Service Quotas); set \
         `spec.identity.roles: per-namespace` for one role per namespace"
            ),
        )
    })
}

/// Plans every pipeline role and returns the ARN each namespace's service account should
/// use.
fn diff_pipeline_roles(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    resources: &mut Vec<ResourcePlan>,
    blockers: &mut Vec<Blocker>,
) -> Result<BTreeMap<String, String>, PlanError> {
    let mut arns = BTreeMap::new();
    for role in &desired.pipeline_roles {
        let ours = desired.pipeline_trust_statements(role);
        let existing = observed.pipeline_roles.get(&role.name);
        let arn = existing
            .map(|o| o.role.arn.clone())
            .unwrap_or_else(|| desired.pipeline_role_arn(&role.name));
        for target in &role.targets {
            arns.insert(target.namespace.clone(), arn.clone());
        }
        let plan = plan_role(
            RolePlan {
                kind: ResourceKind::PipelineRole,
                wave: 1,
                name: &role.name,
                path: Some(&desired.role_path),
                ours: &ours,
                our_sids: Desired::pipeline_trust_sids(),
                policies: &desired.pipeline_policies,
                tags: &desired.tags,
                existing,
                options,
            },
            blockers,
        )?;
        resources.push(plan);
    }
    Ok(arns)
}

struct RolePlan<'a> {
    kind: ResourceKind,
    wave: u8,
    name: &'a str,
    path: Option<&'a str>,
    ours: &'a [Value],
    our_sids: &'a [&'a str],
    policies: &'a [String],
    tags: &'a BTreeMap<String, String>,
    existing: Option<&'a ObservedRole>,
    options: DiffOptions,
}

/// A role kfp-iam owns: created with its trust and policies, or brought back to them.
fn plan_role(p: RolePlan<'_>, blockers: &mut Vec<Blocker>) -> Result<ResourcePlan, PlanError> {
    let name = p.name.to_owned();
    let mut changes = Vec::new();
    let (action, attached): (Action, &[String]) = match p.existing {
        None => {
            let trust = Desired::fresh_trust(p.ours.to_vec());
            if let Some(b) = trust_size_blocker(&name, &trust) {
                blockers.push(b);
                return Ok(resource(p.wave, p.kind, &name, Action::Blocked, Vec::new()));
            }
            let path = p.path.map(str::to_owned);
            changes.push(Change::CreateRole {
                role: name.clone(),
                path,
                trust,
                tags: p.tags.clone(),
            });
            (Action::Create, &[])
        }
        Some(o) if !is_owned(&o.role.tags) && !p.options.adopt => {
            blockers.push(blocker(
                p.kind,
                &name,
                unowned_reason(&format!("IAM role `{name}`")),
            ));
            return Ok(resource(p.wave, p.kind, &name, Action::Blocked, Vec::new()));
        }
        Some(o) => {
            let tags = missing_tags(p.tags, &o.role.tags);
            if !tags.is_empty() {
                changes.push(Change::TagRole {
                    role: name.clone(),
                    tags,
                });
            }
            let unreadable = |message| PlanError::UnreadableTrust {
                role: name.clone(),
                message,
            };
            let from: Value =
                serde_json::from_str(&o.role.trust).map_err(|e| unreadable(e.to_string()))?;
            let to = merge_trust(&o.role.trust, p.ours, p.our_sids).map_err(unreadable)?;
            if !same_document(&from, &to) {
                if let Some(b) = trust_size_blocker(&name, &to) {
                    blockers.push(b);
                    return Ok(resource(p.wave, p.kind, &name, Action::Blocked, Vec::new()));
                }
                changes.push(Change::UpdateTrust {
                    role: name.clone(),
                    from,
                    to,
                });
            }
            (Action::NoChange, &o.policies)
        }
    };
    for arn in p.policies.iter().filter(|a| !attached.contains(a)) {
        changes.push(Change::AttachRolePolicy {
            role: name.clone(),
            policy_arn: arn.clone(),
        });
    }
    for arn in attached.iter().filter(|a| !p.policies.contains(a)) {
        changes.push(Change::DetachRolePolicy {
            role: name.clone(),
            policy_arn: arn.clone(),
        });
    }
    Ok(resource(p.wave, p.kind, &name, action, changes))
}

fn diff_service_accounts(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    present: &[&Target],
    arns: &BTreeMap<String, String>,
    blockers: &mut Vec<Blocker>,
) -> Vec<ResourcePlan> {
    let kind = ResourceKind::ServiceAccount;
    let mut out = Vec::new();
    for target in present {
        let name = format!("{}/{}", target.namespace, target.service_account);
        let Some(arn) = arns.get(&target.namespace) else {
            continue;
        };
        let apply = || Change::ApplyServiceAccount {
            namespace: target.namespace.clone(),
            name: target.service_account.clone(),
            role_arn: Some(arn.clone()),
            access: desired.spec_name.clone(),
        };
        let key = (target.namespace.clone(), target.service_account.clone());
        let plan =
            match observed.service_accounts.get(&key) {
                None => resource(2, kind, &name, Action::Create, vec![apply()]),
                Some(sa) => {
                    let annotation = sa.annotations.get(ROLE_ARN_ANNOTATION);
                    let labelled = sa.labels.get(ACCESS_LABEL) == Some(&desired.spec_name);
                    if annotation == Some(arn) && labelled {
                        resource(2, kind, &name, Action::NoChange, Vec::new())
                    } else if annotation.is_some() && !labelled && !options.adopt {
                        let other = annotation.map(String::as_str).unwrap_or_default();
                        blockers.push(blocker(kind, &name, format!(
                        "service account `{name}` is annotated with role `{other}` by someone \
                         else; pass --adopt to point it at kfp-iam's role"
                    )));
                        resource(2, kind, &name, Action::Blocked, Vec::new())
                    } else {
                        resource(2, kind, &name, Action::NoChange, vec![apply()])
                    }
                }
            };
        out.push(plan);
    }

    let in_scope: BTreeSet<(&str, &str)> = desired
        .targets
        .iter()
        .map(|t| (t.namespace.as_str(), t.service_account.as_str()))
        .collect();
    out.extend(unmark_accounts(desired, observed, &in_scope));
    out
}

/// Service accounts that carry this spec's mark outside `in_scope` (their namespace left the
/// scope, or the spec left irsa mode) lose the mark and the role annotation.
fn unmark_accounts(
    desired: &Desired,
    observed: &Observed,
    in_scope: &BTreeSet<(&str, &str)>,
) -> Vec<ResourcePlan> {
    let leftover = observed
        .labelled_accounts
        .iter()
        .filter(|sa| !in_scope.contains(&(sa.namespace.as_str(), sa.name.as_str())));
    let unmark = |sa: &ServiceAccountState| {
        let change = Change::ApplyServiceAccount {
            namespace: sa.namespace.clone(),
            name: sa.name.clone(),
            role_arn: None,
            access: desired.spec_name.clone(),
        };
        let name = format!("{}/{}", sa.namespace, sa.name);
        resource(
            2,
            ResourceKind::ServiceAccount,
            &name,
            Action::Update,
            vec![change],
        )
    };
    leftover.map(unmark).collect()
}

/// Pipeline roles under this spec's path that no namespace in scope (or no mode) needs.
fn delete_stale_roles(observed: &Observed) -> Vec<ResourcePlan> {
    let delete = |stale: &Role| {
        let changes = vec![Change::DeleteRole {
            role: stale.name.clone(),
        }];
        resource(
            3,
            ResourceKind::PipelineRole,
            &stale.name,
            Action::Delete,
            changes,
        )
    };
    observed.stale_roles.iter().map(delete).collect()
}

fn diff_associations(
    desired: &Desired,
    observed: &Observed,
    present: &[&Target],
    arns: &BTreeMap<String, String>,
) -> Vec<ResourcePlan> {
    let kind = ResourceKind::PodIdentityAssociation;
    let cluster = desired.cluster.clone().unwrap_or_default();
    let mut out = Vec::new();
    for target in present {
        let name = format!("{}/{}", target.namespace, target.service_account);
        let Some(arn) = arns.get(&target.namespace) else {
            continue;
        };
        let existing = observed.associations.iter().find(|a| {
            a.namespace == target.namespace && a.service_account == target.service_account
        });
        let plan = match existing {
            None => resource(
                2,
                kind,
                &name,
                Action::Create,
                vec![Change::CreatePodIdentityAssociation {
                    cluster: cluster.clone(),
                    namespace: target.namespace.clone(),
                    service_account: target.service_account.clone(),
                    role_arn: arn.clone(),
                }],
            ),
            Some(a) if &a.role_arn == arn => resource(2, kind, &name, Action::NoChange, vec![]),
            Some(a) => resource(
                2,
                kind,
                &name,
                Action::Update,
                vec![Change::UpdatePodIdentityAssociation {
                    cluster: cluster.clone(),
                    id: a.id.clone(),
                    role_arn: arn.clone(),
                }],
            ),
        };
        out.push(plan);
    }
    let in_scope: BTreeSet<(&str, &str)> = desired
        .targets
        .iter()
        .map(|t| (t.namespace.as_str(), t.service_account.as_str()))
        .collect();
    let ours = |a: &&crate::aws::PodIdentityAssociation| a.role_arn.contains(&desired.role_path);
    for a in observed.associations.iter().filter(ours) {
        if in_scope.contains(&(a.namespace.as_str(), a.service_account.as_str())) {
            continue;
        }
        let name = format!("{}/{}", a.namespace, a.service_account);
        let change = Change::DeletePodIdentityAssociation {
            cluster: cluster.clone(),
            id: a.id.clone(),
        };
        out.push(resource(2, kind, &name, Action::Update, vec![change]));
    }
    out
}

fn diff_execution_role(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    blockers: &mut Vec<Blocker>,
) -> Result<ResourcePlan, PlanError> {
    let mut plan = plan_execution_role(desired, observed, options, blockers)?;
    let Some(wanted) = &desired.execution_policy else {
        // Left over from scoped mode.
        if observed.execution_policy.is_some() && plan.action != Action::Blocked {
            plan.changes.push(Change::DeleteInlinePolicy {
                role: desired.role.clone(),
                policy_name: super::desired::EXECUTION_POLICY_NAME.into(),
            });
            if plan.action == Action::NoChange {
                plan.action = Action::Update;
            }
        }
        return Ok(plan);
    };
    if plan.action == Action::Blocked {
        return Ok(plan);
    }
    let from = observed
        .execution_policy
        .as_deref()
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned())));
    if !from.as_ref().is_some_and(|f| same_document(f, wanted)) {
        plan.changes.push(Change::PutInlinePolicy {
            role: desired.role.clone(),
            policy_name: super::desired::EXECUTION_POLICY_NAME.into(),
            from,
            to: wanted.clone(),
        });
        if plan.action == Action::NoChange {
            plan.action = Action::Update;
        }
    }
    Ok(plan)
}

fn plan_execution_role(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    blockers: &mut Vec<Blocker>,
) -> Result<ResourcePlan, PlanError> {
    let existing = observed.role.as_ref().map(|role| ObservedRole {
        role: role.clone(),
        policies: observed.role_policies.clone(),
    });
    plan_role(
        RolePlan {
            kind: ResourceKind::ExecutionRole,
            wave: 0,
            name: &desired.role,
            path: None,
            ours: &desired.trust_statements,
            our_sids: Desired::execution_trust_sids(),
            policies: &desired.role_policies,
            tags: &desired.tags,
            existing: existing.as_ref(),
            options,
        },
        blockers,
    )
}

fn diff_node_roles(
    desired: &Desired,
    observed: &Observed,
    blockers: &mut Vec<Blocker>,
) -> Vec<ResourcePlan> {
    let kind = ResourceKind::NodeRole;
    let policy_name = &desired.node_policy_name;
    observed
        .node_roles
        .iter()
        .map(|node| {
            if !node.exists {
                let reason = format!(
                    "node role `{}` does not exist; fix `spec.nodeRoles` or the cluster's \
                 nodegroups",
                    node.name
                );
                blockers.push(blocker(kind, &node.name, reason));
                return resource(0, kind, &node.name, Action::Blocked, Vec::new());
            }
            let from = node
                .inline_policy
                .as_deref()
                .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned())));
            let current = from
                .as_ref()
                .is_some_and(|f| same_document(f, &desired.node_policy));
            let changes = match current {
                true => Vec::new(),
                false => vec![Change::PutInlinePolicy {
                    role: node.name.clone(),
                    policy_name: policy_name.clone(),
                    from,
                    to: desired.node_policy.clone(),
                }],
            };
            resource(0, kind, &node.name, Action::NoChange, changes)
        })
        .collect()
}

#[cfg(test)]
mod tests;
