//! The diff: the changes that take observed state to desired state, and what blocks them.
//!
//! Pure functions of [`Desired`] and [`Observed`], so every decision here is unit tested
//! without a server. Changes come out in the order apply runs them within a resource chain.

use std::collections::BTreeMap;

use serde_json::Value;

use super::desired::{Desired, TRUST_SID};
use super::observed::{KeyHealth, Observed};
use super::{Action, Blocker, Change, Plan, PlanError, ResourceKind, ResourcePlan};
use crate::policy::PolicyDocument;
use crate::spec::{MANAGED_BY_KEY, MANAGED_BY_VALUE};

/// Choices that change what a diff may touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Take over same-named resources that kfp-iam did not create.
    pub adopt: bool,
}

fn is_owned(tags_or_labels: &BTreeMap<String, String>) -> bool {
    tags_or_labels.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Desired tags that are missing or different on the resource.
fn missing_tags(
    desired: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    desired.iter().filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether two policy documents mean the same, ignoring spelling (list or string, order of
/// keys); falls back to exact JSON equality when either does not parse.
pub fn same_document(a: &Value, b: &Value) -> bool {
    match (PolicyDocument::parse(&a.to_string()), PolicyDocument::parse(&b.to_string())) {
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

/// Merges kfp-iam's statement into an existing trust policy: statements others wrote are
/// kept in place; kfp-iam's own (by Sid, or an equivalent one) is replaced or appended.
pub fn merge_trust(observed: &str, ours: &Value) -> Result<Value, String> {
    let mut doc: Value = serde_json::from_str(observed).map_err(|e| e.to_string())?;
    let Some(map) = doc.as_object_mut() else { return Err("not a JSON object".into()) };
    let statements = match map.remove("Statement") {
        Some(Value::Array(list)) => list,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let is_ours = |s: &Value| s.get("Sid").and_then(Value::as_str) == Some(TRUST_SID);
    let mut merged = Vec::with_capacity(statements.len() + 1);
    let mut placed = false;
    for statement in statements {
        if is_ours(&statement) || (!placed && same_statement(&statement, ours)) {
            if !placed {
                merged.push(if is_ours(&statement) { ours.clone() } else { statement });
                placed = true;
            }
        } else {
            merged.push(statement);
        }
    }
    if !placed {
        merged.push(ours.clone());
    }
    map.entry("Version").or_insert_with(|| "2012-10-17".into());
    map.insert("Statement".into(), Value::Array(merged));
    Ok(doc)
}

fn blocker(kind: ResourceKind, name: &str, reason: String) -> Blocker {
    Blocker { kind, name: name.to_owned(), reason }
}

fn unowned_reason(what: &str) -> String {
    format!("{what} exists but is not managed by kfp-iam; pass --adopt to take it over")
}

/// Lists the changes from `observed` to `desired`.
pub fn diff(desired: &Desired, observed: &Observed, options: DiffOptions) -> Result<Plan, PlanError> {
    let mut blockers = Vec::new();
    let user = diff_user(desired, observed, options, &mut blockers);
    let user_blocked = user.action == Action::Blocked;
    let secret = diff_secret(desired, observed, options, user_blocked, &mut blockers);
    let role = diff_role(desired, observed, options, &mut blockers)?;
    let mut resources = vec![user, secret, role];
    resources.extend(diff_node_roles(desired, observed, &mut blockers));
    Ok(Plan { resources, blockers })
}

fn resource(kind: ResourceKind, name: &str, action: Action, changes: Vec<Change>) -> ResourcePlan {
    let action = match (action, changes.is_empty()) {
        (Action::NoChange, false) => Action::Update,
        (action, _) => action,
    };
    ResourcePlan { kind, name: name.to_owned(), action, changes }
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
            changes.push(Change::CreateUser { user: name.clone(), tags: desired.tags.clone() });
            (Action::Create, &[])
        }
        Some(user) if !is_owned(&user.tags) && !options.adopt => {
            blockers.push(blocker(kind, name, unowned_reason(&format!("IAM user `{name}`"))));
            return resource(kind, name, Action::Blocked, Vec::new());
        }
        Some(user) => {
            let tags = missing_tags(&desired.tags, &user.tags);
            if !tags.is_empty() {
                changes.push(Change::TagUser { user: name.clone(), tags });
            }
            (Action::NoChange, &observed.user_policies)
        }
    };
    for arn in desired.user_policies.iter().filter(|a| !attached.contains(a)) {
        changes.push(Change::AttachUserPolicy { user: name.clone(), policy_arn: arn.clone() });
    }
    for arn in attached.iter().filter(|a| !desired.user_policies.contains(a)) {
        changes.push(Change::DetachUserPolicy { user: name.clone(), policy_arn: arn.clone() });
    }
    resource(kind, name, action, changes)
}

fn diff_secret(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    user_blocked: bool,
    blockers: &mut Vec<Blocker>,
) -> ResourcePlan {
    let (ns, secret_name) = (&desired.secret_namespace, &desired.secret_name);
    let name = format!("{ns}/{secret_name}");
    let kind = ResourceKind::Secret;
    let blocked = |blockers: &mut Vec<Blocker>, reason: String| {
        blockers.push(blocker(kind, &name, reason));
        resource(kind, &name, Action::Blocked, Vec::new())
    };
    if !observed.namespace_exists {
        return blocked(blockers, format!(
            "namespace `{ns}` does not exist; create it (`kubectl create namespace {ns}`) or \
             set `spec.secret.namespace`"
        ));
    }
    let owned = observed.secret.as_ref().map(|s| is_owned(&s.labels));
    if owned == Some(false) && !options.adopt {
        return blocked(blockers, unowned_reason(&format!("Secret `{name}`")));
    }
    if user_blocked {
        return resource(kind, &name, Action::Blocked, Vec::new());
    }
    let action = if observed.secret.is_some() { Action::NoChange } else { Action::Create };
    let user = &desired.user;
    if let KeyHealth::Working { .. } = observed.key_health {
        let mut changes = Vec::new();
        if owned == Some(false) {
            let (namespace, secret) = (ns.clone(), secret_name.clone());
            changes.push(Change::LabelSecret { namespace, secret });
        }
        return resource(kind, &name, action, changes);
    }

    // The Secret needs a new key. A broken key of the user in it is deleted, first when the
    // user is at AWS's quota of two keys, otherwise once the new key is in place.
    let broken = match &observed.key_health {
        KeyHealth::Inactive { access_key_id } | KeyHealth::Rejected { access_key_id, .. } => {
            Some(access_key_id.clone())
        }
        _ => None,
    };
    let others = observed.keys.iter().filter(|k| Some(&k.id) != broken.as_ref()).count();
    if others >= 2 {
        let ids: Vec<&str> = observed.keys.iter().map(|k| k.id.as_str()).collect();
        return blocked(blockers, format!(
            "IAM user `{user}` already has two access keys ({}), AWS's limit, and neither is in \
             the Secret; delete the one you do not use with `aws iam delete-access-key \
             --user-name {user} --access-key-id ID`, then run again",
            ids.join(", ")
        ));
    }
    let delete_broken = |access_key_id: String| Change::DeleteAccessKey {
        user: user.clone(),
        access_key_id,
        reason: "the key in the Secret no longer works".into(),
    };
    let mut changes = Vec::new();
    let at_quota = observed.keys.len() >= 2;
    if let (true, Some(id)) = (at_quota, &broken) {
        changes.push(delete_broken(id.clone()));
    }
    changes.push(Change::CreateAccessKey {
        user: user.clone(),
        namespace: ns.clone(),
        secret: secret_name.clone(),
    });
    if let (false, Some(id)) = (at_quota, broken) {
        changes.push(delete_broken(id));
    }
    resource(kind, &name, action, changes)
}

fn diff_role(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    blockers: &mut Vec<Blocker>,
) -> Result<ResourcePlan, PlanError> {
    let name = &desired.role;
    let kind = ResourceKind::ExecutionRole;
    let mut changes = Vec::new();
    let (action, attached): (Action, &[String]) = match &observed.role {
        None => {
            let (trust, tags) = (desired.fresh_trust(), desired.tags.clone());
            changes.push(Change::CreateRole { role: name.clone(), trust, tags });
            (Action::Create, &[])
        }
        Some(role) if !is_owned(&role.tags) && !options.adopt => {
            blockers.push(blocker(kind, name, unowned_reason(&format!("IAM role `{name}`"))));
            return Ok(resource(kind, name, Action::Blocked, Vec::new()));
        }
        Some(role) => {
            let tags = missing_tags(&desired.tags, &role.tags);
            if !tags.is_empty() {
                changes.push(Change::TagRole { role: name.clone(), tags });
            }
            let unreadable = |message| PlanError::UnreadableTrust { role: name.clone(), message };
            let from: Value = serde_json::from_str(&role.trust)
                .map_err(|e| unreadable(e.to_string()))?;
            let to = merge_trust(&role.trust, &desired.trust_statement).map_err(unreadable)?;
            if !same_document(&from, &to) {
                changes.push(Change::UpdateTrust { role: name.clone(), from, to });
            }
            (Action::NoChange, &observed.role_policies)
        }
    };
    for arn in desired.role_policies.iter().filter(|a| !attached.contains(a)) {
        changes.push(Change::AttachRolePolicy { role: name.clone(), policy_arn: arn.clone() });
    }
    for arn in attached.iter().filter(|a| !desired.role_policies.contains(a)) {
        changes.push(Change::DetachRolePolicy { role: name.clone(), policy_arn: arn.clone() });
    }
    Ok(resource(kind, name, action, changes))
}

fn diff_node_roles(
    desired: &Desired,
    observed: &Observed,
    blockers: &mut Vec<Blocker>,
) -> Vec<ResourcePlan> {
    let kind = ResourceKind::NodeRole;
    let policy_name = &desired.node_policy_name;
    observed.node_roles.iter().map(|node| {
        if !node.exists {
            let reason = format!(
                "node role `{}` does not exist; fix `spec.nodeRoles` or the cluster's \
                 nodegroups", node.name
            );
            blockers.push(blocker(kind, &node.name, reason));
            return resource(kind, &node.name, Action::Blocked, Vec::new());
        }
        let from = node.inline_policy.as_deref().map(|d| {
            serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_owned()))
        });
        let current = from.as_ref().is_some_and(|f| same_document(f, &desired.node_policy));
        let changes = match current {
            true => Vec::new(),
            false => vec![Change::PutInlinePolicy {
                role: node.name.clone(),
                policy_name: policy_name.clone(),
                from,
                to: desired.node_policy.clone(),
            }],
        };
        resource(kind, &node.name, Action::NoChange, changes)
    }).collect()
}

#[cfg(test)]
mod tests;
