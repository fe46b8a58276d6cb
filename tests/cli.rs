//! The binary's behaviour that needs no server: specs, validation, usage errors.

use assert_cmd::Command;
use kfp_iam::spec::Spec;

fn kfp_iam() -> Command {
    let mut cmd = Command::cargo_bin("kfp-iam").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

#[test]
fn spec_default_prints_the_classic_setup_as_yaml_that_reads_back() {
    let out = kfp_iam().args(["spec", "default"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(Spec::from_yaml(&text, "stdout").unwrap(), Spec::default());
    assert!(
        text.contains("kubeflow-sagemaker-user") && text.contains("aws-secret"),
        "{text}"
    );
}

#[test]
fn spec_from_stdin_with_bad_values_names_every_field() {
    let spec = "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\nmetadata:\n  name: x\n\
                spec:\n  user:\n    name: 'has space'\n  secret:\n    namespace: Kubeflow\n";
    let out = kfp_iam()
        .args(["spec", "validate", "-f", "-"])
        .write_stdin(spec)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("spec.user.name: `has space`"), "{stderr}");
    assert!(
        stderr.contains("spec.secret.namespace: `Kubeflow`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_field_in_a_spec_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        "apiVersion: kfp-iam.io/v1alpha1\nkind: SageMakerAccess\n\
        metadata:\n  name: x\nspec:\n  nodeRole: [a]\n",
    )
    .unwrap();
    let out = kfp_iam()
        .args(["spec", "validate", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("nodeRole") && stderr.contains("spec.yaml"),
        "{stderr}"
    );
}

#[test]
fn missing_spec_file_is_an_error_naming_the_path() {
    let out = kfp_iam()
        .args(["plan", "-f", "/nonexistent/spec.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("kfp-iam: error: cannot read spec `/nonexistent/spec.yaml`"),
        "{stderr}"
    );
}

#[test]
fn usage_error_exits_1_not_the_changes_pending_code() {
    let out = kfp_iam().args(["plan", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn help_exits_0() {
    kfp_iam().arg("--help").assert().success();
}

#[test]
fn invalid_cluster_flag_fails_before_contacting_anything() {
    // No AWS or Kubernetes configuration at all: validation must come first.
    let out = kfp_iam()
        .args(["apply", "--cluster=-bad"])
        .env_remove("KUBECONFIG")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("spec.cluster: `-bad`"), "{stderr}");
}

#[test]
fn every_documented_example_is_a_valid_spec() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let out = kfp_iam()
            .args(["spec", "validate", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} examples");
}
