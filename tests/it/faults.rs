//! Faulty networks: kfp-iam behind a proxy that answers a share of requests with throttling,
//! server errors, dropped connections and delays, on the AWS and the Kubernetes side.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use kfp_iam::aws::Aws;

use crate::common::{adapters, isolated_spec, kfp_iam, spec_file};

/// One running `testenv/faultproxy.py`, stopped on drop.
struct Proxy {
    child: Child,
    dir: tempfile::TempDir,
    address: String,
}

impl Proxy {
    fn start(upstream: &str, flavor: &str, rate: f64, seed: u64, tls: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/testenv/faultproxy.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--upstream", upstream, "--flavor", flavor])
            .args([
                "--fault-rate",
                &rate.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .args([
                "--faults",
                "throttle,error500,drop,delay",
                "--delay-ms",
                "100",
            ])
            .arg("--port-file")
            .arg(dir.path().join("port"))
            .arg("--stats-file")
            .arg(dir.path().join("stats"));
        if let Some(pki) = tls {
            cmd.arg("--tls-cert")
                .arg(pki.join("apiserver.crt"))
                .arg("--tls-key")
                .arg(pki.join("apiserver.key"))
                .arg("--upstream-ca")
                .arg(pki.join("ca.crt"));
        }
        let child = cmd.spawn().expect("python3 runs the fault proxy");
        let port = dir.path().join("port");
        let started = Instant::now();
        while !port.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the proxy did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let address = std::fs::read_to_string(&port).unwrap();
        Self {
            child,
            dir,
            address,
        }
    }

    /// Faults injected so far.
    fn faults(&self) -> u64 {
        let stats = std::fs::read_to_string(self.dir.path().join("stats")).unwrap();
        let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
        let faults = stats["faults"].as_object().unwrap();
        faults
            .iter()
            .filter(|(k, _)| *k != "delay")
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kubeconfig like the environment's, whose server is `address`.
fn kubeconfig_via(address: &str, dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(std::env::var("KUBECONFIG").unwrap()).unwrap();
    let rewritten: String = original
        .lines()
        .map(|line| match line.trim_start() {
            l if l.starts_with("server:") => {
                let indent = &line[..line.len() - l.len()];
                format!("{indent}server: https://{address}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, rewritten).unwrap();
    path
}

fn kube_upstream() -> String {
    let config = std::fs::read_to_string(std::env::var("KUBECONFIG").unwrap()).unwrap();
    let line = config
        .lines()
        .find(|l| l.trim_start().starts_with("server:"))
        .unwrap();
    line.trim_start()
        .trim_start_matches("server:")
        .trim()
        .to_owned()
}

fn pki() -> PathBuf {
    PathBuf::from(std::env::var("TESTENV_STATE").expect("TESTENV_STATE")).join("pki")
}

/// Both proxies at `rate`, and a command that goes through them.
fn through(rate: f64, seed: u64) -> (Proxy, Proxy, tempfile::TempDir) {
    let aws_url = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let aws = Proxy::start(&aws_url, "aws", rate, seed, None);
    let kube = Proxy::start(&kube_upstream(), "kube", rate, seed + 1, Some(&pki()));
    (aws, kube, tempfile::tempdir().unwrap())
}

fn proxied(aws: &Proxy, kube: &Proxy, dir: &Path) -> assert_cmd::Command {
    let mut cmd = kfp_iam();
    cmd.env("AWS_ENDPOINT_URL", format!("http://{}", aws.address))
        .env("KUBECONFIG", kubeconfig_via(&kube.address, dir));
    cmd
}

#[tokio::test]
async fn apply_converges_with_a_fifth_of_requests_failing() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    let (aws_proxy, kube_proxy, dir) = through(0.2, 7);

    let out = proxied(&aws_proxy, &kube_proxy, dir.path())
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = proxied(&aws_proxy, &kube_proxy, dir.path())
        .args(["verify", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        aws_proxy.faults() + kube_proxy.faults() > 0,
        "no fault was injected"
    );

    // Nothing lost, nothing doubled: straight to the servers, nothing is left to do.
    let out = kfp_iam()
        .args(["plan", "--detailed-exitcode", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (aws, _) = adapters().await;
    assert_eq!(
        aws.list_access_keys(&spec.spec.user.name)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn apply_fails_cleanly_when_every_request_fails_and_a_later_run_succeeds() {
    let spec = isolated_spec().await;
    let file = spec_file(&spec);
    let (aws_proxy, kube_proxy, dir) = through(1.0, 11);

    let started = Instant::now();
    let out = proxied(&aws_proxy, &kube_proxy, dir.path())
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("kfp-iam: error:"), "{stderr}");
    assert!(
        stderr.contains("failed") && stderr.contains("run the command again"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "retries must be bounded"
    );
    assert!(out.stdout.is_empty(), "errors go to stderr");

    let out = kfp_iam()
        .args(["apply", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kfp_iam()
        .args(["verify", "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
