//! [`Kube`] over kube-rs, configured from KUBECONFIG or the in-cluster service account.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use tracing::debug;

use super::{ErrorKind, Kube, KubeError, Result, SecretState};
use crate::aws::{CallCounter, CallCounts};
use crate::secret::SecretValue;

/// Field manager for server-side apply.
const FIELD_MANAGER: &str = "kfp-iam";

/// A kube-rs client with call counting.
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    counter: std::sync::Arc<CallCounter>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient").finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Connects with the default configuration: KUBECONFIG, then in-cluster.
    pub async fn connect() -> Result<Self> {
        let client = kube::Client::try_default().await.map_err(|e| {
            KubeError::new("connect", "cluster", ErrorKind::Config, error_chain(&e))
        })?;
        Ok(Self { client, counter: Default::default() })
    }

    pub fn from_client(client: kube::Client) -> Self {
        Self { client, counter: Default::default() }
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
        kube::Error::HyperError(_) | kube::Error::Service(_) => ErrorKind::Transport,
        _ => ErrorKind::Other,
    };
    KubeError::new(operation, resource, kind, error_chain(&err))
}

impl Kube for KubeClient {
    fn calls(&self) -> CallCounts {
        self.counter.snapshot()
    }

    async fn namespace_exists(&self, namespace: &str) -> Result<bool> {
        self.counter.read();
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.get_opt(namespace).await {
            Ok(found) => Ok(found.is_some()),
            Err(e) => Err(classify("get namespace", namespace, e)),
        }
    }

    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<SecretState>> {
        self.counter.read();
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let resource = format!("{namespace}/{name}");
        let found = api.get_opt(name).await.map_err(|e| classify("get secret", &resource, e))?;
        Ok(found.map(|secret| {
            let data = secret.data.unwrap_or_default().into_iter().map(|(k, v)| {
                (k, SecretValue::new(String::from_utf8_lossy(&v.0).into_owned()))
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
        }))
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
        let data = data.iter().map(|(k, v)| (k.clone(), ByteString(v.expose().as_bytes().to_vec())));
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
        let mut body = serde_json::to_value(&secret)
            .map_err(|e| KubeError::new("apply secret", &resource, ErrorKind::Other, e.to_string()))?;
        body["apiVersion"] = "v1".into();
        body["kind"] = "Secret".into();
        debug!(secret = %resource, "applying secret");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| classify("apply secret", &resource, e))?;
        Ok(())
    }
}
