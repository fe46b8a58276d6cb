use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::aws::{AccessKeyInfo, OidcProvider, PodIdentityAssociation, Role, User};
use crate::kube::{SecretState, ServiceAccountState};
use crate::plan::desired::{IRSA_SID, Resolved};
use crate::plan::{ObservedNodeRole, ObservedSecret};
use crate::spec::{IdentityMode, RoleLayout, Spec};

const USER_ARN: &str = "arn:aws:iam::123456789012:user/kubeflow-sagemaker-user";

fn resolved(namespaces: &[&str]) -> Resolved {
    Resolved {
        node_roles: vec!["ng-role".into()],
        targets: namespaces.iter().map(|n| Target {
            namespace: (*n).into(),
            service_account: crate::plan::default_service_account(n).into(),
        }).collect(),
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

/// The state right after a successful apply of the default spec.
fn converged() -> Observed {
    let d = desired();
    Observed {
        user: Some(User { name: d.user.clone(), arn: USER_ARN.into(), tags: owned_tags() }),
        user_policies: d.user_policies.clone(),
        keys: vec![AccessKeyInfo { id: "AKIA1".into(), active: true, created: None }],
        namespaces: ["kubeflow".to_owned()].into(),
        secrets: vec![ObservedSecret {
            namespace: "kubeflow".into(),
            state: Some(SecretState { labels: owned_tags(), ..Default::default() }),
            health: KeyHealth::Working { access_key_id: "AKIA1".into() },
        }],
        role: Some(Role {
            name: d.role.clone(),
            arn: "arn:aws:iam::123456789012:role/sagemaker-kfp-role".into(),
            trust: Desired::fresh_trust(vec![d.trust_statement.clone()]).to_string(),
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
    plan.resources.iter().flat_map(|r| &r.changes).map(|c| match c {
        Change::CreateUser { .. } => "CreateUser",
        Change::TagUser { .. } => "TagUser",
        Change::AttachUserPolicy { .. } => "AttachUserPolicy",
        Change::DetachUserPolicy { .. } => "DetachUserPolicy",
        Change::CreateAccessKey { .. } => "CreateAccessKey",
        Change::CopyAccessKey { .. } => "CopyAccessKey",
        Change::DeleteRole { .. } => "DeleteRole",
        Change::CreateOidcProvider { .. } => "CreateOidcProvider",
        Change::ApplyServiceAccount { role_arn: Some(_), .. } => "AnnotateServiceAccount",
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
    }).collect()
}

#[test]
fn empty_account_gets_exactly_the_classic_setup() {
    let plan = diff(&desired(), &empty(), DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), [
        "CreateUser", "AttachUserPolicy", "CreateAccessKey", "CreateRole", "AttachRolePolicy",
        "AttachRolePolicy", "PutInlinePolicy",
    ]);
    assert!(plan.blockers.is_empty());
    let actions: Vec<Action> = plan.resources.iter().map(|r| r.action).collect();
    assert_eq!(actions, [Action::Create, Action::Create, Action::Create, Action::Update]);
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

    let plan = diff(&desired(), &observed, DiffOptions { adopt: true }).unwrap();
    assert!(plan.blockers.is_empty());
    assert_eq!(ops(&plan), ["TagUser"]);
}

#[test]
fn unowned_secret_blocks_without_adopt() {
    let mut observed = converged();
    observed.secrets[0].state.as_mut().unwrap().labels.clear();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(plan.blockers[0].kind, ResourceKind::Secret);
    let plan = diff(&desired(), &observed, DiffOptions { adopt: true }).unwrap();
    assert_eq!(ops(&plan), ["LabelSecret"]);
}

#[test]
fn missing_namespace_is_a_blocker_naming_it() {
    let mut observed = empty();
    observed.namespaces.clear();
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert!(plan.blockers[0].reason.contains("namespace `kubeflow` does not exist"));
}

#[test]
fn rejected_key_is_replaced_then_deleted() {
    let mut observed = converged();
    let reason = "refused".to_owned();
    observed.secrets[0].health = KeyHealth::Rejected { access_key_id: "AKIA1".into(), reason };
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["CreateAccessKey", "DeleteAccessKey"]);
}

#[test]
fn broken_key_at_quota_is_deleted_before_the_new_one_is_created() {
    let mut observed = converged();
    observed.keys.push(AccessKeyInfo { id: "AKIA2".into(), active: true, created: None });
    observed.secrets[0].health = KeyHealth::Inactive { access_key_id: "AKIA1".into() };
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    assert_eq!(ops(&plan), ["DeleteAccessKey", "CreateAccessKey"]);
}

#[test]
fn two_foreign_keys_block_with_the_quota_explained() {
    let mut observed = converged();
    observed.keys.push(AccessKeyInfo { id: "AKIA2".into(), active: true, created: None });
    observed.secrets[0].health = KeyHealth::Missing;
    let plan = diff(&desired(), &observed, DiffOptions::default()).unwrap();
    let reason = &plan.blockers[0].reason;
    assert!(reason.contains("two access keys") && reason.contains("AKIA1, AKIA2"), "{reason}");
    assert!(!ops(&plan).contains(&"CreateAccessKey"));
}

#[test]
fn key_of_another_user_in_the_secret_gets_a_new_key_and_no_delete() {
    let mut observed = converged();
    observed.secrets[0].health = KeyHealth::NotTheUsers { access_key_id: "AKIAOTHER".into() };
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
    let Change::PutInlinePolicy { from, .. } = &node.changes[0] else { panic!() };
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
