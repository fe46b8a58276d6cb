//! [`Kube`] over kube-rs, configured from KUBECONFIG or the in-cluster service account.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams};
use kube::api::{GroupVersionKind, PostParams};
use tracing::debug;

use super::{ErrorKind, Kube, KubeError, Result, SecretState, ServiceAccountState};
use crate::aws::{CallCounter, CallCounts};
use crate::retry::{Backoff, TokioSleeper, retry};
use crate::secret::SecretValue;

/// Field manager for server-side apply.
const FIELD_MANAGER: &str = "kfp-iam";

/// A kube-rs client with call counting and retries of transient failures (429, 5xx,
/// 409 conflicts, broken connections).
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    counter: std::sync::Arc<CallCounter>,
    backoff: Backoff,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Connects with the default configuration: KUBECONFIG, then in-cluster.
    pub async fn connect() -> Result<Self> {
        let config_error = |e: &dyn std::error::Error| {
            KubeError::new("connect", "cluster", ErrorKind::Config, error_chain(e))
        };
        let mut config = kube::Config::infer().await.map_err(|e| config_error(&e))?;
        // kfp-iam retries itself, with a budget; kube-rs's own retries would stack on top.
        config.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| config_error(&e))?;
        Ok(Self::from_client(client))
    }

    pub fn from_client(client: kube::Client) -> Self {
        Self {
            client,
            counter: Default::default(),
            backoff: Backoff::default(),
        }
    }

    /// Runs `call`, retrying transient failures; errors name `operation` and `resource`.
    async fn retrying<T, F, Fut>(
        &self,
        operation: &'static str,
        resource: &str,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
    {
        let retryable = |e: &KubeError| e.kind.is_retryable();
        retry(&self.backoff, &TokioSleeper, retryable, || {
            let pending = call();
            let resource = resource.to_owned();
            async move { pending.await.map_err(|e| classify(operation, &resource, e)) }
        })
        .await
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn classify(operation: &'static str, resource: &str, err: kube::Error) -> KubeError {
    let kind = match &err {
        kube::Error::Api(status) => match status.code {
            404 => ErrorKind::NotFound,
            403 => ErrorKind::Forbidden,
            409 => ErrorKind::Conflict,
            400 | 422 => ErrorKind::Invalid,
            429 | 500.. => ErrorKind::Transient,
            _ => ErrorKind::Other,
        },
        // A certificate the client refuses will not be accepted on a retry.
        kube::Error::HyperError(_) | kube::Error::Service(_)
            if error_chain(&err).contains("certificate") =>
        {
            ErrorKind::Config
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => ErrorKind::Transport,
        _ => ErrorKind::Other,
    };
    // The API's own status reads best; kube's text of it embeds the whole structure.
    let text = match &err {
        kube::Error::Api(status) => {
            format!("{} {}: {}", status.code, status.reason, status.message)
        }
        _ => error_chain(&err),
    };
    KubeError::new(operation, resource, kind, text)
}

fn secret_state(secret: Secret) -> SecretState {
    let data = secret.data.unwrap_or_default().into_iter().map(|(k, v)| {
        (
            k,
            SecretValue::new(String::from_utf8_lossy(&v.0).into_owned()),
        )
    });
    let mut data: BTreeMap<_, _> = data.collect();
    // stringData is write-only in the API, but fakes and old servers echo it.
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.entry(k).or_insert_with(|| SecretValue::new(v));
    }
    SecretState {
        labels: secret.metadata.labels.unwrap_or_default(),
        type_: secret.type_,
        data,
    }
}

impl Kube for KubeClient {
    fn calls(&self) -> CallCounts {
        self.counter.snapshot()
    }

    async fn namespace_exists(&self, namespace: &str) -> Result<bool> {
        self.counter.read();
        let api: Api<Namespace> = Api::all(self.client.clone());
        let found = self
            .retrying("get namespace", namespace, || api.get_opt(namespace))
            .await?;
        Ok(found.is_some())
    }

    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<SecretState>> {
        self.counter.read();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let found = self
            .retrying("get secret", &resource, || api.get_opt(name))
            .await?;
        Ok(found.map(secret_state))
    }

    async fn label_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.counter.write();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        // A merge patch, not an apply: an apply of labels alone would drop the data that
        // kfp-iam's earlier applies own.
        let body = serde_json::json!({ "metadata": { "labels": labels } });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let patch = Patch::Merge(&body);
        debug!(secret = %resource, "labelling secret");
        self.retrying("label secret", &resource, || {
            api.patch(name, &params, &patch)
        })
        .await?;
        Ok(())
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.counter.write();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let params = kube::api::DeleteParams::default();
        match self
            .retrying("delete secret", &resource, || api.delete(name, &params))
            .await
        {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn list_secrets(
        &self,
        field_selector: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<(String, String, SecretState)>> {
        self.counter.read();
        let api: Api<Secret> = Api::all(self.client.clone());
        let mut params = ListParams::default();
        if let Some(fields) = field_selector {
            params = params.fields(fields);
        }
        if let Some(labels) = label_selector {
            params = params.labels(labels);
        }
        let what = field_selector.or(label_selector).unwrap_or("*");
        let list = self
            .retrying("list secrets", what, || api.list(&params))
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|s| {
                let namespace = s.metadata.namespace.clone().unwrap_or_default();
                let name = s.metadata.name.clone().unwrap_or_default();
                (namespace, name, secret_state(s))
            })
            .collect())
    }

    async fn apply_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
        data: &BTreeMap<String, SecretValue>,
    ) -> Result<()> {
        self.counter.write();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let data = data
            .iter()
            .map(|(k, v)| (k.clone(), ByteString(v.expose().as_bytes().to_vec())));
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                labels: Some(labels.clone()),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data.collect()).filter(|d: &BTreeMap<_, _>| !d.is_empty()),
            ..Secret::default()
        };
        // The manifest must carry apiVersion and kind for server-side apply.
        let mut body = serde_json::to_value(&secret).map_err(|e| {
            KubeError::new("apply secret", &resource, ErrorKind::Other, e.to_string())
        })?;
        body["apiVersion"] = "v1".into();
        body["kind"] = "Secret".into();
        debug!(secret = %resource, "applying secret");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(&body);
        self.retrying("apply secret", &resource, || {
            api.patch(name, &params, &patch)
        })
        .await?;
        Ok(())
    }

    async fn list_namespaces(&self, label_selector: Option<&str>) -> Result<Vec<String>> {
        self.counter.read();
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut params = ListParams::default();
        if let Some(selector) = label_selector {
            params = params.labels(selector);
        }
        let what = label_selector.unwrap_or("*");
        let list = self
            .retrying("list namespaces", what, || api.list_metadata(&params))
            .await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect())
    }

    async fn list_profiles(&self) -> Result<Vec<String>> {
        self.counter.read();
        let gvk = GroupVersionKind::gvk("kubeflow.org", "v1", "Profile");
        let resource = ApiResource::from_gvk_with_plural(&gvk, "profiles");
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource);
        let params = ListParams::default();
        let what = "profiles.kubeflow.org";
        let list = self
            .retrying("list profiles", what, || api.list_metadata(&params))
            .await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect())
    }

    async fn list_service_accounts(
        &self,
        field_selector: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<ServiceAccountState>> {
        self.counter.read();
        let api: Api<ServiceAccount> = Api::all(self.client.clone());
        let mut params = ListParams::default();
        if let Some(fields) = field_selector {
            params = params.fields(fields);
        }
        if let Some(labels) = label_selector {
            params = params.labels(labels);
        }
        let what = field_selector.or(label_selector).unwrap_or("*");
        let call = || api.list_metadata(&params);
        let list = self.retrying("list service accounts", what, call).await?;
        Ok(list
            .items
            .into_iter()
            .map(|sa| ServiceAccountState {
                namespace: sa.metadata.namespace.unwrap_or_default(),
                name: sa.metadata.name.unwrap_or_default(),
                annotations: sa.metadata.annotations.unwrap_or_default(),
                labels: sa.metadata.labels.unwrap_or_default(),
            })
            .collect())
    }

    async fn apply_service_account(
        &self,
        namespace: &str,
        name: &str,
        annotations: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.counter.write();
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": annotations,
                "labels": labels,
            },
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(&body);
        let call = || api.patch(name, &params, &patch);
        self.retrying("apply service account", &resource, call)
            .await?;
        Ok(())
    }

    async fn request_token(
        &self,
        namespace: &str,
        name: &str,
        audience: &str,
    ) -> Result<SecretValue> {
        // A TokenRequest is a create call but stores nothing: it counts as a read.
        self.counter.read();
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: vec![audience.to_owned()],
                expiration_seconds: Some(600),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let params = PostParams::default();
        let call = || api.create_token_request(name, &params, &request);
        let out = self.retrying("request token for", &resource, call).await?;
        let token = out.status.map(|s| s.token).unwrap_or_default();
        Ok(SecretValue::new(token))
    }
}
