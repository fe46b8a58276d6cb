//! verify names the check that breaks, for each way the setup can be damaged, and apply
//! repairs it.

use k8s_openapi::api::core::v1::Secret;
use kfp_iam::apply::apply;
use kfp_iam::aws::Aws;
use kfp_iam::kube::Kube;
use kfp_iam::plan::{DiffOptions, plan};
use kfp_iam::spec::{SAGEMAKER_FULL_ACCESS, Spec};
use kfp_iam::verify::verify;
use kube::api::{Api, DeleteParams, Patch, PatchParams};

use crate::common::{adapters, iam, isolated_spec, kube_client};

async fn apply_spec(spec: &Spec) -> kfp_iam::apply::ApplyReport {
    let (aws, kube) = adapters().await;
    let (desired, observed, plan) = plan(spec, &aws, &kube, DiffOptions::default())
        .await
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    apply(&plan, &desired, &observed, &aws, &kube)
        .await
        .unwrap()
}

async fn failed_checks(spec: &Spec) -> Vec<String> {
    let (aws, kube) = adapters().await;
    let report = verify(spec, &aws, &kube).await.unwrap();
    assert_eq!(
        aws.calls().writes + kube.calls().writes,
        0,
        "verify must not write"
    );
    report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect()
}

/// Applies, damages with `damage`, expects exactly `checks` to fail, applies, expects a pass.
async fn damage_then_repair<F, Fut>(checks: &[&str], damage: F)
where
    F: FnOnce(Spec) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let spec = isolated_spec().await;
    apply_spec(&spec).await;
    assert_eq!(
        failed_checks(&spec).await,
        Vec::<String>::new(),
        "after the first apply"
    );

    damage(spec.clone()).await;
    assert_eq!(failed_checks(&spec).await, checks, "after the damage");

    let report = apply_spec(&spec).await;
    assert!(!report.changes.is_empty(), "apply found nothing to repair");
    assert_eq!(
        failed_checks(&spec).await,
        Vec::<String>::new(),
        "after the repair"
    );
}

async fn secrets(spec: &Spec) -> Api<Secret> {
    Api::namespaced(kube_client().await, &spec.spec.secret.namespace)
}

#[tokio::test]
async fn deleted_secret_fails_secret_present_and_apply_recreates_it() {
    // Without a Secret there is no key to test either.
    damage_then_repair(&["secret-present", "secret-key-works"], |spec| async move {
        let api = secrets(&spec).await;
        api.delete(&spec.spec.secret.name, &DeleteParams::default())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn corrupted_key_id_fails_secret_key_works_and_apply_replaces_the_key() {
    damage_then_repair(&["secret-key-works"], |spec| async move {
        let api = secrets(&spec).await;
        let patch =
            serde_json::json!({"stringData": {"AWS_ACCESS_KEY_ID": "AKIA0000000CORRUPTED"}});
        api.patch(
            &spec.spec.secret.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    })
    .await;
}

#[tokio::test]
async fn detached_user_policy_fails_user_policies_and_apply_reattaches_it() {
    // Without its policy, the user also loses what the policy granted.
    damage_then_repair(
        &["user-policies", "pipeline-actions", "pipeline-pass-role"],
        |spec| async move {
            let call = iam()
                .await
                .detach_user_policy()
                .user_name(&spec.spec.user.name);
            call.policy_arn(SAGEMAKER_FULL_ACCESS).send().await.unwrap();
        },
    )
    .await;
}

#[tokio::test]
async fn trust_for_another_service_fails_role_trust_and_apply_restores_sagemaker() {
    damage_then_repair(&["role-trust"], |spec| async move {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let call = iam()
            .await
            .update_assume_role_policy()
            .role_name(&spec.spec.execution_role.name);
        call.policy_document(trust).send().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn removed_node_policy_fails_node_role_check_and_apply_puts_it_back() {
    damage_then_repair(&["node-role-invoke-endpoint"], |spec| async move {
        let role = &spec.spec.node_roles.as_ref().unwrap()[0];
        let call = iam().await.delete_role_policy().role_name(role);
        call.policy_name(&spec.spec.node_policy.name)
            .send()
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn repaired_key_leaves_exactly_one_key_for_the_user() {
    let spec = isolated_spec().await;
    apply_spec(&spec).await;
    let (aws, kube) = adapters().await;
    let secret = kube
        .get_secret(&spec.spec.secret.namespace, &spec.spec.secret.name)
        .await;
    let old = kfp_iam::plan::key_in_secret(&secret.unwrap().unwrap())
        .unwrap()
        .access_key_id;
    let call = iam()
        .await
        .update_access_key()
        .user_name(&spec.spec.user.name);
    let status = aws_sdk_iam::types::StatusType::Inactive;
    call.access_key_id(&old)
        .status(status)
        .send()
        .await
        .unwrap();

    apply_spec(&spec).await;
    let keys = aws.list_access_keys(&spec.spec.user.name).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_ne!(keys[0].id, old, "the inactive key was not replaced");
    assert_eq!(failed_checks(&spec).await, Vec::<String>::new());
}

#[tokio::test]
async fn relabelling_the_secret_keeps_its_key() {
    let spec = isolated_spec().await;
    apply_spec(&spec).await;
    let api = secrets(&spec).await;
    let name = &spec.spec.secret.name;
    let before = api.get(name).await.unwrap().data.unwrap();

    // Someone strips kfp-iam's access label: apply puts it back and nothing else changes.
    let strip = serde_json::json!({"metadata": {"labels": {"kfp-iam.io/access": null}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&strip))
        .await
        .unwrap();
    let report = apply_spec(&spec).await;
    assert!(!report.changes.is_empty(), "the label was not restored");

    let after = api.get(name).await.unwrap();
    let labels = after.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("kfp-iam.io/access"), Some(&spec.metadata.name));
    assert_eq!(after.data.unwrap(), before, "the key in the Secret changed");
    assert_eq!(failed_checks(&spec).await, Vec::<String>::new());
}
