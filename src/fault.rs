//! A fault-injection hook for crash tests: with `KFP_IAM_KILL_AT_WRITE=N` in the environment,
//! the process kills itself with SIGKILL as it starts its N-th write to AWS or Kubernetes.
//!
//! Tests use it to interrupt a run after each write in turn and prove the next run converges.
//! Without the variable it does nothing.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

const VARIABLE: &str = "KFP_IAM_KILL_AT_WRITE";

static WRITES: AtomicU64 = AtomicU64::new(0);

fn kill_at() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| std::env::var(VARIABLE).ok().and_then(|v| v.parse().ok()))
}

/// Called as every write starts.
pub fn before_write() {
    let Some(at) = kill_at() else { return };
    if WRITES.fetch_add(1, Ordering::SeqCst) + 1 == at {
        let pid = std::process::id().to_string();
        // SIGKILL, as an operator's `kill -9` or the OOM killer would: no cleanup runs.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
