use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::aws::{AccessKeyInfo, OidcProvider, PodIdentityAssociation, Role, User};
use crate::kube::{SecretState, ServiceAccountState};
use crate::plan::desired::{IRSA_SID, Resolved, TRUST_SID};
use crate::plan::{KeyHealth, ObservedNodeRole, ObservedSecret};
use crate::spec::{IdentityMode, RoleLayout, Spec};

const USER_ARN: &str = "arn:aws:iam::123456789012:user/kubeflow-sagemaker-user";

fn resolved(namespaces: &[&str]) -> Resolved {
    Resolved {
        node_roles: vec!["ng-role".into()],
        targets: namespaces
            .iter()
            .map(|n| Target {
                namespace: (*n).into(),
                service_account: crate::plan::default_service_account(n).into(),
            })
            .collect(),
        issuer: Some("https://oidc.eks.us-east-1.amazonaws.com/id/ABC".into()),
        account: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

fn desired() -> Desired {
    Desired::new(&Spec::default(), resolved(&["kubeflow"]))
}

fn empty() -> Observed {
    Observed {
        namespaces: ["kubeflow".to_owned()].into(),
        secrets: vec![ObservedSecret {
            namespace: "kubeflow".into(),
            state: None,
            health: KeyHealth::Missing,
        }],
        node_roles: vec![ObservedNodeRole {
            name: "ng-role".into(),
            exists: true,
            inline_policy: None,
        }],
        ..Observed::default()
    }
}

fn owned_tags() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY_KEY.to_owned(), MANAGED_BY_VALUE.to_owned())])
}

/// Labels of a Secret kfp-iam wrote for the default spec.
fn secret_labels() -> BTreeMap<String, String> {
    let mut labels = owned_tags();
    labels.insert(ACCESS_LABEL.to_owned(), Spec::default().metadata.name);
    labels
}

/// The state right after a successful apply of the default spec.
fn converged() -> Observed {
    let d = desired();
    Observed {
        user: Some(User {
            name: d.user.clone(),
            arn: USER_ARN.into(),
            tags: owned_tags(),
        }),
        user_policies: d.user_policies.clone(),
        keys: vec![AccessKeyInfo {
            id: "AKIA1".into(),
            active: true,
            created: None,
        }],
        namespaces: ["kubeflow".to_owned()].into(),
        secrets: vec![ObservedSecret {
            namespace: "kubeflow".into(),
            state: Some(SecretState {
                labels: secret_labels(),
                ..Default::default()
            }),
            health: KeyHealth::Working {
                access_key_id: "AKIA1".into(),
            },
        }],
        role: Some(Role {
            name: d.role.clone(),
            arn: "arn:aws:iam::123456789012:role/sagemaker-kfp-role".into(),
            trust: Desired::fresh_trust(d.trust_statements.clone()).to_string(),
            tags: owned_tags(),
        }),
        role_policies: d.role_policies.clone(),
        node_roles: vec![ObservedNodeRole {
            name: "ng-role".into(),
            exists: true,
            inline_policy: Some(d.node_policy.to_string()),
        }],
        ..Observed::default()
    }
}

fn of_kind(plan: &Plan, kind: ResourceKind) -> &ResourcePlan {
    plan.resources.iter().find(|r| r.kind == kind).unwrap()
}

fn ops(plan: &Plan) -> Vec<&'static str> {
    plan.resources
        .iter()
        .flat_map(|r| &r.changes)
        .map(|c| match c {
            Change::CreateUser { .. } => "CreateUser",
            Change::TagUser { .. } => "TagUser",
            Change::AttachUserPolicy { .. } => "AttachUserPolicy",
            Change::DetachUserPolicy { .. } => "DetachUserPolicy",
            Change::CreateAccessKey { .. } => "CreateAccessKey",
            Change::CopyAccessKey { .. } => "CopyAccessKey",
            Change::RetireAccessKey { .. } => "RetireAccessKey",
            Change::UntagUser { .. } => "UntagUser",
            Change::DeleteUser { .. } => "DeleteUser",
            Change::DeleteSecret { .. } => "DeleteSecret",
            Change::DeleteInlinePolicy { .. } => "DeleteInlinePolicy",
            Change::DeleteOidcProvider { .. } => "DeleteOidcProvider",
            Change::CreateManagedPolicy { .. } => "CreateManagedPolicy",
            Change::UpdateManagedPolicy { .. } => "UpdateManagedPolicy",
            Change::DeleteManagedPolicy { .. } => "DeleteManagedPolicy",
            Change::DeleteRole { .. } => "DeleteRole",
            Change::CreateOidcProvider { .. } => "CreateOidcProvider",
            Change::ApplyServiceAccount {
                role_arn: Some(_), ..
            } => "AnnotateServiceAccount",
            Change::ApplyServiceAccount { role_arn: None, .. } => "UnannotateServiceAccount",
            Change::CreatePodIdentityAssociation { .. } => "CreatePodIdentityAssociation",
            Change::UpdatePodIdentityAssociation { .. } => "UpdatePodIdentityAssociation",
            Change::DeletePodIdentityAssociation { .. } => "DeletePodIdentityAssociation",
            Change::DeleteAccessKey { .. } => "DeleteAccessKey",
            Change::LabelSecret { .. } => "LabelSecret",
            Change::CreateRole { .. } => "CreateRole",
            Change::TagRole { .. } => "TagRole",
            Change::UpdateTrust { .. } => "UpdateTrust",
            Change::AttachRolePolicy { .. } => "AttachRolePolicy",
            Change::DetachRolePolicy { .. } => "DetachRolePolicy",
            Change::PutInlinePolicy { .. } => "PutInlinePolicy",
        })
        .collect()
}

#[test]
fn empty_account_gets_exactly_the_classic_setup() {
    let plan = diff(&desired(), &empty(), DiffOptions::default()).unwrap();
    assert_eq!(
        ops(&plan),
        [
            "CreateUser",
            "AttachUserPolicy",
            "CreateAccessKey",
            "CreateRole",
            "AttachRolePolicy",
            "AttachRolePolicy",
            "PutInlinePolicy",
        ]
    );
    assert!(plan.blockers.is_empty());
    let actions: Vec<Action> = plan.resources.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            Action::Create,
            Action::Create,
            Action::Create,
            Action::Update
        ]
    );
}

#[test]
fn converged_state_plans_no_change() {
    let plan = diff(&desired(), &converged(), DiffOptions::default()).unwrap();
    assert!(!plan.has_changes(), "{:?}", ops(&plan));
    assert!(plan.resources.iter().all(|r| r.action == Action::NoChange));
}

#[test]
fn trust_written_with_other_spelling_is_not_a_change() {
    let mut observed = converged();
    let trust = json!({"Statement": {"Action": ["sts:AssumeRole"], "Effect": "Allow",
        "Principal": {"Service": ["sagemaker.amazonaws.com"]}, "Sid": TRUST_SID},
        "Version": "2012-10-17"});
    observed.role.as_mut().unwrap().trust = trust.to_string();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(!plan.has_changes(), "{:?}", ops(&plan));
}

#[test]
fn trust_for_another_service_is_merged_not_overwritten() {
    let mut observed = converged();
    let ec2 = json!({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole"});
    let trust = json!({"Version": "2012-10-17", "Statement": [ec2.clone()]});
    observed.role.as_mut().unwrap().trust = trust.to_string();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    let Change::UpdateTrust { to, .. } = &of_kind(&plan, ResourceKind::ExecutionRole).changes[0]
    else {
        panic!("{:?}", ops(&plan))
    };
    let statements = to["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0], ec2);
    assert_eq!(statements[1]["Sid"], TRUST_SID);
}

#[test]
fn equivalent_statement_without_sid_is_kept_instead_of_duplicated() {
    let mut observed = converged();
    let classic = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    observed.role.as_mut().unwrap().trust = classic.to_string();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(!plan.has_changes(), "{:?}", ops(&plan));
}

#[test]
fn unowned_user_blocks_without_adopt_and_is_tagged_with_it() {
    let mut observed = converged();
    observed.user.as_mut().unwrap().tags.clear();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(plan.blockers.len(), 1);
    assert!(plan.blockers[0].reason.contains("--adopt"));
    assert_eq!(plan.resources[0].action, Action::Blocked);

    let plan = diff(
        &desired(),
        &observed,
        DiffOptions {
            adopt: true,
            ..DiffOptions::default()
        },
    )
    .unwrap();
    assert!(plan.blockers.is_empty());
    assert_eq!(ops(&plan), ["TagUser"]);
}

#[test]
fn unowned_secret_blocks_without_adopt() {
    let mut observed = converged();
    observed.secrets[0].state.as_mut().unwrap().labels.clear();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(plan.blockers[0].kind, ResourceKind::Secret);
    let plan = diff(
        &desired(),
        &observed,
        DiffOptions {
            adopt: true,
            ..DiffOptions::default()
        },
    )
    .unwrap();
    assert_eq!(ops(&plan), ["LabelSecret"]);
}

#[test]
fn missing_namespace_is_a_blocker_naming_it() {
    let mut observed = empty();
    observed.namespaces.clear();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(
        plan.blockers[0]
            .reason
            .contains("namespace `kubeflow` does not exist")
    );
}

#[test]
fn rejected_key_is_replaced_then_deleted() {
    let mut observed = converged();
    let reason = "refused".to_owned();
    observed.secrets[0].health = KeyHealth::Rejected {
        access_key_id: "AKIA1".into(),
        reason,
    };
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["CreateAccessKey", "DeleteAccessKey"]);
}

#[test]
fn broken_key_at_quota_is_deleted_before_the_new_one_is_created() {
    let mut observed = converged();
    observed.keys.push(AccessKeyInfo {
        id: "AKIA2".into(),
        active: true,
        created: None,
    });
    observed.secrets[0].health = KeyHealth::Inactive {
        access_key_id: "AKIA1".into(),
    };
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteAccessKey", "CreateAccessKey"]);
}

#[test]
fn two_foreign_keys_block_with_the_quota_explained() {
    let mut observed = converged();
    observed.keys.push(AccessKeyInfo {
        id: "AKIA2".into(),
        active: true,
        created: None,
    });
    observed.secrets[0].health = KeyHealth::Missing;
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    let reason = &plan.blockers[0].reason;
    assert!(
        reason.contains("two access keys") && reason.contains("AKIA1, AKIA2"),
        "{reason}"
    );
    assert!(!ops(&plan).contains(&"CreateAccessKey"));
}

#[test]
fn key_of_another_user_in_the_secret_gets_a_new_key_and_no_delete() {
    let mut observed = converged();
    observed.secrets[0].health = KeyHealth::NotTheUsers {
        access_key_id: "AKIAOTHER".into(),
    };
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["CreateAccessKey"]);
}

#[test]
fn extra_attached_policies_are_detached_and_missing_ones_attached() {
    let mut observed = converged();
    observed.user_policies = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["AttachUserPolicy", "DetachUserPolicy"]);
}

#[test]
fn missing_node_role_is_a_blocker() {
    let mut observed = converged();
    observed.node_roles[0].exists = false;
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(plan.blockers[0].kind, ResourceKind::NodeRole);
}

#[test]
fn changed_node_policy_is_rewritten_with_its_previous_document() {
    let mut observed = converged();
    let other = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "s3:GetObject", "Resource": "*"}]});
    observed.node_roles[0].inline_policy = Some(other.to_string());
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    let node = of_kind(&plan, ResourceKind::NodeRole);
    let Change::PutInlinePolicy { from, .. } = &node.changes[0] else {
        panic!()
    };
    assert_eq!(from.as_ref(), Some(&other));
}

#[test]
fn missing_ownership_tag_on_owned_role_is_not_possible_but_extra_tags_are_added() {
    let mut observed = converged();
    let mut d = desired();
    d.tags.insert("team".into(), "ml".into());
    observed.user.as_mut().unwrap().tags = owned_tags();
    let plan = diff(&d, &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["TagUser", "TagRole"]);
}

fn irsa_spec(layout: RoleLayout) -> Spec {
    let mut spec = Spec::default();
    spec.spec.cluster = Some("c".into());
    spec.spec.identity.mode = IdentityMode::Irsa;
    spec.spec.identity.roles = layout;
    spec
}

fn irsa_desired(layout: RoleLayout, namespaces: &[&str]) -> Desired {
    Desired::new(&irsa_spec(layout), resolved(namespaces))
}

fn irsa_observed(namespaces: &[&str]) -> Observed {
    Observed {
        namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect(),
        ..converged()
    }
}

fn subjects(trust: &Value) -> Vec<String> {
    let statement = trust["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == IRSA_SID)
        .unwrap();
    let sub =
        &statement["Condition"]["StringEquals"]["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"];
    match sub {
        Value::String(s) => vec![s.clone()],
        list => list
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().into())
            .collect(),
    }
}

#[test]
fn irsa_on_an_empty_account_creates_provider_role_and_annotations() {
    let d = irsa_desired(RoleLayout::Shared, &["team-a", "team-b", "team-c"]);
    let plan = diff(
        &d,
        &irsa_observed(&["team-a", "team-b", "team-c"]),
        DiffOptions::default(),
    )
    .unwrap();
    let ops = ops(&plan);
    assert_eq!(
        ops.iter().filter(|o| **o == "CreateOidcProvider").count(),
        1
    );
    assert_eq!(
        ops.iter()
            .filter(|o| **o == "AnnotateServiceAccount")
            .count(),
        3
    );
    assert!(
        !ops.contains(&"CreateUser"),
        "irsa makes no IAM user: {ops:?}"
    );
    let Change::CreateRole { trust, path, .. } =
        &of_kind(&plan, ResourceKind::PipelineRole).changes[0]
    else {
        panic!()
    };
    assert_eq!(path.as_deref(), Some("/kfp-iam/kubeflow-sagemaker/"));
    assert_eq!(
        subjects(trust),
        [
            "system:serviceaccount:team-a:default-editor",
            "system:serviceaccount:team-b:default-editor",
            "system:serviceaccount:team-c:default-editor",
        ]
    );
    let waves: Vec<(ResourceKind, u8)> = plan.resources.iter().map(|r| (r.kind, r.wave)).collect();
    assert!(waves.contains(&(ResourceKind::OidcProvider, 0)));
    assert!(waves.contains(&(ResourceKind::PipelineRole, 1)));
    assert!(waves.contains(&(ResourceKind::ServiceAccount, 2)));
}

/// The observed state after applying `d` in irsa mode, with `extra` trust statements.
fn irsa_converged(d: &Desired, extra: Vec<Value>) -> Observed {
    let mut observed = irsa_observed(
        &d.targets
            .iter()
            .map(|t| t.namespace.as_str())
            .collect::<Vec<_>>(),
    );
    observed.provider = Some(OidcProvider {
        arn: d.provider_arn().unwrap(),
        url: d.issuer.clone().unwrap(),
        client_ids: vec!["sts.amazonaws.com".into()],
        tags: owned_tags(),
    });
    for role in &d.pipeline_roles {
        let mut statements = extra.clone();
        statements.extend(d.pipeline_trust_statements(role));
        observed.pipeline_roles.insert(
            role.name.clone(),
            crate::plan::ObservedRole {
                role: Role {
                    name: role.name.clone(),
                    arn: d.pipeline_role_arn(&role.name),
                    trust: Desired::fresh_trust(statements).to_string(),
                    tags: owned_tags(),
                },
                policies: d.pipeline_policies.clone(),
            },
        );
    }
    for t in &d.targets {
        let role = d
            .pipeline_roles
            .iter()
            .find(|r| r.targets.contains(t))
            .unwrap();
        let sa = ServiceAccountState {
            namespace: t.namespace.clone(),
            name: t.service_account.clone(),
            annotations: [(
                ROLE_ARN_ANNOTATION.to_owned(),
                d.pipeline_role_arn(&role.name),
            )]
            .into(),
            labels: [(ACCESS_LABEL.to_owned(), d.spec_name.clone())].into(),
        };
        observed.labelled_accounts.push(sa.clone());
        observed
            .service_accounts
            .insert((t.namespace.clone(), t.service_account.clone()), sa);
    }
    observed
}

#[test]
fn converged_irsa_plans_no_change() {
    for layout in [RoleLayout::Shared, RoleLayout::PerNamespace] {
        let d = irsa_desired(layout, &["team-a", "team-b", "team-c"]);
        let plan = diff(&d, &irsa_converged(&d, vec![]), DiffOptions::default()).unwrap();
        assert!(!plan.has_changes(), "{layout:?}: {:?}", ops(&plan));
    }
}

#[test]
fn removing_a_namespace_removes_exactly_its_subject_and_annotation() {
    let before = irsa_desired(RoleLayout::Shared, &["team-a", "team-b", "team-c"]);
    let observed = irsa_converged(&before, vec![]);
    let after = irsa_desired(RoleLayout::Shared, &["team-a", "team-c"]);
    let plan = diff(&after, &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["UpdateTrust", "UnannotateServiceAccount"]);
    let Change::UpdateTrust { to, .. } = &of_kind(&plan, ResourceKind::PipelineRole).changes[0]
    else {
        panic!()
    };
    assert_eq!(
        subjects(to),
        [
            "system:serviceaccount:team-a:default-editor",
            "system:serviceaccount:team-c:default-editor",
        ]
    );
    let unannotated = plan
        .resources
        .iter()
        .find(|r| !r.changes.is_empty() && r.kind == ResourceKind::ServiceAccount)
        .unwrap();
    assert_eq!(unannotated.name, "team-b/default-editor");
}

#[test]
fn trust_statement_written_by_someone_else_survives_a_scope_change() {
    let before = irsa_desired(RoleLayout::Shared, &["team-a", "team-b"]);
    let foreign = json!({"Sid": "Theirs", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"});
    let observed = irsa_converged(&before, vec![foreign.clone()]);
    let after = irsa_desired(RoleLayout::Shared, &["team-a"]);
    let plan = diff(&after, &observed, DiffOptions::default()).unwrap();
    let Change::UpdateTrust { to, .. } = &of_kind(&plan, ResourceKind::PipelineRole).changes[0]
    else {
        panic!()
    };
    assert_eq!(to["Statement"][0], foreign);
    assert_eq!(to["Statement"].as_array().unwrap().len(), 2);
}

#[test]
fn shared_trust_over_the_quota_is_a_blocker_suggesting_per_namespace_roles() {
    let names: Vec<String> = (0..60).map(|i| format!("profile-{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let d = irsa_desired(RoleLayout::Shared, &refs);
    let plan = diff(&d, &irsa_observed(&refs), DiffOptions::default()).unwrap();
    let reason = &plan
        .blockers
        .iter()
        .find(|b| b.kind == ResourceKind::PipelineRole)
        .unwrap()
        .reason;
    assert!(
        reason.contains("2048") && reason.contains("per-namespace"),
        "{reason}"
    );

    let d = irsa_desired(RoleLayout::PerNamespace, &refs);
    let plan = diff(&d, &irsa_observed(&refs), DiffOptions::default()).unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert_eq!(
        ops(&plan).iter().filter(|o| **o == "CreateRole").count(),
        60
    );
}

#[test]
fn per_namespace_role_out_of_scope_is_deleted() {
    let before = irsa_desired(RoleLayout::PerNamespace, &["team-a", "team-b"]);
    let mut observed = irsa_converged(&before, vec![]);
    let stale = observed
        .pipeline_roles
        .remove("kfp-pipelines-team-b")
        .unwrap();
    observed.stale_roles.push(stale.role);
    let after = irsa_desired(RoleLayout::PerNamespace, &["team-a"]);
    let plan = diff(&after, &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["UnannotateServiceAccount", "DeleteRole"]);
    let delete = plan
        .resources
        .iter()
        .find(|r| {
            r.changes
                .iter()
                .any(|c| matches!(c, Change::DeleteRole { .. }))
        })
        .unwrap();
    assert_eq!(
        delete.wave, 3,
        "roles go after the annotations that name them"
    );
}

#[test]
fn service_account_annotated_by_someone_else_blocks_without_adopt() {
    let d = irsa_desired(RoleLayout::Shared, &["team-a"]);
    let mut observed = irsa_converged(&d, vec![]);
    let sa = observed.service_accounts.values_mut().next().unwrap();
    sa.labels.clear();
    sa.annotations.insert(
        ROLE_ARN_ANNOTATION.into(),
        "arn:aws:iam::1:role/theirs".into(),
    );
    observed.labelled_accounts.clear();
    let plan = diff(&d, &observed, DiffOptions::default()).unwrap();
    assert!(
        plan.blockers[0]
            .reason
            .contains("arn:aws:iam::1:role/theirs")
    );
    let plan = diff(
        &d,
        &observed,
        DiffOptions {
            adopt: true,
            ..DiffOptions::default()
        },
    )
    .unwrap();
    assert_eq!(ops(&plan), ["AnnotateServiceAccount"]);
}

#[test]
fn missing_provider_without_permission_to_create_it_blocks() {
    let mut spec = irsa_spec(RoleLayout::Shared);
    spec.spec.identity.create_oidc_provider = false;
    let d = Desired::new(&spec, resolved(&["team-a"]));
    let plan = diff(&d, &irsa_observed(&["team-a"]), DiffOptions::default()).unwrap();
    let reason = &plan.blockers[0].reason;
    assert!(
        reason.contains("createOidcProvider") && reason.contains("eksctl"),
        "{reason}"
    );
}

#[test]
fn pod_identity_associates_each_service_account_and_removes_stale_ones() {
    let mut spec = irsa_spec(RoleLayout::Shared);
    spec.spec.identity.mode = IdentityMode::PodIdentity;
    let d = Desired::new(&spec, resolved(&["team-a", "team-b"]));
    let mut observed = irsa_observed(&["team-a", "team-b"]);
    observed.associations.push(PodIdentityAssociation {
        id: "a-1".into(),
        namespace: "gone".into(),
        service_account: "default-editor".into(),
        role_arn: d.pipeline_role_arn("kfp-pipelines"),
    });
    let plan = diff(&d, &observed, DiffOptions::default()).unwrap();
    let ops = ops(&plan);
    assert_eq!(
        ops.iter()
            .filter(|o| **o == "CreatePodIdentityAssociation")
            .count(),
        2
    );
    assert!(ops.contains(&"DeletePodIdentityAssociation"));
    assert!(!ops.contains(&"CreateOidcProvider"));
    let Change::CreateRole { trust, .. } = &of_kind(&plan, ResourceKind::PipelineRole).changes[0]
    else {
        panic!()
    };
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
    assert_eq!(
        trust["Statement"][0]["Action"],
        json!(["sts:AssumeRole", "sts:TagSession"])
    );
}

#[test]
fn access_key_is_created_once_and_copied_into_every_other_namespace() {
    let d = Desired::new(&Spec::default(), resolved(&["team-a", "team-b", "team-c"]));
    let mut observed = empty();
    observed.namespaces = ["team-a", "team-b", "team-c"].map(String::from).into();
    observed.secrets = ["team-a", "team-b", "team-c"]
        .iter()
        .map(|n| ObservedSecret {
            namespace: (*n).into(),
            state: None,
            health: KeyHealth::Missing,
        })
        .collect();
    let plan = diff(&d, &observed, DiffOptions::default()).unwrap();
    assert_eq!(
        ops(&plan)
            .iter()
            .filter(|o| **o == "CreateAccessKey")
            .count(),
        1
    );
    assert_eq!(
        ops(&plan).iter().filter(|o| **o == "CopyAccessKey").count(),
        2
    );
    let waves: Vec<u8> = plan
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Secret)
        .map(|r| r.wave)
        .collect();
    assert_eq!(waves, [2, 3, 3], "copies run after the key exists");
}

#[test]
fn working_key_in_one_namespace_is_copied_instead_of_creating_another() {
    let d = Desired::new(&Spec::default(), resolved(&["kubeflow", "team-a"]));
    let mut observed = converged();
    observed.namespaces.insert("team-a".into());
    observed.secrets.push(ObservedSecret {
        namespace: "team-a".into(),
        state: None,
        health: KeyHealth::Missing,
    });
    let plan = diff(&d, &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["CopyAccessKey"]);
}

fn key(id: &str, created: i64) -> AccessKeyInfo {
    AccessKeyInfo {
        id: id.into(),
        active: true,
        created: Some(created),
    }
}

fn tag_user(observed: &mut Observed, key: &str, value: &str) {
    observed
        .user
        .as_mut()
        .unwrap()
        .tags
        .insert(key.into(), value.into());
}

#[test]
fn key_created_by_an_interrupted_run_is_deleted_and_the_mark_removed() {
    let mut observed = converged();
    observed.keys = vec![key("AKIA1", 1000), key("AKIAORPHAN", 5000)];
    tag_user(&mut observed, crate::plan::PENDING_KEY_TAG, "4990");
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteAccessKey", "UntagUser"]);
}

#[test]
fn key_made_by_hand_before_any_pending_mark_is_left_alone() {
    let mut observed = converged();
    observed.keys = vec![key("AKIA1", 1000), key("AKIAHAND", 500)];
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(!plan.has_changes(), "{:?}", ops(&plan));
}

#[test]
fn orphan_at_the_quota_makes_room_for_the_new_key() {
    let mut observed = converged();
    observed.keys = vec![key("AKIAHAND", 100), key("AKIAORPHAN", 5000)];
    observed.secrets[0].state = None;
    observed.secrets[0].health = KeyHealth::Missing;
    tag_user(&mut observed, crate::plan::PENDING_KEY_TAG, "4990");
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    assert_eq!(ops(&plan), ["DeleteAccessKey", "CreateAccessKey"]);
}

#[test]
fn rotation_tags_creates_copies_and_retires_the_old_key_last() {
    let d = Desired::new(&Spec::default(), resolved(&["kubeflow", "team-a"]));
    let mut observed = converged();
    observed.namespaces.insert("team-a".into());
    let mut second = observed.secrets[0].clone();
    second.namespace = "team-a".into();
    observed.secrets.push(second);
    observed.keys = vec![key("AKIA1", 1000), key("AKIAGARBAGE", 900)];
    let options = DiffOptions {
        rotate: true,
        now: 2000,
        ..DiffOptions::default()
    };
    let plan = diff(&d, &observed, options).unwrap();
    assert_eq!(
        ops(&plan),
        [
            "DeleteAccessKey",
            "TagUser",
            "CreateAccessKey",
            "CopyAccessKey",
            "RetireAccessKey",
            "UntagUser"
        ]
    );
    let retire = of_kind(&plan, ResourceKind::AccessKey);
    assert_eq!(retire.wave, 4);
    let Change::RetireAccessKey {
        access_key_id,
        namespaces,
        ..
    } = &retire.changes[0]
    else {
        panic!()
    };
    assert_eq!(access_key_id, "AKIA1");
    assert_eq!(namespaces, &["kubeflow", "team-a"]);
}

#[test]
fn key_older_than_max_age_is_rotated_and_a_young_one_is_not() {
    let mut spec = Spec::default();
    spec.spec.rotation.max_age = Some("90d".into());
    let d = Desired::new(&spec, resolved(&["kubeflow"]));
    let mut observed = converged();
    observed.keys = vec![key("AKIA1", 0)];
    let young = DiffOptions {
        now: 89 * 86_400,
        ..DiffOptions::default()
    };
    assert!(!diff(&d, &observed, young).unwrap().has_changes());
    let old = DiffOptions {
        now: 91 * 86_400,
        ..DiffOptions::default()
    };
    assert!(ops(&diff(&d, &observed, old).unwrap()).contains(&"RetireAccessKey"));
}

#[test]
fn rotation_interrupted_after_the_secrets_changed_finishes_by_deleting_the_old_key() {
    let mut observed = converged();
    observed.keys = vec![key("AKIAOLD", 100), key("AKIA1", 1000)];
    tag_user(&mut observed, crate::plan::ROTATING_FROM_TAG, "AKIAOLD");
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteAccessKey", "UntagUser"]);
}

#[test]
fn rotation_interrupted_before_the_secrets_changed_is_resumed() {
    let mut observed = converged();
    observed.keys = vec![key("AKIA1", 1000), key("AKIANEW", 2000)];
    tag_user(&mut observed, crate::plan::ROTATING_FROM_TAG, "AKIA1");
    tag_user(&mut observed, crate::plan::PENDING_KEY_TAG, "1990");
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(
        ops(&plan),
        [
            "DeleteAccessKey",
            "CreateAccessKey",
            "RetireAccessKey",
            "UntagUser"
        ]
    );
}

#[test]
fn key_kfp_iam_made_that_no_secret_holds_any_more_is_replaced_and_deleted() {
    let mut observed = converged();
    tag_user(&mut observed, crate::plan::KEYS_TAG, "AKIA1");
    observed.secrets[0].state = None;
    observed.secrets[0].health = KeyHealth::Missing;
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteAccessKey", "CreateAccessKey"]);
}

#[test]
fn secret_holding_another_specs_key_blocks_without_adopt() {
    let mut observed = converged();
    let labels = &mut observed.secrets[0].state.as_mut().unwrap().labels;
    labels.insert(ACCESS_LABEL.into(), "other-spec".into());
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(
        plan.blockers[0].reason.contains("`other-spec`"),
        "{:?}",
        plan.blockers
    );
}

#[test]
fn secrets_left_out_of_scope_are_deleted() {
    let mut observed = converged();
    observed
        .stale_secrets
        .push(("team-b".into(), "aws-secret".into()));
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteSecret"]);
}

#[test]
fn leaving_scoped_mode_takes_back_the_generated_documents() {
    let mut observed = converged();
    observed.execution_policy = Some("{}".into());
    observed.pipeline_policy = Some("{}".into());
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteManagedPolicy", "DeleteInlinePolicy"]);
    let policy = of_kind(&plan, ResourceKind::PipelinePolicy);
    assert_eq!(policy.wave, 4, "after every identity let go of it");
}
