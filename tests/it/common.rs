//! Shared helpers: the environment, clients, unique names and fixtures.

use std::sync::atomic::{AtomicU32, Ordering};

use k8s_openapi::api::core::v1::Namespace;
use kfp_iam::aws::SdkAws;
use kfp_iam::kube::KubeClient;
use kfp_iam::spec::Spec;
use kube::api::{Api, ObjectMeta, PostParams};

/// The environment `testenv/testenv up` exported.
pub struct TestEnv {
    pub cluster: String,
    pub node_role: String,
    /// A kubeconfig whose identity has no RBAC grants.
    pub kubeconfig_restricted: String,
}

pub fn env() -> TestEnv {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the integration tests with `scripts/test`, or \
                    `eval \"$(testenv/testenv up)\"` first"
            )
        })
    };
    var("AWS_ENDPOINT_URL");
    var("KUBECONFIG");
    TestEnv {
        cluster: var("TESTENV_EKS_CLUSTER"),
        node_role: var("TESTENV_NODE_ROLE"),
        kubeconfig_restricted: var("TESTENV_KUBECONFIG_RESTRICTED"),
    }
}

/// A name no other test of this run, or of an earlier run on the same servers, uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 100_000)
        .unwrap_or_default();
    format!("{prefix}-{}-{n}-{nanos}", std::process::id() % 100_000)
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    env();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

pub async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config().await)
}

pub async fn kube_client() -> kube::Client {
    env();
    kube::Client::try_default()
        .await
        .expect("kube client from KUBECONFIG")
}

/// Fresh adapters, so call counts start at zero.
pub async fn adapters() -> (SdkAws, KubeClient) {
    env();
    let aws = SdkAws::connect(None).await.expect("AWS configuration");
    let kube = KubeClient::connect().await.expect("kube configuration");
    (aws, kube)
}

pub async fn create_namespace(name: &str) {
    let api: Api<Namespace> = Api::all(kube_client().await);
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

/// An IAM role that stands in for an EKS node role.
pub async fn create_node_role(name: &str) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam()
        .await
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create node role");
}

/// A spec whose every resource has a unique name, in a fresh namespace, with its own node
/// role.
pub async fn isolated_spec() -> Spec {
    let id = unique("it");
    let mut spec = Spec::default();
    spec.metadata.name = id.clone();
    spec.spec.user.name = format!("{id}-user");
    spec.spec.execution_role.name = format!("{id}-role");
    spec.spec.secret.namespace = id.clone();
    let node_role = format!("{id}-node");
    create_namespace(&id).await;
    create_node_role(&node_role).await;
    spec.spec.node_roles = Some(vec![node_role]);
    spec
}

/// The `kfp-iam` binary, with the test environment's variables inherited.
pub fn kfp_iam() -> assert_cmd::Command {
    env();
    let mut cmd = assert_cmd::Command::cargo_bin("kfp-iam").expect("kfp-iam binary");
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// Writes `spec` to a temporary file for `-f`.
pub fn spec_file(spec: &Spec) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), spec.to_yaml()).expect("write spec");
    file
}
