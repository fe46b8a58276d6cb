//! The access key and its Secrets: which key the Secrets should hold, which keys to create,
//! copy, rotate or delete.
//!
//! A key is only ever created through a change that first tags the user with
//! [`PENDING_KEY_TAG`] (the creation time), and removes the tag once the key is in a Secret.
//! A run killed in between leaves the tag, so the next run can tell the orphaned key (created
//! after the tag, held by no Secret) from a key someone made by hand, and delete it. A
//! rotation tags the user with [`ROTATING_FROM_TAG`] (the old key), so an interrupted rotation
//! is finished by the next run.

use std::collections::BTreeSet;

use super::desired::{ACCESS_LABEL, Desired};
use super::diff::{DiffOptions, blocker, is_owned, resource, unowned_reason};
use super::observed::{KeyHealth, Observed};
use super::{Action, Blocker, Change, ResourceKind, ResourcePlan};

/// User tag set while a key is being created: seconds since the epoch when it was set.
pub const PENDING_KEY_TAG: &str = "kfp-iam.io/key-pending-since";
/// User tag set during a rotation: the id of the key being replaced.
pub const ROTATING_FROM_TAG: &str = "kfp-iam.io/rotating-from";
/// User tag listing the ids of the keys kfp-iam created, space-separated: a key in it that
/// no Secret holds any more is kfp-iam's to delete; a key not in it was made by someone else.
pub const KEYS_TAG: &str = "kfp-iam.io/keys";
/// Clock skew allowed between this machine and IAM's key creation dates.
const SKEW_SECONDS: i64 = 300;

/// The key plan: changes on the user (wave 0) and the Secret and cleanup resources.
pub struct KeyPlan {
    pub user_changes: Vec<Change>,
    pub resources: Vec<ResourcePlan>,
}

fn delete(user: &str, id: &str, reason: &str) -> Change {
    Change::DeleteAccessKey {
        user: user.to_owned(),
        access_key_id: id.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Plans the user's keys and one resource per namespace's Secret.
pub fn diff_keys(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    user_plan: &ResourcePlan,
    blockers: &mut Vec<Blocker>,
) -> KeyPlan {
    let user = desired.user.as_str();
    let user_blocked = user_plan.action == Action::Blocked;
    let tags = observed
        .user
        .as_ref()
        .map(|u| u.tags.clone())
        .unwrap_or_default();
    let pending_since = tags
        .get(PENDING_KEY_TAG)
        .and_then(|t| t.parse::<i64>().ok());
    let rotating_from = tags.get(ROTATING_FROM_TAG).cloned();
    let ours: BTreeSet<&str> = tags
        .get(KEYS_TAG)
        .map(|t| t.split_whitespace().collect())
        .unwrap_or_default();
    let held: BTreeSet<&str> = observed
        .secrets
        .iter()
        .filter_map(|s| s.health.access_key_id())
        .collect();
    let working = observed.secrets.iter().find(|s| s.health.is_working());
    let working_id = working
        .and_then(|w| w.health.access_key_id())
        .map(str::to_owned);

    // Rotate when asked, when the key is too old, or to finish an interrupted rotation whose
    // old key the Secrets still hold.
    let too_old = match (desired.max_key_age, &working_id) {
        (Some(max), Some(id)) => observed
            .keys
            .iter()
            .any(|k| &k.id == id && k.created.is_some_and(|c| options.now - c > max)),
        _ => false,
    };
    let unfinished = rotating_from.as_deref().is_some_and(|k| held.contains(k));
    let rotate = working_id.is_some() && (options.rotate || too_old || unfinished);

    // Keys no Secret holds that kfp-iam may delete.
    let orphan = |k: &&crate::aws::AccessKeyInfo| {
        let after_pending =
            pending_since.is_some_and(|p| k.created.is_some_and(|c| c >= p - SKEW_SECONDS));
        !held.contains(k.id.as_str())
            && (after_pending
                || rotate
                || ours.contains(k.id.as_str())
                || rotating_from.as_deref() == Some(k.id.as_str()))
    };
    let orphans: Vec<&str> = observed
        .keys
        .iter()
        .filter(orphan)
        .map(|k| k.id.as_str())
        .collect();
    let mut user_changes = Vec::new();
    if !user_blocked {
        for id in &orphans {
            user_changes.push(delete(
                user,
                id,
                "no Secret holds it in working order (an interrupted run, or a broken Secret)",
            ));
        }
    }

    let mut plan = KeyPlan {
        user_changes,
        resources: Vec::new(),
    };
    if rotate {
        let (old, from) = (working_id.unwrap_or_default(), rotating_from.as_deref());
        if from != Some(old.as_str()) {
            let tags = [(ROTATING_FROM_TAG.to_owned(), old.clone())].into();
            plan.user_changes.push(Change::TagUser {
                user: user.to_owned(),
                tags,
            });
        }
        secrets(
            desired,
            observed,
            options,
            user_blocked,
            None,
            &mut plan,
            blockers,
        );
        let namespaces = observed
            .secrets
            .iter()
            .map(|s| s.namespace.clone())
            .collect();
        let changes = vec![
            Change::RetireAccessKey {
                user: user.to_owned(),
                access_key_id: old,
                namespaces,
                secret: desired.secret_name.clone(),
            },
            Change::UntagUser {
                user: user.to_owned(),
                keys: vec![ROTATING_FROM_TAG.into()],
            },
        ];
        plan.resources.push(resource(
            4,
            ResourceKind::AccessKey,
            user,
            Action::Update,
            changes,
        ));
        return plan;
    }
    if rotating_from.is_some() {
        // The rotation finished but for its tag.
        let keys = vec![ROTATING_FROM_TAG.to_owned()];
        plan.user_changes.push(Change::UntagUser {
            user: user.to_owned(),
            keys,
        });
    }

    let source = working.map(|w| w.namespace.clone());
    let creates = secrets(
        desired,
        observed,
        options,
        user_blocked,
        source,
        &mut plan,
        blockers,
    );
    if pending_since.is_some() && !creates && !user_blocked {
        let keys = vec![PENDING_KEY_TAG.to_owned()];
        plan.user_changes.push(Change::UntagUser {
            user: user.to_owned(),
            keys,
        });
    }

    // Broken keys the Secrets held go once the new key is in place.
    let broken = broken_keys(observed, &orphans);
    let deleted_first = first_deleted(&plan);
    let cleanup: Vec<Change> = broken
        .iter()
        .filter(|id| deleted_first.as_deref() != Some(**id) && !user_blocked)
        .map(|id| delete(user, id, "the key in the Secret no longer works"))
        .collect();
    if !cleanup.is_empty() {
        plan.resources.push(resource(
            4,
            ResourceKind::AccessKey,
            user,
            Action::Update,
            cleanup,
        ));
    }
    plan
}

/// Keys of the user that a Secret holds but that do not work, minus those already going.
fn broken_keys<'a>(observed: &'a Observed, orphans: &[&str]) -> BTreeSet<&'a str> {
    let working = observed.secrets.iter().find(|s| s.health.is_working());
    let working_id = working.and_then(|w| w.health.access_key_id());
    observed
        .secrets
        .iter()
        .filter_map(|s| match &s.health {
            KeyHealth::Inactive { access_key_id } | KeyHealth::Rejected { access_key_id, .. } => {
                Some(access_key_id.as_str())
            }
            _ => None,
        })
        .filter(|id| working_id != Some(*id) && !orphans.contains(id))
        .collect()
}

fn first_deleted(plan: &KeyPlan) -> Option<String> {
    plan.resources
        .iter()
        .flat_map(|r| &r.changes)
        .find_map(|c| match c {
            Change::DeleteAccessKey { access_key_id, .. } => Some(access_key_id.clone()),
            _ => None,
        })
}

/// One resource per Secret; returns whether a new key is created. With `source`, Secrets
/// without the working key get a copy of it; without, the first gets a new key and the rest
/// a copy of that.
fn secrets(
    desired: &Desired,
    observed: &Observed,
    options: DiffOptions,
    user_blocked: bool,
    mut source: Option<String>,
    plan: &mut KeyPlan,
    blockers: &mut Vec<Blocker>,
) -> bool {
    let user = &desired.user;
    let secret_name = &desired.secret_name;
    let kind = ResourceKind::Secret;
    let rotating = source.is_none() && observed.secrets.iter().any(|s| s.health.is_working());
    let deletable: BTreeSet<&str> = plan
        .user_changes
        .iter()
        .filter_map(|c| match c {
            Change::DeleteAccessKey { access_key_id, .. } => Some(access_key_id.as_str()),
            _ => None,
        })
        .collect();
    let broken = broken_keys(observed, &deletable.iter().copied().collect::<Vec<_>>());
    let mut creates = false;
    for secret in &observed.secrets {
        if !observed.namespaces.contains(&secret.namespace) {
            continue;
        }
        let name = format!("{}/{secret_name}", secret.namespace);
        let owned = secret.state.as_ref().map(|s| is_owned(&s.labels));
        if owned == Some(false) && !options.adopt {
            blockers.push(blocker(
                kind,
                &name,
                unowned_reason(&format!("Secret `{name}`")),
            ));
            plan.resources
                .push(resource(2, kind, &name, Action::Blocked, Vec::new()));
            continue;
        }
        if user_blocked {
            plan.resources
                .push(resource(2, kind, &name, Action::Blocked, Vec::new()));
            continue;
        }
        let action = if secret.state.is_some() {
            Action::NoChange
        } else {
            Action::Create
        };
        let (namespace, secret_ref) = (secret.namespace.clone(), secret_name.clone());
        let access = desired.spec_name.clone();
        let spec_label = secret
            .state
            .as_ref()
            .and_then(|s| s.labels.get(ACCESS_LABEL));
        if let Some(other) = spec_label.filter(|l| **l != access && !options.adopt) {
            blockers.push(blocker(
                kind,
                &name,
                format!(
                    "Secret `{name}` holds the key of kfp-iam spec `{other}`; give this spec \
                 another `spec.secret.name`, or pass --adopt to take the Secret over"
                ),
            ));
            plan.resources
                .push(resource(2, kind, &name, Action::Blocked, Vec::new()));
            continue;
        }
        let relabel = owned == Some(false) || (owned == Some(true) && spec_label != Some(&access));
        let label = match relabel {
            true => vec![Change::LabelSecret {
                namespace: namespace.clone(),
                secret: secret_ref.clone(),
                access: access.clone(),
            }],
            false => Vec::new(),
        };
        if secret.health.is_working() && !rotating {
            plan.resources.push(resource(2, kind, &name, action, label));
            continue;
        }
        if let Some(from) = &source {
            let change = Change::CopyAccessKey {
                from_namespace: from.clone(),
                namespace,
                secret: secret_ref,
                access,
            };
            plan.resources
                .push(resource(3, kind, &name, action, vec![change]));
            continue;
        }

        // This Secret gets a new key, within AWS's quota of two keys per user.
        let left: Vec<&str> = observed
            .keys
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| !deletable.contains(id))
            .collect();
        let others = left.iter().filter(|id| !broken.contains(*id)).count();
        if others >= 2 {
            blockers.push(blocker(
                kind,
                &name,
                format!(
                    "IAM user `{user}` already has two access keys ({}), AWS's limit, and neither \
                 is in a Secret; delete the one you do not use with `aws iam \
                 delete-access-key --user-name {user} --access-key-id ID`, then run again",
                    left.join(", ")
                ),
            ));
            plan.resources
                .push(resource(2, kind, &name, Action::Blocked, Vec::new()));
            continue;
        }
        let mut changes = Vec::new();
        if left.len() >= 2 {
            // At the quota: make room before creating.
            if let Some(id) = broken.iter().next() {
                changes.push(delete(user, id, "the key in the Secret no longer works"));
            }
        }
        changes.extend(label);
        changes.push(Change::CreateAccessKey {
            user: user.clone(),
            namespace: namespace.clone(),
            secret: secret_ref,
            access,
        });
        source = Some(namespace);
        creates = true;
        plan.resources
            .push(resource(2, kind, &name, action, changes));
    }
    creates
}
