//! IRSA and EKS Pod Identity against testenv: moto's EKS cluster provides the issuer, and
//! the kube-apiserver signs service-account tokens with it.

use std::time::Instant;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kfp_iam::apply::apply;
use kfp_iam::aws::Aws;
use kfp_iam::plan::{DiffOptions, ROLE_ARN_ANNOTATION, plan};
use kfp_iam::spec::{AllProfiles, IdentityMode, NamespaceScope, RoleLayout, Spec};
use kfp_iam::verify::verify;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ObjectMeta, PostParams};
use serde_json::{Value, json};

use crate::common::{adapters, create_namespace, env, iam, kube_client, unique};

/// Tests that create, delete or depend on the one OIDC provider of the environment's issuer
/// take turns: moto gives every cluster of a server the same issuer.
static PROVIDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn irsa_spec(scope: NamespaceScope, layout: RoleLayout) -> Spec {
    let id = unique("irsa");
    let mut spec = Spec::default();
    spec.metadata.name = id.clone();
    spec.spec.cluster = Some(env().cluster);
    spec.spec.node_roles = Some(vec![env().node_role]);
    spec.spec.execution_role.name = format!("{id}-exec");
    spec.spec.identity.mode = IdentityMode::Irsa;
    spec.spec.identity.roles = layout;
    spec.spec.identity.role_name = format!("{id}-p");
    spec.spec.namespaces = Some(scope);
    spec
}

async fn create_profile(name: &str) {
    let gvk = GroupVersionKind::gvk("kubeflow.org", "v1", "Profile");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "profiles");
    let api: Api<DynamicObject> = Api::all_with(kube_client().await, &resource);
    let mut profile = DynamicObject::new(name, &resource);
    profile.data =
        json!({"spec": {"owner": {"kind": "User", "name": format!("{name}@example.com")}}});
    api.create(&PostParams::default(), &profile)
        .await
        .expect("create profile");
    create_namespace(name).await;
}

async fn list_profiles() -> Vec<String> {
    let gvk = GroupVersionKind::gvk("kubeflow.org", "v1", "Profile");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "profiles");
    let api: Api<DynamicObject> = Api::all_with(kube_client().await, &resource);
    let list = api.list(&Default::default()).await.expect("list profiles");
    list.items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect()
}

async fn delete_profile(name: &str) {
    let gvk = GroupVersionKind::gvk("kubeflow.org", "v1", "Profile");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "profiles");
    let api: Api<DynamicObject> = Api::all_with(kube_client().await, &resource);
    api.delete(name, &Default::default())
        .await
        .expect("delete profile");
}

/// Applies `spec` with fresh adapters and returns the number of (AWS, Kubernetes) writes.
async fn apply_spec(spec: &Spec) -> (u64, u64) {
    let (aws, kube) = adapters().await;
    let (desired, observed, plan) = plan(spec, &aws, &kube, DiffOptions::default())
        .await
        .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let report = apply(&plan, &desired, &observed, &aws, &kube)
        .await
        .unwrap();
    (report.calls.aws.writes, report.calls.kubernetes.writes)
}

async fn failed_checks(spec: &Spec) -> Vec<(String, String)> {
    let (aws, kube) = adapters().await;
    let report = verify(spec, &aws, &kube).await.unwrap();
    report
        .checks
        .into_iter()
        .filter(|c| !c.passed)
        .map(|c| (c.name, c.resource))
        .collect()
}

async fn trust_of(role: &str) -> Value {
    let role = iam()
        .await
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let text = kfp_iam::aws::decode_document(role.assume_role_policy_document().unwrap());
    serde_json::from_str(&text).unwrap()
}

async fn set_trust(role: &str, trust: &Value) {
    let call = iam().await.update_assume_role_policy().role_name(role);
    call.policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
}

async fn annotation(namespace: &str) -> Option<String> {
    let api: Api<ServiceAccount> = Api::namespaced(kube_client().await, namespace);
    let sa = api.get("default-editor").await.ok()?;
    sa.metadata
        .annotations
        .unwrap_or_default()
        .get(ROLE_ARN_ANNOTATION)
        .cloned()
}

fn subjects_in(trust: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for statement in trust["Statement"].as_array().unwrap() {
        for (key, value) in statement["Condition"]["StringEquals"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if key.ends_with(":sub") {
                match value {
                    Value::String(s) => out.push(s.clone()),
                    Value::Array(list) => {
                        out.extend(list.iter().filter_map(|v| v.as_str().map(String::from)))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

async fn delete_provider() {
    let iam = iam().await;
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    for p in providers.open_id_connect_provider_list() {
        let arn = p.arn().unwrap();
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn irsa_for_three_profiles_converges_verifies_and_follows_the_scope() {
    let _turn = PROVIDER.lock().await;
    // Only this test makes Profiles; a failed earlier run on the same servers may have left
    // some, which `profiles: all` would otherwise take in.
    for leftover in list_profiles().await {
        delete_profile(&leftover).await;
    }
    let id = unique("prof");
    let profiles: Vec<String> = (1..=3).map(|i| format!("{id}-{i}")).collect();
    for p in &profiles {
        create_profile(p).await;
    }
    let spec = irsa_spec(
        NamespaceScope::Profiles {
            profiles: AllProfiles::All,
        },
        RoleLayout::Shared,
    );
    let role = spec.spec.identity.role_name.clone();

    // Cold apply: provider, one role whose trust names exactly the three accounts,
    // annotations on the three service accounts.
    let (aws_writes, kube_writes) = apply_spec(&spec).await;
    assert!(aws_writes > 0 && kube_writes >= 3);
    let (aws, _) = adapters().await;
    let providers = aws.list_oidc_providers().await.unwrap();
    assert_eq!(providers.len(), 1, "{providers:?}");
    let subjects = subjects_in(&trust_of(&role).await);
    for p in &profiles {
        assert!(
            subjects.contains(&format!("system:serviceaccount:{p}:default-editor")),
            "{subjects:?}"
        );
        let arn = annotation(p).await.expect("annotation");
        assert!(arn.ends_with(&format!("/{role}")), "{arn}");
    }

    // Re-apply writes nothing; verify passes with real tokens.
    assert_eq!(apply_spec(&spec).await, (0, 0));
    assert_eq!(failed_checks(&spec).await, vec![]);

    // A statement written by someone else survives every apply.
    let mut trust = trust_of(&role).await;
    let theirs = json!({"Sid": "BreakGlass", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"});
    trust["Statement"]
        .as_array_mut()
        .unwrap()
        .insert(0, theirs.clone());
    set_trust(&role, &trust).await;
    assert_eq!(
        apply_spec(&spec).await,
        (0, 0),
        "a foreign statement is not a change"
    );

    // Profile 3 leaves the scope: exactly its subject and its annotation go.
    delete_profile(&profiles[2]).await;
    apply_spec(&spec).await;
    let trust = trust_of(&role).await;
    let subjects = subjects_in(&trust);
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(!subjects.iter().any(|s| s.contains(&profiles[2])));
    assert_eq!(trust["Statement"][0], theirs);
    assert_eq!(annotation(&profiles[2]).await, None);
    assert!(annotation(&profiles[0]).await.is_some());

    // Damage 1: a subject names another namespace.
    let mut damaged = trust.clone();
    let text = damaged
        .to_string()
        .replace(&format!(":{}:", profiles[0]), ":elsewhere:");
    damaged = serde_json::from_str(&text).unwrap();
    set_trust(&role, &damaged).await;
    let failed = failed_checks(&spec).await;
    assert_eq!(
        failed,
        [(
            "irsa-trust".to_owned(),
            format!("{}/default-editor", profiles[0])
        )]
    );
    apply_spec(&spec).await;
    assert_eq!(failed_checks(&spec).await, vec![]);

    // Damage 2: the annotation names another role.
    let api: Api<ServiceAccount> = Api::namespaced(kube_client().await, &profiles[1]);
    let patch = json!({"metadata": {"annotations": {ROLE_ARN_ANNOTATION:
        "arn:aws:iam::123456789012:role/someone-else"}}});
    api.patch(
        "default-editor",
        &Default::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap();
    let failed = failed_checks(&spec).await;
    assert_eq!(
        failed,
        [(
            "irsa-annotation".to_owned(),
            format!("{}/default-editor", profiles[1])
        )]
    );
    apply_spec(&spec).await;
    assert_eq!(failed_checks(&spec).await, vec![]);

    // Damage 3: the OIDC provider is deleted.
    delete_provider().await;
    let failed: Vec<String> = failed_checks(&spec)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(failed, ["oidc-provider"]);
    apply_spec(&spec).await;
    assert_eq!(failed_checks(&spec).await, vec![]);

    for p in &profiles[..2] {
        delete_profile(p).await;
    }
}

/// Applies irsa with one role per namespace for two new namespaces named after `id`; returns
/// the spec, the namespaces and the roles' path.
async fn two_namespaces_with_roles_of_their_own(id: &str) -> (Spec, Vec<String>, String) {
    let names: Vec<String> = (1..=2).map(|i| format!("{id}-{i}")).collect();
    for n in &names {
        create_namespace(n).await;
    }
    let spec = irsa_spec(
        NamespaceScope::Names(names.clone()),
        RoleLayout::PerNamespace,
    );
    apply_spec(&spec).await;
    let (aws, _) = adapters().await;
    let path = format!("/kfp-iam/{}/", spec.metadata.name);
    assert_eq!(aws.list_roles(&path).await.unwrap().len(), 2);
    (spec, names, path)
}

#[tokio::test]
async fn per_namespace_roles_are_created_and_removed_with_their_namespace() {
    let _turn = PROVIDER.lock().await;
    let (mut spec, names, path) = two_namespaces_with_roles_of_their_own(&unique("pns")).await;
    let (aws, _) = adapters().await;
    assert_eq!(failed_checks(&spec).await, vec![]);

    spec.spec.namespaces = Some(NamespaceScope::Names(names[..1].to_vec()));
    apply_spec(&spec).await;
    let roles = aws.list_roles(&path).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert!(roles[0].name.ends_with(&names[0]));
    assert_eq!(annotation(&names[1]).await, None);
    assert_eq!(apply_spec(&spec).await, (0, 0));

    // destroy takes back the role and the annotation, and leaves the namespaces.
    let file = crate::common::spec_file(&spec);
    let out = crate::common::kfp_iam()
        .args(["destroy", "--yes", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(aws.list_roles(&path).await.unwrap().is_empty());
    assert_eq!(annotation(&names[0]).await, None);
    let api: Api<Namespace> = Api::all(kube_client().await);
    assert!(api.get_opt(&names[0]).await.unwrap().is_some());
}

#[tokio::test]
async fn leaving_irsa_for_an_access_key_takes_back_roles_and_annotations() {
    let _turn = PROVIDER.lock().await;
    let id = unique("switch");
    let (mut spec, names, path) = two_namespaces_with_roles_of_their_own(&id).await;
    let (aws, _) = adapters().await;

    // The same spec, now with a key in a Secret per namespace.
    spec.spec.identity.mode = IdentityMode::AccessKey;
    spec.spec.user.name = format!("{id}-user");
    apply_spec(&spec).await;
    assert!(aws.list_roles(&path).await.unwrap().is_empty());
    for n in &names {
        assert_eq!(annotation(n).await, None, "{n}");
    }
    assert_eq!(failed_checks(&spec).await, vec![]);
    assert_eq!(apply_spec(&spec).await, (0, 0));
}

#[tokio::test]
async fn pod_identity_reports_the_api_the_emulator_lacks() {
    let name = unique("podid");
    create_namespace(&name).await;
    let mut spec = irsa_spec(NamespaceScope::Names(vec![name]), RoleLayout::Shared);
    spec.spec.identity.mode = IdentityMode::PodIdentity;
    let (aws, kube) = adapters().await;
    let err = plan(&spec, &aws, &kube, DiffOptions::default())
        .await
        .unwrap_err()
        .to_string();
    // moto 5.2 has no route for pod identity associations; the error must say which call.
    assert!(err.contains("eks:ListPodIdentityAssociations"), "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
    assert_eq!(aws.calls().writes, 0);
}

/// How many profile namespaces the scale test makes; `KFP_IAM_SCALE` overrides it (keep it
/// above the 16 roles from which roles are read in bulk).
fn scale() -> usize {
    std::env::var("KFP_IAM_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

#[tokio::test]
async fn hundreds_of_profile_namespaces_apply_and_reapply_with_list_calls() {
    let _turn = PROVIDER.lock().await;
    let id = unique("scale");
    let count = scale();
    let client = kube_client().await;
    let api: Api<Namespace> = Api::all(client);
    let label = format!("kfp-iam-scale={id}");
    let creates = (0..count).map(|i| {
        let api = api.clone();
        let id = id.clone();
        async move {
            let ns = Namespace {
                metadata: ObjectMeta {
                    name: Some(format!("{id}-{i:04}")),
                    labels: Some([("kfp-iam-scale".to_owned(), id.clone())].into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            api.create(&PostParams::default(), &ns)
                .await
                .expect("namespace");
        }
    });
    futures::stream::iter(creates)
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    let spec = irsa_spec(
        NamespaceScope::Selector { selector: label },
        RoleLayout::PerNamespace,
    );
    let started = Instant::now();
    let (aws, kube) = adapters().await;
    let (desired, observed, planned) = plan(&spec, &aws, &kube, DiffOptions::default())
        .await
        .unwrap();
    assert!(planned.blockers.is_empty(), "{:?}", &planned.blockers[..1]);
    let report = apply(&planned, &desired, &observed, &aws, &kube)
        .await
        .unwrap();
    let cold = started.elapsed();
    assert_eq!(report.outputs.pipeline_roles.len(), count);

    let started = Instant::now();
    let (aws, kube) = adapters().await;
    let (desired, observed, planned) = plan(&spec, &aws, &kube, DiffOptions::default())
        .await
        .unwrap();
    let again = apply(&planned, &desired, &observed, &aws, &kube)
        .await
        .unwrap();
    let warm = started.elapsed();
    assert_eq!(
        (again.calls.aws.writes, again.calls.kubernetes.writes),
        (0, 0)
    );
    // Reads are list calls, not one or two per namespace: Kubernetes lists the service
    // accounts, and IAM lists the roles and the account's role details.
    assert!(again.calls.kubernetes.reads <= 5, "{:?}", again.calls);
    assert!(report.calls.aws.reads <= 20, "{:?}", report.calls);
    assert!(again.calls.aws.reads <= 20, "{:?}", again.calls);
    eprintln!(
        "scale {count} namespaces: cold apply {cold:?} ({:?}), no-change apply {warm:?} ({:?})",
        report.calls, again.calls
    );
}

use futures::StreamExt;
