//! The destroy plan: what kfp-iam made for a spec, in the order AWS requires to remove it.
//!
//! Only what carries kfp-iam's ownership mark is removed: the user, roles and OIDC provider by
//! their tag, Secrets by their label, service accounts by kfp-iam's access label, pipeline
//! roles by their path, node roles only by kfp-iam's inline policy (the roles stay). What
//! exists without the mark is listed as kept. A plan made after an interrupted destroy holds
//! just what is left, so destroy resumes; with nothing left it is empty.

use super::desired::Desired;
use super::diff::{is_owned, resource};
use super::observed::Observed;
use super::{Action, Change, Plan, ResourceKind, ResourcePlan};

/// Plans the removal of everything `desired` names that kfp-iam owns. `provider_in_use`
/// says whether a role kfp-iam is not deleting trusts the OIDC provider.
pub fn teardown(desired: &Desired, observed: &Observed, provider_in_use: bool) -> Plan {
    let mut resources = Vec::new();
    let delete =
        |wave, kind, name: &str, change| resource(wave, kind, name, Action::Delete, vec![change]);
    let keep = |kind, name: &str| resource(0, kind, name, Action::Keep, Vec::new());

    // Wave 0: what points at identities.
    for sa in &observed.labelled_accounts {
        let name = format!("{}/{}", sa.namespace, sa.name);
        resources.push(delete(
            0,
            ResourceKind::ServiceAccount,
            &name,
            Change::ApplyServiceAccount {
                namespace: sa.namespace.clone(),
                name: sa.name.clone(),
                role_arn: None,
                access: desired.spec_name.clone(),
            },
        ));
    }
    let cluster = desired.cluster.clone().unwrap_or_default();
    for a in observed
        .associations
        .iter()
        .filter(|a| a.role_arn.contains(&desired.role_path))
    {
        let name = format!("{}/{}", a.namespace, a.service_account);
        let change = Change::DeletePodIdentityAssociation {
            cluster: cluster.clone(),
            id: a.id.clone(),
        };
        resources.push(delete(
            0,
            ResourceKind::PodIdentityAssociation,
            &name,
            change,
        ));
    }
    for secret in &observed.secrets {
        let Some(state) = &secret.state else { continue };
        let name = format!("{}/{}", secret.namespace, desired.secret_name);
        resources.push(match is_owned(&state.labels) {
            true => delete(
                0,
                ResourceKind::Secret,
                &name,
                Change::DeleteSecret {
                    namespace: secret.namespace.clone(),
                    secret: desired.secret_name.clone(),
                },
            ),
            false => keep(ResourceKind::Secret, &name),
        });
    }

    for (namespace, secret) in &observed.stale_secrets {
        let name = format!("{namespace}/{secret}");
        resources.push(delete(
            0,
            ResourceKind::Secret,
            &name,
            Change::DeleteSecret {
                namespace: namespace.clone(),
                secret: secret.clone(),
            },
        ));
    }

    // Wave 1: identities and policies.
    if let Some(user) = &observed.user {
        resources.push(match is_owned(&user.tags) {
            true => delete(
                1,
                ResourceKind::User,
                &user.name,
                Change::DeleteUser {
                    user: user.name.clone(),
                },
            ),
            false => keep(ResourceKind::User, &user.name),
        });
    }
    let pipeline = observed
        .pipeline_roles
        .values()
        .map(|o| (&o.role, is_owned(&o.role.tags)));
    let stale = observed.stale_roles.iter().map(|r| (r, true));
    for (role, owned) in pipeline.chain(stale) {
        resources.push(match owned {
            true => delete(
                1,
                ResourceKind::PipelineRole,
                &role.name,
                Change::DeleteRole {
                    role: role.name.clone(),
                },
            ),
            false => keep(ResourceKind::PipelineRole, &role.name),
        });
    }
    if let Some(role) = &observed.role {
        resources.push(match is_owned(&role.tags) {
            true => delete(
                1,
                ResourceKind::ExecutionRole,
                &role.name,
                Change::DeleteRole {
                    role: role.name.clone(),
                },
            ),
            false => keep(ResourceKind::ExecutionRole, &role.name),
        });
    }
    for node in observed
        .node_roles
        .iter()
        .filter(|n| n.inline_policy.is_some())
    {
        resources.push(delete(
            1,
            ResourceKind::NodeRole,
            &node.name,
            Change::DeleteInlinePolicy {
                role: node.name.clone(),
                policy_name: desired.node_policy_name.clone(),
            },
        ));
    }

    // Wave 2: the pipeline policy, detached by now, and the provider, once no role of ours
    // trusts it.
    if observed.pipeline_policy.is_some() {
        let arn = desired.pipeline_policy_arn.clone();
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        let change = Change::DeleteManagedPolicy { arn };
        resources.push(delete(2, ResourceKind::PipelinePolicy, &name, change));
    }
    if let Some(provider) = &observed.provider {
        resources.push(match is_owned(&provider.tags) && !provider_in_use {
            true => delete(
                2,
                ResourceKind::OidcProvider,
                &provider.url,
                Change::DeleteOidcProvider {
                    arn: provider.arn.clone(),
                },
            ),
            false => keep(ResourceKind::OidcProvider, &provider.url),
        });
    }
    Plan {
        resources,
        blockers: Vec::new(),
    }
}

/// The resources a teardown deletes, for confirmation prompts.
pub fn deletions(plan: &Plan) -> impl Iterator<Item = &ResourcePlan> {
    plan.resources.iter().filter(|r| r.action == Action::Delete)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aws::{OidcProvider, Role, User};
    use crate::kube::SecretState;
    use crate::plan::{KeyHealth, ObservedNodeRole, ObservedSecret, Resolved, Target};
    use crate::spec::{MANAGED_BY_KEY, MANAGED_BY_VALUE, Spec};

    fn owned() -> BTreeMap<String, String> {
        [(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())].into()
    }

    fn desired() -> Desired {
        Desired::new(
            &Spec::default(),
            Resolved {
                node_roles: vec!["ng".into()],
                targets: vec![Target {
                    namespace: "kubeflow".into(),
                    service_account: "pipeline-runner".into(),
                }],
                account: "123456789012".into(),
                region: "us-east-1".into(),
                issuer: None,
            },
        )
    }

    fn everything(tags: BTreeMap<String, String>) -> Observed {
        Observed {
            user: Some(User {
                name: "u".into(),
                arn: "arn:u".into(),
                tags: tags.clone(),
            }),
            secrets: vec![ObservedSecret {
                namespace: "kubeflow".into(),
                state: Some(SecretState {
                    labels: tags.clone(),
                    ..Default::default()
                }),
                health: KeyHealth::Missing,
            }],
            role: Some(Role {
                name: "r".into(),
                arn: "arn:r".into(),
                trust: "{}".into(),
                tags: tags.clone(),
            }),
            node_roles: vec![ObservedNodeRole {
                name: "ng".into(),
                exists: true,
                inline_policy: Some("{}".into()),
            }],
            provider: Some(OidcProvider {
                arn: "arn:p".into(),
                url: "issuer".into(),
                client_ids: vec![],
                tags,
            }),
            ..Observed::default()
        }
    }

    fn actions(plan: &Plan) -> Vec<(ResourceKind, Action, u8)> {
        plan.resources
            .iter()
            .map(|r| (r.kind, r.action, r.wave))
            .collect()
    }

    #[test]
    fn owned_resources_are_deleted_secrets_first_provider_last() {
        let plan = teardown(&desired(), &everything(owned()), false);
        assert_eq!(
            actions(&plan),
            [
                (ResourceKind::Secret, Action::Delete, 0),
                (ResourceKind::User, Action::Delete, 1),
                (ResourceKind::ExecutionRole, Action::Delete, 1),
                (ResourceKind::NodeRole, Action::Delete, 1),
                (ResourceKind::OidcProvider, Action::Delete, 2),
            ]
        );
    }

    #[test]
    fn unowned_resources_are_kept_but_node_policies_still_go() {
        let plan = teardown(&desired(), &everything(BTreeMap::new()), false);
        let deleted: Vec<ResourceKind> = deletions(&plan).map(|r| r.kind).collect();
        assert_eq!(deleted, [ResourceKind::NodeRole]);
        assert!(
            plan.resources
                .iter()
                .filter(|r| r.action == Action::Keep)
                .count()
                == 4
        );
    }

    #[test]
    fn provider_still_trusted_by_another_role_is_kept() {
        let plan = teardown(&desired(), &everything(owned()), true);
        let provider = plan
            .resources
            .iter()
            .find(|r| r.kind == ResourceKind::OidcProvider);
        assert_eq!(provider.unwrap().action, Action::Keep);
    }

    #[test]
    fn nothing_left_plans_nothing() {
        let observed = Observed {
            node_roles: vec![ObservedNodeRole {
                name: "ng".into(),
                exists: true,
                inline_policy: None,
            }],
            ..Observed::default()
        };
        assert!(teardown(&desired(), &observed, false).resources.is_empty());
    }
}
