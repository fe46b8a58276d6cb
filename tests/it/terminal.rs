//! On a terminal, a large apply shows a progress bar on stderr; piped, it shows none.

use kfp_iam::spec::NamespaceScope;

use crate::common::{create_namespace, isolated_spec, kfp_iam, spec_file, unique};

#[tokio::test]
async fn large_apply_shows_progress_on_a_terminal_only() {
    let mut spec = isolated_spec().await;
    let id = unique("tty");
    let names: Vec<String> = (0..24).map(|i| format!("{id}-{i}")).collect();
    for name in &names {
        create_namespace(name).await;
    }
    spec.spec.namespaces = Some(NamespaceScope::Names(names));

    // Piped: no bar.
    let mut piped_spec = spec.clone();
    piped_spec.spec.user.name.push_str("-piped");
    piped_spec.spec.execution_role.name.push_str("-piped");
    piped_spec.spec.secret.name.push_str("-piped");
    let piped = kfp_iam()
        .args(["apply", "-f"])
        .arg(spec_file(&piped_spec).path())
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("changes"));

    let file = spec_file(&spec);

    // `script` gives the command a pseudo-terminal, as an operator's shell would.
    let binary = assert_cmd::cargo::cargo_bin("kfp-iam");
    let command = format!("{} apply -f {}", binary.display(), file.path().display());
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .output()
        .expect("script(1) from util-linux");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("changes"),
        "no progress bar on a terminal:\n{shown}"
    );
}
