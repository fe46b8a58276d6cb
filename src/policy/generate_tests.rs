//! Evaluation tests of the generated policies: what they allow and what they do not.

use super::*;
use crate::policy::{NamedPolicy, PolicySet, Request, evaluate};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-west-2";
const ROLE: &str = "arn:aws:iam::111122223333:role/sagemaker-kfp-role";

fn scope(components: &[Component]) -> Scope {
    Scope {
        partition: "aws".into(),
        account: ACCOUNT.into(),
        region: REGION.into(),
        execution_role_arn: ROLE.into(),
        components: components.to_vec(),
        buckets: vec!["kfp-data".into(), "kfp-artifacts".into()],
        endpoint_prefixes: Vec::new(),
    }
}

fn full_scope() -> Scope {
    scope(&Component::ALL)
}

fn allows(doc: &PolicyDocument, request: &Request) -> bool {
    let policies = PolicySet {
        identity: vec![NamedPolicy::new("generated", doc.clone())],
        ..PolicySet::default()
    };
    evaluate(&policies, request).unwrap().is_allowed()
}

fn allows_on(doc: &PolicyDocument, action: &str, resource: &str) -> bool {
    allows(doc, &Request::new(action, resource))
}

/// An ARN of the resource type in the scope's account and region, with sample names.
fn sample_arn(service: &Service, resource_type: &str, scope: &Scope) -> String {
    let format = service.arn_format(resource_type).unwrap();
    let name = match scope.endpoint_prefixes.first() {
        Some(prefix) if resource_type == "endpoint" => format!("{prefix}-sample"),
        _ => "kfp-sample".to_owned(),
    };
    let filled = fill_arn(format, scope);
    filled.replace('*', &name.to_lowercase())
}

/// Every (action, resource) request a component makes, one per resource type it names.
fn requests_of(component: Component, scope: &Scope) -> Vec<(String, String)> {
    let data = catalog::component(component.key()).unwrap();
    let mut requests = Vec::new();
    for name in data.actions.keys() {
        let (service, action) = catalog::lookup(name).unwrap();
        let types = granted_types(service, action, &data.resource_types);
        if types.is_empty() {
            requests.push((name.clone(), "*".to_owned()));
        }
        for t in types {
            requests.push((name.clone(), sample_arn(service, t, scope)));
        }
    }
    requests
}

#[test]
fn component_keys_match_the_component_map() {
    let keys: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
    let mut mapped: Vec<&str> = catalog::component_keys().collect();
    mapped.sort_by_key(|k| keys.iter().position(|x| x == k));
    assert_eq!(keys, mapped);
}

#[test]
fn component_serde_and_from_str_use_the_kebab_case_keys() {
    for component in Component::ALL {
        let json = serde_json::to_string(&component).unwrap();
        assert_eq!(json, format!("\"{}\"", component.key()));
        assert_eq!(serde_json::from_str::<Component>(&json).unwrap(), component);
        assert_eq!(component.key().parse::<Component>().unwrap(), component);
        assert_eq!(component.to_string(), component.key());
    }
    let err = "Training".parse::<Component>().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown component `Training`, expected one of")
    );
}

#[test]
fn pipeline_policy_allows_every_action_of_each_chosen_component() {
    for component in Component::ALL {
        let scope = scope(&[component]);
        let doc = pipeline_policy(&scope);
        let requests = requests_of(component, &scope);
        assert!(!requests.is_empty());
        for (action, resource) in requests {
            assert!(
                allows_on(&doc, &action, &resource),
                "{component}: {action} on {resource}"
            );
        }
    }
}

#[test]
fn pipeline_policy_with_every_component_allows_all_their_actions() {
    let scope = full_scope();
    let doc = pipeline_policy(&scope);
    for component in Component::ALL {
        for (action, resource) in requests_of(component, &scope) {
            assert!(
                allows_on(&doc, &action, &resource),
                "{action} on {resource}"
            );
        }
    }
}

#[test]
fn pipeline_policy_denies_actions_of_components_not_chosen() {
    for chosen in Component::ALL {
        let scope = scope(&[chosen]);
        let doc = pipeline_policy(&scope);
        let own = requests_of(chosen, &scope);
        for other in Component::ALL {
            for request in requests_of(other, &scope) {
                if own.contains(&request) {
                    continue;
                }
                let (action, resource) = request;
                assert!(
                    !allows_on(&doc, &action, &resource),
                    "{chosen} allows {other}'s {action} on {resource}"
                );
            }
        }
    }
}

#[test]
fn pipeline_policy_does_not_tag_resources_of_other_types() {
    let doc = pipeline_policy(&scope(&[Component::Training]));
    let training_job = format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/x");
    let algorithm = format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:algorithm/x");
    assert!(allows_on(&doc, "sagemaker:AddTags", &training_job));
    assert!(!allows_on(&doc, "sagemaker:AddTags", &algorithm));
    assert!(allows_on(&doc, "sagemaker:DescribeAlgorithm", &algorithm));
}

#[test]
fn pipeline_policy_stays_in_its_account_and_region() {
    let doc = pipeline_policy(&full_scope());
    let other_region = format!("arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/x");
    let other_account = format!("arn:aws:sagemaker:{REGION}:444455556666:training-job/x");
    assert!(!allows_on(
        &doc,
        "sagemaker:CreateTrainingJob",
        &other_region
    ));
    assert!(!allows_on(
        &doc,
        "sagemaker:CreateTrainingJob",
        &other_account
    ));
    assert!(!allows_on(&doc, "sagemaker:CreateTrainingJob", "*"));
}

#[test]
fn pipeline_policy_passes_only_the_execution_role_and_only_to_sagemaker() {
    let doc = pipeline_policy(&scope(&[Component::Training]));
    let pass = |role: &str, service: Option<&str>| {
        let mut request = Request::new("iam:PassRole", role);
        if let Some(service) = service {
            request = request.with_context("iam:PassedToService", service);
        }
        allows(&doc, &request)
    };
    assert!(pass(ROLE, Some("sagemaker.amazonaws.com")));
    assert!(!pass(ROLE, Some("ec2.amazonaws.com")));
    assert!(!pass(ROLE, Some("robomaker.amazonaws.com")));
    assert!(!pass(ROLE, None));
    let other = "arn:aws:iam::111122223333:role/admin";
    assert!(!pass(other, Some("sagemaker.amazonaws.com")));
}

#[test]
fn pipeline_policy_passes_the_role_to_robomaker_only_with_robomaker() {
    let with = pipeline_policy(&scope(&[Component::RoboMaker]));
    let request = Request::new("iam:PassRole", ROLE)
        .with_context("iam:PassedToService", "robomaker.amazonaws.com");
    assert!(allows(&with, &request));
    let sids: Vec<_> = with
        .statements
        .iter()
        .filter_map(|s| s.sid.as_deref())
        .collect();
    assert!(sids.contains(&"KfpIamPassRoleToRoboMaker"));
    assert!(!sids.contains(&"KfpIamPassRoleToSageMaker"));
}

#[test]
fn components_that_pass_no_role_get_no_pass_role() {
    let doc = pipeline_policy(&scope(&[Component::Deploy, Component::BatchTransform]));
    let request = Request::new("iam:PassRole", ROLE)
        .with_context("iam:PassedToService", "sagemaker.amazonaws.com");
    assert!(!allows(&doc, &request));
}

#[test]
fn pipeline_policy_denies_iam_administration() {
    let doc = pipeline_policy(&full_scope());
    let user = format!("arn:aws:iam::{ACCOUNT}:user/x");
    assert!(!allows_on(&doc, "iam:CreateUser", &user));
    assert!(!allows_on(&doc, "iam:AttachRolePolicy", ROLE));
    assert!(!allows_on(&doc, "ec2:RunInstances", "*"));
}

#[test]
fn pipeline_policy_reaches_only_the_listed_buckets() {
    let doc = pipeline_policy(&scope(&[Component::Training]));
    assert!(allows_on(
        &doc,
        "s3:GetObject",
        "arn:aws:s3:::kfp-data/in/x.csv"
    ));
    assert!(allows_on(
        &doc,
        "s3:PutObject",
        "arn:aws:s3:::kfp-artifacts/model.tar.gz"
    ));
    assert!(allows_on(&doc, "s3:ListBucket", "arn:aws:s3:::kfp-data"));
    assert!(!allows_on(
        &doc,
        "s3:GetObject",
        "arn:aws:s3:::other-bucket/x"
    ));
    assert!(!allows_on(
        &doc,
        "s3:GetObject",
        "arn:aws:s3:::kfp-data-copy/x"
    ));
    assert!(!allows_on(
        &doc,
        "s3:ListBucket",
        "arn:aws:s3:::other-bucket"
    ));
    assert!(!allows_on(&doc, "s3:DeleteBucket", "arn:aws:s3:::kfp-data"));
}

#[test]
fn pipeline_policy_reads_job_logs_only() {
    let doc = pipeline_policy(&scope(&[Component::Training]));
    let group = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs");
    let stream = format!("{group}:log-stream:job/algo-1");
    assert!(allows_on(&doc, "logs:DescribeLogStreams", &group));
    assert!(allows_on(&doc, "logs:GetLogEvents", &stream));
    assert!(!allows_on(&doc, "logs:PutLogEvents", &stream));
    let other = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/secrets:log-stream:x");
    assert!(!allows_on(&doc, "logs:GetLogEvents", &other));
}

#[test]
fn endpoint_prefixes_limit_deploy_and_are_lowercased() {
    let mut scope = scope(&[Component::Deploy]);
    scope.endpoint_prefixes = vec!["KFP-".into()];
    let doc = pipeline_policy(&scope);
    let endpoint = |name: &str| format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}");
    assert!(allows_on(
        &doc,
        "sagemaker:CreateEndpoint",
        &endpoint("kfp-mnist")
    ));
    assert!(!allows_on(
        &doc,
        "sagemaker:CreateEndpoint",
        &endpoint("prod-api")
    ));
    assert!(!allows_on(
        &doc,
        "sagemaker:UpdateEndpoint",
        &endpoint("prod-api")
    ));
    for (action, resource) in requests_of(Component::Deploy, &scope) {
        assert!(
            allows_on(&doc, &action, &resource),
            "{action} on {resource}"
        );
    }
}

#[test]
fn node_policy_invokes_endpoints_of_this_account_and_region_only() {
    let doc = node_role_policy(&full_scope());
    let here = format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/any");
    let there = format!("arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/any");
    let elsewhere = format!("arn:aws:sagemaker:{REGION}:444455556666:endpoint/any");
    assert!(allows_on(&doc, "sagemaker:InvokeEndpoint", &here));
    assert!(!allows_on(&doc, "sagemaker:InvokeEndpoint", &there));
    assert!(!allows_on(&doc, "sagemaker:InvokeEndpoint", &elsewhere));
    assert!(!allows_on(&doc, "sagemaker:CreateEndpoint", &here));
    assert_eq!(
        doc.statements[0].sid.as_deref(),
        Some("KfpIamInvokeEndpoint")
    );
}

#[test]
fn node_policy_honours_endpoint_prefixes() {
    let mut scope = full_scope();
    scope.endpoint_prefixes = vec!["kfp-".into(), "demo".into()];
    let doc = node_role_policy(&scope);
    let endpoint = |name: &str| format!("arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}");
    assert!(allows_on(
        &doc,
        "sagemaker:InvokeEndpoint",
        &endpoint("kfp-mnist")
    ));
    assert!(allows_on(
        &doc,
        "sagemaker:InvokeEndpoint",
        &endpoint("demo1")
    ));
    assert!(!allows_on(
        &doc,
        "sagemaker:InvokeEndpoint",
        &endpoint("prod")
    ));
}

#[test]
fn execution_role_policy_covers_what_jobs_need() {
    let doc = execution_role_policy(&full_scope());
    let repo = format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/kmeans");
    let stream = format!(
        "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:j/a"
    );
    assert!(allows_on(&doc, "ecr:GetAuthorizationToken", "*"));
    assert!(allows_on(&doc, "ecr:BatchGetImage", &repo));
    assert!(allows_on(&doc, "ecr:GetDownloadUrlForLayer", &repo));
    assert!(allows_on(&doc, "logs:PutLogEvents", &stream));
    assert!(allows_on(&doc, "logs:CreateLogStream", &stream));
    assert!(allows_on(&doc, "s3:GetObject", "arn:aws:s3:::kfp-data/x"));
    assert!(!allows_on(&doc, "s3:GetObject", "arn:aws:s3:::other/x"));
    assert!(!allows_on(&doc, "ecr:PutImage", &repo));
    let other_repo = "arn:aws:ecr:eu-west-1:111122223333:repository/kmeans";
    assert!(!allows_on(&doc, "ecr:BatchGetImage", other_repo));
}

#[test]
fn execution_role_puts_metrics_only_in_sagemaker_namespaces() {
    let doc = execution_role_policy(&full_scope());
    let metric = |namespace: &str| {
        Request::new("cloudwatch:PutMetricData", "*")
            .with_context("cloudwatch:namespace", namespace)
    };
    assert!(allows(&doc, &metric("/aws/sagemaker/TrainingJobs")));
    assert!(!allows(&doc, &metric("AWS/EC2")));
    assert!(!allows(
        &doc,
        &Request::new("cloudwatch:PutMetricData", "*")
    ));
}

#[test]
fn vpc_statements_allow_network_interfaces_in_this_account() {
    let scope = full_scope();
    let doc = PolicyDocument::new(execution_role_vpc_statements(&scope));
    let eni = format!("arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/eni-1");
    assert!(allows_on(&doc, "ec2:CreateNetworkInterface", &eni));
    assert!(allows_on(&doc, "ec2:DescribeSubnets", "*"));
    assert!(!allows_on(&doc, "ec2:RunInstances", "*"));
    let elsewhere = "arn:aws:ec2:us-west-2:444455556666:network-interface/eni-1";
    assert!(!allows_on(&doc, "ec2:DeleteNetworkInterface", elsewhere));
}

#[test]
fn same_scope_in_any_order_gives_the_same_json() {
    let scope = full_scope();
    let mut shuffled = scope.clone();
    shuffled.components.reverse();
    shuffled.components.push(Component::Training);
    shuffled.buckets.reverse();
    for generate in [pipeline_policy, execution_role_policy, node_role_policy] {
        assert_eq!(generate(&scope).to_json(), generate(&scope).to_json());
        assert_eq!(generate(&scope).to_json(), generate(&shuffled).to_json());
    }
}

#[test]
fn every_statement_has_a_unique_alphanumeric_sid() {
    let scope = full_scope();
    let mut docs = vec![
        pipeline_policy(&scope),
        execution_role_policy(&scope),
        node_role_policy(&scope),
    ];
    docs.push(PolicyDocument::new(execution_role_vpc_statements(&scope)));
    for doc in docs {
        let sids: Vec<&str> = doc
            .statements
            .iter()
            .map(|s| s.sid.as_deref().unwrap())
            .collect();
        let unique: BTreeSet<&str> = sids.iter().copied().collect();
        assert_eq!(unique.len(), sids.len(), "{sids:?}");
        for sid in sids {
            assert!(sid.starts_with("KfpIam"), "{sid}");
            assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()), "{sid}");
        }
    }
}

#[test]
fn statement_sids_name_the_resource_kind() {
    let doc = pipeline_policy(&full_scope());
    let sids: Vec<&str> = doc
        .statements
        .iter()
        .filter_map(|s| s.sid.as_deref())
        .collect();
    for sid in [
        "KfpIamSageMakerTrainingJob",
        "KfpIamSageMakerHyperParameterTuningJob",
        "KfpIamSageMakerEndpointConfig",
        "KfpIamRoboMakerSimulationJob",
        "KfpIamRoboMakerAnyResource",
        "KfpIamReadJobLogs",
        "KfpIamPassRoleToSageMaker",
        "KfpIamS3Objects",
    ] {
        assert!(sids.contains(&sid), "{sid} not in {sids:?}");
    }
}

#[test]
fn no_components_and_no_buckets_give_an_empty_pipeline_policy() {
    let mut scope = scope(&[]);
    scope.buckets.clear();
    assert!(pipeline_policy(&scope).statements.is_empty());
    assert!(s3_statements(&scope).is_empty());
}

#[test]
fn fill_arn_replaces_scope_placeholders_and_wildcards_names() {
    let scope = full_scope();
    let format = "arn:${Partition}:robomaker:${Region}:${Account}:simulation-application/${A}/${B}";
    assert_eq!(
        fill_arn(format, &scope),
        "arn:aws:robomaker:us-west-2:111122223333:simulation-application/*/*"
    );
    assert_eq!(
        fill_arn("arn:${Partition}:s3:::${BucketName}", &scope),
        "arn:aws:s3:::*"
    );
    assert_eq!(fill_arn("broken ${Partition", &scope), "broken ${Partition");
}

#[test]
fn helpers_build_sid_words_and_log_group_prefixes() {
    assert_eq!(
        camel("hyper-parameter-tuning-job"),
        "HyperParameterTuningJob"
    );
    assert_eq!(camel("simulationJob"), "SimulationJob");
    assert_eq!(
        log_group_prefix("/aws/sagemaker/TrainingJobs"),
        "/aws/sagemaker/*"
    );
    assert_eq!(
        log_group_prefix("/aws/robomaker/SimulationJobs"),
        "/aws/robomaker/*"
    );
}
