//! destroy, rotate-key, and runs killed (SIGKILL) after each write in turn.

use std::os::unix::process::ExitStatusExt;

use kfp_iam::aws::Aws;
use kfp_iam::kube::Kube;
use kfp_iam::plan::{PENDING_KEY_TAG, ROTATING_FROM_TAG, key_in_secret};
use kfp_iam::spec::Spec;

use crate::common::{adapters, iam, isolated_spec, kfp_iam, spec_file};

/// Runs `kfp-iam ARGS -f SPEC` and returns its output.
fn run(spec: &tempfile::NamedTempFile, args: &[&str]) -> std::process::Output {
    kfp_iam()
        .args(args)
        .arg("-f")
        .arg(spec.path())
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn writes_of(out: &std::process::Output) -> u64 {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["calls"]["aws"]["writes"].as_u64().unwrap()
        + doc["calls"]["kubernetes"]["writes"].as_u64().unwrap()
}

/// The converged state: verify passes, the user has exactly one key, the Secret holds it,
/// and no mark of an unfinished run is left on the user.
async fn assert_converged(spec: &Spec, file: &tempfile::NamedTempFile) {
    let verify = run(file, &["verify"]);
    ok(&verify);
    let (aws, kube) = adapters().await;
    let user = &spec.spec.user.name;
    let keys = aws.list_access_keys(user).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let secret = kube
        .get_secret(&spec.spec.secret.namespace, &spec.spec.secret.name)
        .await;
    let held = key_in_secret(&secret.unwrap().unwrap()).unwrap();
    assert_eq!(held.access_key_id, keys[0].id);
    let tags = aws.get_user(user).await.unwrap().unwrap().tags;
    assert!(
        !tags.contains_key(PENDING_KEY_TAG) && !tags.contains_key(ROTATING_FROM_TAG),
        "{tags:?}"
    );
}

#[tokio::test]
async fn rotate_key_replaces_the_key_in_the_secret_and_deletes_the_old_one() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    ok(&run(&file, &["apply"]));
    let (aws, _) = adapters().await;
    let before = aws.list_access_keys(&spec.spec.user.name).await.unwrap();

    let out = run(&file, &["rotate-key"]);
    ok(&out);
    assert_converged(&spec, &file).await;
    let after = aws.list_access_keys(&spec.spec.user.name).await.unwrap();
    assert_ne!(after[0].id, before[0].id, "the key was not replaced");

    let verify = run(&file, &["verify", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    let age = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "key-age")
        .unwrap();
    assert!(
        age["detail"].as_str().unwrap().contains("0 days old"),
        "{age}"
    );
}

#[tokio::test]
async fn rotate_key_deletes_a_second_key_that_no_secret_holds_first() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    ok(&run(&file, &["apply"]));
    iam()
        .await
        .create_access_key()
        .user_name(&spec.spec.user.name)
        .send()
        .await
        .unwrap();
    ok(&run(&file, &["rotate-key"]));
    assert_converged(&spec, &file).await;
}

#[tokio::test]
async fn destroy_removes_what_apply_made_and_a_second_destroy_is_a_no_op() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    ok(&run(&file, &["apply"]));

    let refused = kfp_iam()
        .args(["destroy", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(1),
        "no terminal and no --yes must refuse"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    let preview = run(&file, &["destroy", "--dry-run"]);
    ok(&preview);
    assert!(String::from_utf8_lossy(&preview.stdout).contains("to delete"));

    ok(&run(&file, &["destroy", "--yes"]));
    let (aws, kube) = adapters().await;
    assert_eq!(aws.get_user(&spec.spec.user.name).await.unwrap(), None);
    assert_eq!(
        aws.get_role(&spec.spec.execution_role.name).await.unwrap(),
        None
    );
    let node = &spec.spec.node_roles.as_ref().unwrap()[0];
    assert!(
        aws.get_role(node).await.unwrap().is_some(),
        "node roles are never deleted"
    );
    assert_eq!(
        aws.get_role_inline_policy(node, &spec.spec.node_policy.name)
            .await
            .unwrap(),
        None
    );
    let secret = kube
        .get_secret(&spec.spec.secret.namespace, &spec.spec.secret.name)
        .await;
    assert_eq!(secret.unwrap(), None);

    let again = run(&file, &["destroy", "--yes", "-o", "json"]);
    ok(&again);
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(doc["kind"], "DestroyPlan");
    assert_eq!(doc["resources"], serde_json::json!([]));
}

#[tokio::test]
async fn destroy_leaves_resources_it_does_not_own() {
    let spec = isolated_spec().await;
    iam()
        .await
        .create_user()
        .user_name(&spec.spec.user.name)
        .send()
        .await
        .unwrap();
    let file = spec_file(&spec);
    let out = run(&file, &["destroy", "--yes"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"));
    let (aws, _) = adapters().await;
    assert!(aws.get_user(&spec.spec.user.name).await.unwrap().is_some());
}

/// Kills `args` at each of its writes in turn, runs `then` to finish, and checks `converged`.
async fn kill_at_each_write<F, Fut>(prepare: &[&[&str]], args: &[&str], then: &[&str], converged: F)
where
    F: Fn(Spec, tempfile::NamedTempFile) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // How many writes the uninterrupted run makes.
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    for step in prepare {
        ok(&run(&file, step));
    }
    let mut counted: Vec<&str> = args.to_vec();
    counted.extend(["-o", "json"]);
    let full = run(&file, &counted);
    ok(&full);
    let writes = writes_of(&full);
    assert!(writes >= 3, "{writes} writes");

    for n in 1..=writes {
        let spec = isolated_spec().await;
        let file = spec_file(&spec);
        for step in prepare {
            ok(&run(&file, step));
        }
        let killed = kfp_iam()
            .args(args)
            .arg("-f")
            .arg(file.path())
            .env("KFP_IAM_KILL_AT_WRITE", n.to_string())
            .output()
            .unwrap();
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "write {n}: the run was not killed"
        );
        ok(&run(&file, then));
        converged(spec, file).await;
    }
}

#[tokio::test]
async fn apply_killed_after_each_write_converges_on_the_next_run() {
    kill_at_each_write(&[], &["apply"], &["apply"], |spec, file| async move {
        assert_converged(&spec, &file).await;
        // And the run after converging writes nothing.
        let again = run(&file, &["apply", "-o", "json"]);
        assert_eq!(writes_of(&again), 0);
    })
    .await;
}

#[tokio::test]
async fn rotation_killed_after_each_write_converges_on_the_next_apply() {
    kill_at_each_write(
        &[&["apply"]],
        &["rotate-key"],
        &["apply"],
        |spec, file| async move {
            assert_converged(&spec, &file).await;
        },
    )
    .await;
}

#[tokio::test]
async fn destroy_killed_after_each_write_finishes_on_the_next_run() {
    kill_at_each_write(
        &[&["apply"]],
        &["destroy", "--yes"],
        &["destroy", "--yes"],
        |spec, _file| async move {
            let (aws, _) = adapters().await;
            assert_eq!(aws.get_user(&spec.spec.user.name).await.unwrap(), None);
            assert_eq!(
                aws.get_role(&spec.spec.execution_role.name).await.unwrap(),
                None
            );
        },
    )
    .await;
}
