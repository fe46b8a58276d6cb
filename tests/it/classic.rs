//! The default spec on an empty account and cluster reproduces the classic setup exactly,
//! through the binary as users run it.

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

use crate::common::{env, iam, kfp_iam, kube_client, sdk_config};

const USER: &str = "kubeflow-sagemaker-user";
const ROLE: &str = "sagemaker-kfp-role";
const SAGEMAKER: &str = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
const S3: &str = "arn:aws:iam::aws:policy/AmazonS3FullAccess";

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

async fn secret_values() -> (String, String) {
    let api: Api<Secret> = Api::namespaced(kube_client().await, "kubeflow");
    let secret = api
        .get("aws-secret")
        .await
        .expect("Secret kubeflow/aws-secret");
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    let labels = secret.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("kfp-iam")
    );
    let data = secret.data.expect("data");
    let text = |k: &str| String::from_utf8(data.get(k).expect(k).0.clone()).expect("utf-8");
    (text("AWS_ACCESS_KEY_ID"), text("AWS_SECRET_ACCESS_KEY"))
}

#[tokio::test]
async fn default_spec_creates_the_classic_setup_and_a_second_apply_writes_nothing() {
    let env = env();
    let iam = iam().await;

    // First apply: creates everything and prints the outputs.
    let out = kfp_iam()
        .args(["apply", "--cluster", &env.cluster, "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["kind"], "ApplyReport");
    let role_arn = report["outputs"]["executionRoleArn"]
        .as_str()
        .expect("role ARN")
        .to_owned();
    assert!(role_arn.ends_with(":role/sagemaker-kfp-role"), "{role_arn}");
    assert_eq!(
        report["outputs"]["secrets"],
        serde_json::json!(["kubeflow/aws-secret"])
    );
    assert_eq!(
        report["outputs"]["nodeRoles"],
        serde_json::json!([env.node_role])
    );

    // Level 1: the user, its policy, and a working key in the Secret.
    let user = iam
        .get_user()
        .user_name(USER)
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    let attached = iam
        .list_attached_user_policies()
        .user_name(USER)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, [SAGEMAKER]);
    let keys = iam.list_access_keys().user_name(USER).send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);
    let (id, secret) = secret_values().await;
    assert_eq!(
        keys.access_key_metadata()[0].access_key_id(),
        Some(id.as_str())
    );
    let creds = aws_credential_types::Credentials::new(&id, &secret, None, None, "test");
    let sts_config = aws_sdk_sts::config::Builder::from(&sdk_config().await)
        .credentials_provider(creds)
        .build();
    let identity = aws_sdk_sts::Client::from_conf(sts_config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.arn(), Some(user.arn()));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&secret));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&secret));

    // Level 2: the execution role, its trust and its two policies.
    let role = iam
        .get_role()
        .role_name(ROLE)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.arn(), role_arn);
    let trust = kfp_iam::aws::decode_document(role.assume_role_policy_document().unwrap());
    let trust: Value = serde_json::from_str(&trust).unwrap();
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "sagemaker.amazonaws.com"
    );
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
    let attached = iam
        .list_attached_role_policies()
        .role_name(ROLE)
        .send()
        .await
        .unwrap();
    let mut arns: Vec<_> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    arns.sort();
    assert_eq!(arns, [S3, SAGEMAKER], "sorted by ARN");

    // Level 3: the node role may invoke endpoints.
    let inline = iam
        .list_role_policies()
        .role_name(&env.node_role)
        .send()
        .await
        .unwrap();
    assert_eq!(inline.policy_names(), ["kfp-iam-sagemaker-invoke-endpoint"]);

    // A second apply writes nothing and says so.
    let out = kfp_iam()
        .args(["apply", "--cluster", &env.cluster, "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["changes"], serde_json::json!([]));
    assert_eq!(report["calls"]["aws"]["writes"], 0);
    assert_eq!(report["calls"]["kubernetes"]["writes"], 0);
    assert_eq!(report["outputs"]["executionRoleArn"], role_arn.as_str());
    let out = kfp_iam()
        .args(["apply", "--cluster", &env.cluster])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("No changes"));

    // plan agrees, with the detailed exit code, and verify passes every check.
    let plan = kfp_iam()
        .args(["plan", "--detailed-exitcode", "--cluster", &env.cluster])
        .output()
        .unwrap();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&plan.stdout)
    );
    let verify = kfp_iam()
        .args(["verify", "--cluster", &env.cluster, "-o", "json"])
        .output()
        .unwrap();
    let report = json_of(&verify);
    assert_eq!(verify.status.code(), Some(0), "{report:#}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "secret-present",
            "secret-key-works",
            "key-age",
            "user-policies",
            "pipeline-actions",
            "pipeline-pass-role",
            "role-trust",
            "role-policies",
            "node-role-invoke-endpoint",
        ]
    );
}
