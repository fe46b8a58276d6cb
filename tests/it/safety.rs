//! Bad input and foreign resources stop a run before its first write.

use kfp_iam::aws::Aws;
use kfp_iam::spec::Spec;

use crate::common::{adapters, env, iam, isolated_spec, kfp_iam, spec_file, unique};

/// One invalid value per field, with the field path the error must name.
fn invalid_specs(base: &Spec) -> Vec<(&'static str, Spec)> {
    let edit = |f: &dyn Fn(&mut Spec)| {
        let mut spec = base.clone();
        f(&mut spec);
        spec
    };
    vec![
        ("apiVersion", edit(&|s| s.api_version = "v1".into())),
        ("kind", edit(&|s| s.kind = "Role".into())),
        (
            "metadata.name",
            edit(&|s| s.metadata.name = "Not_A_Name".into()),
        ),
        (
            "spec.region",
            edit(&|s| s.spec.region = Some("mars-1".into())),
        ),
        (
            "spec.cluster",
            edit(&|s| s.spec.cluster = Some("-bad".into())),
        ),
        (
            "spec.nodeRoles[0]",
            edit(&|s| s.spec.node_roles = Some(vec!["a b".into()])),
        ),
        (
            "spec.tags.aws:x",
            edit(&|s| {
                s.spec.tags.insert("aws:x".into(), "y".into());
            }),
        ),
        (
            "spec.user.name",
            edit(&|s| s.spec.user.name = "u".repeat(65)),
        ),
        (
            "spec.user.policies[0]",
            edit(&|s| s.spec.user.policies = vec!["S3".into()]),
        ),
        (
            "spec.executionRole.name",
            edit(&|s| s.spec.execution_role.name = "r/x".into()),
        ),
        (
            "spec.executionRole.policies[0]",
            edit(&|s| s.spec.execution_role.policies = vec!["arn:aws:s3:::b".into()]),
        ),
        (
            "spec.nodePolicy.name",
            edit(&|s| s.spec.node_policy.name = String::new()),
        ),
        (
            "spec.secret.name",
            edit(&|s| s.spec.secret.name = "Aws_Secret".into()),
        ),
        (
            "spec.secret.namespace",
            edit(&|s| s.spec.secret.namespace = "x".repeat(64)),
        ),
    ]
}

#[tokio::test]
async fn spec_with_an_invalid_field_is_rejected_with_zero_writes() {
    let mut base = Spec::default();
    let id = unique("invalid");
    base.spec.user.name = format!("{id}-user");
    base.spec.execution_role.name = format!("{id}-role");
    base.spec.node_roles = Some(vec![format!("{id}-node")]);
    for (field, spec) in invalid_specs(&base) {
        let file = spec_file(&spec);
        let out = kfp_iam()
            .args(["apply", "-f"])
            .arg(file.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{field}: {stderr}");
        assert!(
            stderr.contains(field),
            "error does not name `{field}`: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{field}: stdout must stay empty");
    }
    // Nothing of the base names was created by any of the runs.
    let (aws, _) = adapters().await;
    assert_eq!(aws.get_user(&base.spec.user.name).await.unwrap(), None);
    assert_eq!(
        aws.get_role(&base.spec.execution_role.name).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn unowned_user_blocks_apply_until_adopted() {
    let spec = isolated_spec().await;
    iam()
        .await
        .create_user()
        .user_name(&spec.spec.user.name)
        .send()
        .await
        .unwrap();
    let file = spec_file(&spec);

    let out = kfp_iam()
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not managed by kfp-iam") && stderr.contains("--adopt"),
        "{stderr}"
    );
    let (aws, _) = adapters().await;
    assert_eq!(
        aws.get_role(&spec.spec.execution_role.name).await.unwrap(),
        None,
        "a blocked apply must write nothing, not even the independent role"
    );

    let plan = kfp_iam()
        .args(["plan", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&plan.stdout).contains("blocked"));

    let out = kfp_iam()
        .args(["apply", "--adopt", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = aws.get_user(&spec.spec.user.name).await.unwrap().unwrap();
    assert_eq!(
        user.tags
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("kfp-iam")
    );
}

#[tokio::test]
async fn user_with_two_foreign_keys_stops_with_the_quota_explained() {
    let spec = isolated_spec().await;
    let iam = iam().await;
    let user = &spec.spec.user.name;
    let tag = aws_sdk_iam::types::Tag::builder()
        .key("app.kubernetes.io/managed-by")
        .value("kfp-iam")
        .build()
        .unwrap();
    iam.create_user()
        .user_name(user)
        .tags(tag)
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        iam.create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
    }
    let file = spec_file(&spec);
    let out = kfp_iam()
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("two access keys") && stderr.contains("delete-access-key"),
        "{stderr}"
    );
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    assert_eq!(
        keys.access_key_metadata().len(),
        2,
        "no key may be created or deleted"
    );
}

#[tokio::test]
async fn missing_namespace_is_reported_with_what_to_do() {
    let mut spec = isolated_spec().await;
    spec.spec.secret.namespace = unique("absent");
    let file = spec_file(&spec);
    let out = kfp_iam()
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("does not exist") && stderr.contains("kubectl create namespace"));
}

#[tokio::test]
async fn plan_lists_every_resource_with_documents_and_no_secret_values() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    let out = kfp_iam()
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "changes are pending");
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "create IAM user",
        "values redacted",
        "sagemaker.amazonaws.com",
        "sagemaker:InvokeEndpoint",
        "add inline policy",
    ] {
        assert!(text.contains(expected), "plan lacks `{expected}`:\n{text}");
    }
    let out = kfp_iam()
        .args(["plan", "-o", "json", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["kind"], "Plan");
    assert_eq!(doc["resources"].as_array().unwrap().len(), 4);
    assert_eq!(doc["calls"]["aws"]["writes"], 0);
}

#[tokio::test]
async fn forbidden_kubernetes_identity_is_reported_with_the_status_and_what_to_do() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    let iam = iam().await;
    let user = spec.spec.user.name.clone();
    let out = kfp_iam()
        .env("KUBECONFIG", &env().kubeconfig_restricted)
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("403 Forbidden"), "{stderr}");
    assert!(stderr.contains("User \"restricted\" cannot"), "{stderr}");
    assert!(stderr.contains("kubectl auth can-i"), "{stderr}");
    assert!(!stderr.contains("Status {"), "no debug dump: {stderr}");
    // Reads fail before the first write: nothing was made in AWS either.
    assert!(iam.get_user().user_name(&user).send().await.is_err());
}
