//! The test environment itself: both servers answer through the real clients.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use crate::common::{create_namespace, iam, kube_client, unique};

#[tokio::test]
async fn kube_apiserver_and_moto_answer_through_kube_rs_and_the_aws_sdk() {
    let name = unique("ns");
    create_namespace(&name).await;
    let api: Api<Namespace> = Api::all(kube_client().await);
    let ns = api.get(&name).await.expect("namespace reads back");
    assert_eq!(ns.metadata.name.as_deref(), Some(name.as_str()));

    let iam = iam().await;
    let user = unique("testenv-user");
    iam.create_user().user_name(&user).send().await.unwrap();
    let read = iam.get_user().user_name(&user).send().await.unwrap();
    assert_eq!(read.user().map(|u| u.user_name()), Some(user.as_str()));
    let managed = iam
        .get_policy()
        .policy_arn("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        .send()
        .await;
    assert!(
        managed.is_ok(),
        "AWS managed policies must be loaded: {managed:?}"
    );
}

/// The pids `up` recorded in `state`, one per daemon.
fn recorded_pids(state: &std::path::Path) -> Vec<u32> {
    ["moto", "etcd", "kube-apiserver"]
        .iter()
        .map(|daemon| {
            let text = std::fs::read_to_string(state.join(format!("{daemon}.pid")))
                .unwrap_or_else(|e| panic!("{daemon}.pid: {e}"));
            text.split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a pid")
        })
        .collect()
}

/// Whether `pid` runs; a zombie whose parent has not reaped it yet has stopped.
fn is_running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next());
    matches!(state, Some(s) if s != "Z" && s != "X")
}

#[test]
fn down_stops_every_process_up_started_and_removes_the_state_folder() {
    crate::common::env();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/testenv/testenv");
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("second-env");
    let run = |verb: &str| {
        std::process::Command::new(script)
            .arg(verb)
            .env("TESTENV_STATE", &state)
            .output()
            .unwrap()
    };

    let up = run("up");
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let exports = String::from_utf8_lossy(&up.stdout);
    assert!(
        exports.lines().all(|l| l.starts_with("export ")),
        "{exports}"
    );
    let pids = recorded_pids(&state);
    assert!(pids.iter().all(|p| is_running(*p)), "{pids:?}");

    let down = run("down");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    for pid in pids {
        assert!(!is_running(pid), "pid {pid} survived");
    }
    assert!(!state.exists(), "the state folder was left behind");
    assert!(
        run("down").status.success(),
        "a second down must succeed too"
    );
}
