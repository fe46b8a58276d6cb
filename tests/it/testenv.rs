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
    let managed = iam.get_policy()
        .policy_arn("arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        .send().await;
    assert!(managed.is_ok(), "AWS managed policies must be loaded: {managed:?}");
}
