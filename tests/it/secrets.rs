//! Secret key material never reaches stdout, stderr or a log, even at the most verbose
//! level: every output of a full lifecycle is scanned for the keys it handled.

use kfp_iam::kube::Kube;
use kfp_iam::plan::key_in_secret;

use crate::common::{adapters, isolated_spec, kfp_iam, spec_file};

#[tokio::test]
async fn no_secret_value_appears_in_any_output_or_server_log() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    let (_, kube) = adapters().await;
    let mut outputs = Vec::new();
    let mut secrets = Vec::new();
    let ns = &spec.spec.secret.namespace;
    for args in [
        &["apply", "-vvv"][..],
        &["plan", "-vvv", "-o", "json"],
        &["verify", "-vvv"],
        &["rotate-key", "-vvv", "-o", "yaml"],
        &["verify", "-vvv", "-o", "json"],
        &["destroy", "--yes", "-vvv"],
    ] {
        // Read the key the Secret holds before the step that may replace or delete it.
        if let Some(state) = kube.get_secret(ns, &spec.spec.secret.name).await.unwrap() {
            let pair = key_in_secret(&state).unwrap();
            secrets.push(pair.secret_access_key.expose().to_owned());
        }
        let out = kfp_iam()
            .args(args)
            .arg("-f")
            .arg(file.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push((format!("{args:?}"), out.stdout));
        outputs.push((format!("{args:?} stderr"), out.stderr));
    }
    assert_eq!(
        secrets.len(),
        5,
        "the Secret held a key through the lifecycle"
    );
    assert_ne!(secrets[2], secrets[4], "rotation replaced the key");

    let state = std::path::PathBuf::from(std::env::var("TESTENV_STATE").unwrap());
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(
        outputs.iter().any(|(_, o)| o.len() > 1000),
        "trace output was captured"
    );
    for (name, output) in &outputs {
        let text = String::from_utf8_lossy(output);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret access key appears in {name}"
            );
        }
    }
}
