//! Scoped permissions on testenv: generated least-privilege documents that lint clean, and
//! that verify proves sufficient and not excessive; `policy check` on the live policies.

use kfp_iam::spec::{IdentityMode, NamespaceScope, PermissionMode, Spec};

use crate::common::{create_namespace, env, isolated_spec, kfp_iam, spec_file, unique};

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn scoped_spec() -> Spec {
    let mut spec = isolated_spec().await;
    spec.spec.permissions = PermissionMode::Scoped;
    spec.spec.buckets = vec![format!("{}-data", spec.metadata.name)];
    spec
}

fn apply_ok(file: &tempfile::NamedTempFile) -> String {
    ok(&kfp_iam()
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap())
}

/// verify's JSON document, after checking its exit code (0: every check passed, 3: some failed).
fn verify_document(file: &tempfile::NamedTempFile, exit_code: i32) -> serde_json::Value {
    let out = kfp_iam()
        .args(["verify", "-o", "json", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(exit_code), "{doc:#}");
    doc
}

fn verify_checks(file: &tempfile::NamedTempFile) -> serde_json::Value {
    verify_document(file, 0)
}

/// The checks verify fails.
fn failed_checks(file: &tempfile::NamedTempFile) -> Vec<String> {
    let doc = verify_document(file, 3);
    let checks = doc["checks"].as_array().unwrap().iter();
    let failed = checks.filter(|c| c["passed"] == false);
    failed
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn scoped_access_key_setup_is_sufficient_and_not_excessive() {
    let spec = scoped_spec().await;
    let file = spec_file(&spec);
    apply_ok(&file);
    let doc = verify_checks(&file);
    let names: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for expected in [
        "pipeline-actions",
        "pipeline-pass-role",
        "pipeline-least-privilege",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let again = kfp_iam()
        .args(["apply", "-o", "json", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["calls"]["aws"]["writes"], 0, "{report:#}");

    // Every document apply wrote lints clean.
    let shown = ok(&kfp_iam()
        .args(["policy", "show", "-f"])
        .arg(file.path())
        .output()
        .unwrap());
    let documents: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&shown).unwrap();
    assert!(documents.len() >= 4, "{shown}");
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, document)) in documents.iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, document.to_string()).unwrap();
        let kind = if name.ends_with("/trust") {
            "trust"
        } else {
            "identity"
        };
        let out = kfp_iam()
            .args(["policy", "lint", "--kind", kind])
            .arg(&path)
            .output()
            .unwrap();
        let text = ok(&out);
        assert!(text.contains(" 0 error(s)"), "{name}: {text}");
        // moto's account id is AWS's documentation example, which lint rightly flags.
        for line in text.lines().filter(|l| l.contains("warning[")) {
            assert!(
                line.contains("warning[placeholder]") && line.contains("123456789012"),
                "{name}: {line}"
            );
        }
    }

    // policy check answers from the live policies, with the deciding statement.
    let user = spec.spec.user.name.clone();
    let bucket = &spec.spec.buckets[0];
    let check = |action: &str, resource: &str| {
        kfp_iam()
            .args([
                "policy",
                "check",
                "--as",
                "pipeline",
                "--action",
                action,
                "--resource",
                resource,
                "-f",
            ])
            .arg(file.path())
            .output()
            .unwrap()
    };
    let allowed = check("s3:GetObject", &format!("arn:aws:s3:::{bucket}/input.csv"));
    let text = ok(&allowed);
    assert!(
        text.contains(&format!("user/{user}: allow")) && text.contains("decided by"),
        "{text}"
    );
    let denied = check(
        "s3:GetObject",
        "arn:aws:s3:::someone-elses-bucket/input.csv",
    );
    assert_eq!(denied.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&denied.stdout).contains("implicit deny"));

    // destroy also removes the generated managed policy.
    ok(&kfp_iam()
        .args(["destroy", "--yes", "-f"])
        .arg(file.path())
        .output()
        .unwrap());
    let out = kfp_iam()
        .args(["destroy", "--yes", "-o", "json", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["resources"], serde_json::json!([]));
}

#[tokio::test]
async fn scoped_irsa_roles_pass_every_check() {
    let mut spec = scoped_spec().await;
    let names: Vec<String> = (1..=2).map(|i| unique(&format!("sc{i}"))).collect();
    for n in &names {
        create_namespace(n).await;
    }
    spec.spec.cluster = Some(env().cluster);
    spec.spec.identity.mode = IdentityMode::Irsa;
    spec.spec.identity.role_name = format!("{}-p", spec.metadata.name);
    spec.spec.namespaces = Some(NamespaceScope::Names(names));
    let file = spec_file(&spec);
    apply_ok(&file);
    let doc = verify_checks(&file);
    let least = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pipeline-least-privilege")
        .unwrap();
    assert_eq!(least["passed"], true, "{least}");
}

#[tokio::test]
async fn extra_full_access_policy_fails_the_least_privilege_check() {
    let mut spec = scoped_spec().await;
    spec.spec
        .user
        .policies
        .push("arn:aws:iam::aws:policy/IAMFullAccess".into());
    let file = spec_file(&spec);
    apply_ok(&file);
    assert_eq!(failed_checks(&file), ["pipeline-least-privilege"]);
}

#[tokio::test]
async fn missing_execution_inline_policy_fails_role_policies_and_apply_restores_it() {
    let spec = scoped_spec().await;
    let file = spec_file(&spec);
    apply_ok(&file);
    verify_checks(&file);

    crate::common::iam()
        .await
        .delete_role_policy()
        .role_name(&spec.spec.execution_role.name)
        .policy_name("kfp-iam-execution")
        .send()
        .await
        .unwrap();
    assert_eq!(failed_checks(&file), ["role-policies"]);

    apply_ok(&file);
    verify_checks(&file);
}
