//! Retrying transient failures: exponential backoff with jitter, bounded in attempts and in
//! total time, with sleeping behind a trait so schedules are testable without waiting.

use std::future::Future;
use std::time::Duration;

use tracing::debug;

/// Waits; the real one sleeps on the tokio timer, tests record instead.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub initial: Duration,
    pub max_delay: Duration,
    /// Retrying stops once the delays slept add up to this.
    pub budget: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(3),
            budget: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The delay before attempt `attempt + 1` (attempt counts from 1): doubling from
    /// `initial`, capped, then scaled by `jitter` in `[0.5, 1.0]` so clients spread out.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        doubled.min(self.max_delay).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

/// A cheap jitter source: the sub-second clock, good enough to decorrelate clients.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    0.5 + f64::from(nanos % 1000) / 2000.0
}

/// Runs `call` until it succeeds, fails with an error `retryable` rejects, or the backoff is
/// spent; returns the last result.
pub async fn retry<T, E, F, Fut>(
    backoff: &Backoff,
    sleeper: &impl Sleeper,
    retryable: impl Fn(&E) -> bool,
    mut call: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut slept = Duration::ZERO;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if retryable(&e) && attempt < backoff.max_attempts && slept < backoff.budget => {
                let delay = backoff.delay(attempt, jitter());
                debug!(attempt, ?delay, error = %e, "retrying after a transient failure");
                sleeper.sleep(delay).await;
                slept += delay;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Duration>>);

    impl Sleeper for Recorder {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
    }

    #[test]
    fn delays_double_and_are_capped() {
        let b = Backoff::default();
        let full: Vec<u128> = (1..=7).map(|a| b.delay(a, 1.0).as_millis()).collect();
        assert_eq!(full, [100, 200, 400, 800, 1600, 3000, 3000]);
        assert_eq!(b.delay(3, 0.5).as_millis(), 200, "jitter halves at most");
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let sleeper = Recorder::default();
        let mut calls = 0;
        let result: Result<u8, String> = retry(
            &Backoff::default(),
            &sleeper,
            |_| true,
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err("busy".to_owned()) } else { Ok(7) } }
            },
        )
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(sleeper.0.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn dont_retry_what_is_not_retryable() {
        let sleeper = Recorder::default();
        let mut calls = 0;
        let result: Result<(), String> = retry(
            &Backoff::default(),
            &sleeper,
            |_| false,
            || {
                calls += 1;
                async { Err("forbidden".to_owned()) }
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn give_up_when_out_of_attempts_with_the_last_error() {
        let sleeper = Recorder::default();
        let backoff = Backoff {
            max_attempts: 4,
            ..Backoff::default()
        };
        let mut calls = 0;
        let result: Result<(), String> = retry(
            &backoff,
            &sleeper,
            |_| true,
            || {
                calls += 1;
                let n = calls;
                async move { Err(format!("failure {n}")) }
            },
        )
        .await;
        assert_eq!(result, Err("failure 4".to_owned()));
        assert_eq!(sleeper.0.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn give_up_when_the_time_budget_is_spent() {
        let sleeper = Recorder::default();
        let backoff = Backoff {
            max_attempts: 100,
            budget: Duration::from_millis(250),
            ..Backoff::default()
        };
        let result: Result<(), String> = retry(
            &backoff,
            &sleeper,
            |_| true,
            || async { Err("x".to_owned()) },
        )
        .await;
        assert!(result.is_err());
        let slept: Duration = sleeper.0.lock().unwrap().iter().sum();
        assert!(slept >= Duration::from_millis(250) && slept < Duration::from_secs(1));
    }
}
