//! The Kubernetes side: the Secret that carries the access key, behind one trait.
//!
//! [`Kube`] is what the plan, apply and verify steps depend on; [`KubeClient`] implements it
//! over kube-rs with server-side apply under the field manager `kfp-iam`.

mod client;

use std::collections::BTreeMap;
use std::future::Future;

pub use client::KubeClient;

use crate::aws::CallCounts;
use crate::secret::SecretValue;

pub type Result<T, E = KubeError> = std::result::Result<T, E>;

/// What kind of failure a Kubernetes call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Forbidden,
    Conflict,
    Invalid,
    /// Throttled (429) or a server error (5xx); the call may have been applied.
    Transient,
    /// The request did not complete; the call may have been applied.
    Transport,
    /// The client could not be configured (no kubeconfig, bad context).
    Config,
    Other,
}

impl ErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::Transport | Self::Conflict)
    }
}

/// A failed Kubernetes call, naming the operation and the object.
#[derive(Debug, thiserror::Error)]
#[error("{operation} `{resource}` failed: {detail}{}", hint(*.kind, operation, resource))]
pub struct KubeError {
    pub operation: &'static str,
    pub resource: String,
    pub kind: ErrorKind,
    detail: String,
}

impl KubeError {
    pub fn new(
        operation: &'static str,
        resource: impl Into<String>,
        kind: ErrorKind,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            resource: resource.into(),
            kind,
            detail: detail.into(),
        }
    }
}

fn hint(kind: ErrorKind, operation: &str, resource: &str) -> String {
    match kind {
        ErrorKind::Forbidden => format!(
            " (the Kubernetes identity in use may not {operation} `{resource}`; check with \
             `kubectl auth can-i` and grant it through RBAC)"
        ),
        ErrorKind::Config => " (set KUBECONFIG or run inside a cluster)".into(),
        ErrorKind::Transient | ErrorKind::Transport => {
            " (a transient failure; run the command again to resume)".into()
        }
        _ => String::new(),
    }
}

/// A Secret as kfp-iam sees it: its labels, type and decoded data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretState {
    pub labels: BTreeMap<String, String>,
    pub type_: Option<String>,
    pub data: BTreeMap<String, SecretValue>,
}

/// A service account's name and the metadata kfp-iam reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccountState {
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// The Kubernetes operations kfp-iam uses. Getters return `Ok(None)` for a missing object.
pub trait Kube: Send + Sync {
    fn calls(&self) -> CallCounts;
    fn namespace_exists(&self, namespace: &str) -> impl Future<Output = Result<bool>> + Send;
    fn get_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<SecretState>>> + Send;
    /// Creates or updates an Opaque Secret with `labels` and `data` by server-side apply:
    /// the Secret ends with exactly these labels and keys of kfp-iam's, so `data` must be
    /// whole (fields of other managers are left as they are).
    fn apply_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
        data: &BTreeMap<String, SecretValue>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Sets `labels` on an existing Secret, leaving its data and other labels as they are.
    fn label_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Deletes a Secret; a missing one is not an error.
    fn delete_secret(&self, namespace: &str, name: &str)
    -> impl Future<Output = Result<()>> + Send;
    /// Secrets in all namespaces matching a field and a label selector, as
    /// (namespace, name, state): one call for any number of namespaces.
    fn list_secrets(
        &self,
        field_selector: Option<&str>,
        label_selector: Option<&str>,
    ) -> impl Future<Output = Result<Vec<(String, String, SecretState)>>> + Send;
    /// Namespace names, all or those matching a label selector.
    fn list_namespaces(
        &self,
        label_selector: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Names of the Kubeflow Profiles (`profiles.kubeflow.org/v1`), each also its namespace.
    fn list_profiles(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Service accounts in every namespace, filtered by field and label selectors: one call
    /// however many namespaces there are.
    fn list_service_accounts(
        &self,
        field_selector: Option<&str>,
        label_selector: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ServiceAccountState>>> + Send;
    /// Creates the service account if missing and sets exactly `annotations` and `labels`
    /// among the fields kfp-iam manages: ones it set before and omits now are removed.
    fn apply_service_account(
        &self,
        namespace: &str,
        name: &str,
        annotations: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A short-lived token for the service account, for `audience` (TokenRequest).
    fn request_token(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
    ) -> impl Future<Output = Result<SecretValue>> + Send;
}
