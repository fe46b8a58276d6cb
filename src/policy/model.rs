//! Typed IAM policy documents: parsing every AWS spelling, writing one canonical JSON form.
//!
//! Canonical form, written by [`PolicyDocument::to_json`] and relied on by
//! `parse(to_json(x)) == x`:
//! - top-level keys in the order `Version`, `Id`, `Statement`; `Statement` is always a list;
//! - statement keys in the order `Sid`, `Effect`, `Principal`/`NotPrincipal`,
//!   `Action`/`NotAction`, `Resource`/`NotResource`, `Condition`;
//! - every string-or-list value (actions, resources, principal ids, condition values) with
//!   exactly one element is written as a plain string, with any other count as a list; the model
//!   keeps a `Vec` either way, so `"a"` and `["a"]` parse to equal documents;
//! - principal kinds in the order `AWS`, `Service`, `Federated`, `CanonicalUser`;
//! - condition operators and condition keys sorted by name, condition values as strings (JSON
//!   booleans and numbers in input are kept as their text), an empty `Condition` left out.
//!
//! Order is kept where AWS keeps it (statements, actions, resources, values), so two documents
//! differing only in such order are not equal.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// The policy language version that supports policy variables.
pub const VERSION_2012_10_17: &str = "2012-10-17";

/// Condition operator -> condition key -> values (OR within a key, AND across keys).
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Why a policy document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The parser's message, with line and column.
    #[error("policy is not valid JSON: {0}")]
    Json(String),
    #[error("`{path}` must be {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("unknown field `{field}` in `{path}`")]
    UnknownField { path: String, field: String },
    #[error("`{path}` has no `{field}`")]
    MissingField { path: String, field: &'static str },
    #[error("`{path}` has both `{first}` and `{second}`")]
    ConflictingFields {
        path: String,
        first: String,
        second: String,
    },
    #[error("`{path}` is `{value}`, expected `Allow` or `Deny`")]
    InvalidEffect { path: String, value: String },
    #[error("`{path}` is `{value}`, expected `*` or an object of principal kinds")]
    InvalidPrincipal { path: String, value: String },
}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}

/// A whole IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalSpec>,
    pub action: ActionSpec,
    pub resource: Option<ResourceSpec>,
    pub condition: Conditions,
}

/// `Action` (the listed actions) or `NotAction` (every action except them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    Action(Vec<String>),
    NotAction(Vec<String>),
}

/// `Resource` (the listed resources) or `NotResource` (every resource except them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    Resource(Vec<String>),
    NotResource(Vec<String>),
}

/// `Principal` (the listed principals) or `NotPrincipal` (everyone except them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    Principal(Principal),
    NotPrincipal(Principal),
}

/// The value of a `Principal` element: `"*"` or ids grouped by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Any,
    Ids(BTreeMap<PrincipalKind, Vec<String>>),
}

/// A key of a `Principal` object; declaration order is the canonical output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    /// The JSON key AWS uses for this kind.
    pub fn key(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::Service => "Service",
            Self::Federated => "Federated",
            Self::CanonicalUser => "CanonicalUser",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [
            Self::Aws,
            Self::Service,
            Self::Federated,
            Self::CanonicalUser,
        ]
        .into_iter()
        .find(|kind| kind.key() == key)
    }
}

impl Effect {
    /// The JSON spelling, `Allow` or `Deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

impl ActionSpec {
    /// The listed action patterns, whichever element holds them.
    pub fn patterns(&self) -> &[String] {
        match self {
            Self::Action(list) | Self::NotAction(list) => list,
        }
    }
}

impl ResourceSpec {
    /// The listed resource patterns, whichever element holds them.
    pub fn patterns(&self) -> &[String] {
        match self {
            Self::Resource(list) | Self::NotResource(list) => list,
        }
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl Principal {
    /// `"*"`: every principal, anonymous ones included.
    pub fn any() -> Self {
        Self::Any
    }

    /// `{"AWS": ids}`: accounts, users, roles or sessions.
    pub fn aws<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Self::Ids(BTreeMap::new()).and(PrincipalKind::Aws, ids)
    }

    /// `{"Service": ids}`, e.g. `sagemaker.amazonaws.com`.
    pub fn service<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Self::Ids(BTreeMap::new()).and(PrincipalKind::Service, ids)
    }

    /// `{"Federated": ids}`, e.g. an OIDC provider ARN.
    pub fn federated<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Self::Ids(BTreeMap::new()).and(PrincipalKind::Federated, ids)
    }

    /// Adds ids of one kind; adding to `Any` leaves it `Any`, which already covers them.
    pub fn and<I: IntoIterator<Item = S>, S: Into<String>>(
        self,
        kind: PrincipalKind,
        ids: I,
    ) -> Self {
        match self {
            Self::Any => Self::Any,
            Self::Ids(mut map) => {
                map.entry(kind).or_default().extend(strings(ids));
                Self::Ids(map)
            }
        }
    }
}

impl Statement {
    /// An `Allow` statement on actions and resources.
    pub fn allow<A, SA, R, SR>(actions: A, resources: R) -> Self
    where
        A: IntoIterator<Item = SA>,
        SA: Into<String>,
        R: IntoIterator<Item = SR>,
        SR: Into<String>,
    {
        Self::new(Effect::Allow, actions).with_resources(resources)
    }

    /// A `Deny` statement on actions and resources.
    pub fn deny<A, SA, R, SR>(actions: A, resources: R) -> Self
    where
        A: IntoIterator<Item = SA>,
        SA: Into<String>,
        R: IntoIterator<Item = SR>,
        SR: Into<String>,
    {
        Self::new(Effect::Deny, actions).with_resources(resources)
    }

    /// An `Allow` statement for a principal with no `Resource`, as in a role trust policy.
    pub fn allow_principal<A, SA>(principal: Principal, actions: A) -> Self
    where
        A: IntoIterator<Item = SA>,
        SA: Into<String>,
    {
        Self::new(Effect::Allow, actions).with_principal(principal)
    }

    /// A statement with an effect and actions only; add the rest with the `with_` methods.
    pub fn new<A, SA>(effect: Effect, actions: A) -> Self
    where
        A: IntoIterator<Item = SA>,
        SA: Into<String>,
    {
        Self {
            sid: None,
            effect,
            principal: None,
            action: ActionSpec::Action(strings(actions)),
            resource: None,
            condition: Conditions::new(),
        }
    }

    pub fn with_sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Replaces `Action` with `NotAction` listing the same patterns.
    pub fn negate_actions(mut self) -> Self {
        self.action = ActionSpec::NotAction(self.action.patterns().to_vec());
        self
    }

    pub fn with_resources<R: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        resources: R,
    ) -> Self {
        self.resource = Some(ResourceSpec::Resource(strings(resources)));
        self
    }

    pub fn with_not_resources<R, S>(mut self, resources: R) -> Self
    where
        R: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource = Some(ResourceSpec::NotResource(strings(resources)));
        self
    }

    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(PrincipalSpec::Principal(principal));
        self
    }

    pub fn with_not_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(PrincipalSpec::NotPrincipal(principal));
        self
    }

    /// Adds values under `operator` and `key`, appending to values already there.
    pub fn with_condition<V, S>(mut self, operator: &str, key: &str, values: V) -> Self
    where
        V: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let block = self.condition.entry(operator.to_owned()).or_default();
        block
            .entry(key.to_owned())
            .or_default()
            .extend(strings(values));
        self
    }
}

impl PolicyDocument {
    /// A document with `Version` 2012-10-17, so that policy variables work.
    pub fn new(statements: Vec<Statement>) -> Self {
        Self {
            version: Some(VERSION_2012_10_17.to_owned()),
            id: None,
            statements,
        }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Reads a policy document in any spelling AWS accepts.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::from_value(&serde_json::from_str(text)?)
    }

    /// Reads a policy document from already-parsed JSON.
    pub fn from_value(value: &Value) -> Result<Self, ParseError> {
        let object = as_object(value, "policy")?;
        let mut doc = Self {
            version: None,
            id: None,
            statements: Vec::new(),
        };
        let mut has_statement = false;
        for (key, value) in object {
            match key.as_str() {
                "Version" => doc.version = Some(as_string(value, "Version")?),
                "Id" => doc.id = Some(as_string(value, "Id")?),
                "Statement" => {
                    has_statement = true;
                    doc.statements = match value {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, item)| parse_statement(item, &format!("Statement[{i}]")))
                            .collect::<Result<_, _>>()?,
                        _ => vec![parse_statement(value, "Statement")?],
                    };
                }
                _ => return Err(unknown("policy", key)),
            }
        }
        if !has_statement {
            return Err(ParseError::MissingField {
                path: "policy".into(),
                field: "Statement",
            });
        }
        Ok(doc)
    }

    /// The canonical JSON value (see the module doc).
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        if let Some(version) = &self.version {
            object.insert("Version".into(), Value::String(version.clone()));
        }
        if let Some(id) = &self.id {
            object.insert("Id".into(), Value::String(id.clone()));
        }
        let statements = self.statements.iter().map(statement_value).collect();
        object.insert("Statement".into(), Value::Array(statements));
        Value::Object(object)
    }

    /// Compact canonical JSON, what to send to AWS.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Indented canonical JSON, for people and diffs.
    pub fn to_json_pretty(&self) -> String {
        format!("{:#}", self.to_value())
    }

    /// Characters of the compact JSON that are not whitespace: the size AWS counts against
    /// policy size quotas, which ignore whitespace.
    pub fn minified_len(&self) -> usize {
        self.to_json()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    }
}

impl fmt::Display for PolicyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl FromStr for PolicyDocument {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl serde::Serialize for PolicyDocument {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for PolicyDocument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

fn unknown(path: &str, field: &str) -> ParseError {
    ParseError::UnknownField {
        path: path.to_owned(),
        field: field.to_owned(),
    }
}

fn wrong(path: &str, expected: &'static str) -> ParseError {
    ParseError::WrongType {
        path: path.to_owned(),
        expected,
    }
}

fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ParseError> {
    value.as_object().ok_or_else(|| wrong(path, "an object"))
}

fn as_string(value: &Value, path: &str) -> Result<String, ParseError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| wrong(path, "a string"))
}

fn string_list(value: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    const EXPECTED: &str = "a string or a list of strings";
    match value {
        Value::String(one) => Ok(vec![one.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| wrong(path, EXPECTED))
            })
            .collect(),
        _ => Err(wrong(path, EXPECTED)),
    }
}

/// Condition values may be JSON strings, booleans or numbers; all are kept as text.
fn condition_values(value: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    const EXPECTED: &str = "a string, boolean, number or a list of them";
    let scalar = |item: &Value| match item {
        Value::String(text) => Ok(text.clone()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(wrong(path, EXPECTED)),
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        _ => Ok(vec![scalar(value)?]),
    }
}

/// Fills a slot that two mutually exclusive fields (e.g. `Action`/`NotAction`) share.
fn fill_once<T>(
    slot: &mut Option<(String, T)>,
    key: &str,
    value: T,
    path: &str,
) -> Result<(), ParseError> {
    if let Some((first, _)) = slot {
        let (first, second) = (first.clone(), key.to_owned());
        return Err(ParseError::ConflictingFields {
            path: path.to_owned(),
            first,
            second,
        });
    }
    *slot = Some((key.to_owned(), value));
    Ok(())
}

fn parse_statement(value: &Value, path: &str) -> Result<Statement, ParseError> {
    let object = as_object(value, path)?;
    let (mut sid, mut effect, mut principal, mut action, mut resource) =
        (None, None, None, None, None);
    let mut condition = Conditions::new();
    for (key, value) in object {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "Sid" => sid = Some(as_string(value, &at)?),
            "Effect" => {
                effect = Some(match value.as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    _ => {
                        return Err(ParseError::InvalidEffect {
                            path: at,
                            value: value.to_string(),
                        });
                    }
                })
            }
            "Principal" => {
                let spec = PrincipalSpec::Principal(parse_principal(value, &at)?);
                fill_once(&mut principal, key, spec, path)?;
            }
            "NotPrincipal" => {
                let spec = PrincipalSpec::NotPrincipal(parse_principal(value, &at)?);
                fill_once(&mut principal, key, spec, path)?;
            }
            "Action" => fill_once(
                &mut action,
                key,
                ActionSpec::Action(string_list(value, &at)?),
                path,
            )?,
            "NotAction" => {
                let spec = ActionSpec::NotAction(string_list(value, &at)?);
                fill_once(&mut action, key, spec, path)?;
            }
            "Resource" => {
                let spec = ResourceSpec::Resource(string_list(value, &at)?);
                fill_once(&mut resource, key, spec, path)?;
            }
            "NotResource" => {
                let spec = ResourceSpec::NotResource(string_list(value, &at)?);
                fill_once(&mut resource, key, spec, path)?;
            }
            "Condition" => condition = parse_conditions(value, &at)?,
            _ => return Err(unknown(path, key)),
        }
    }

    let missing = |field| ParseError::MissingField {
        path: path.to_owned(),
        field,
    };
    Ok(Statement {
        sid,
        effect: effect.ok_or_else(|| missing("Effect"))?,
        principal: principal.map(|(_, spec)| spec),
        action: action
            .map(|(_, spec)| spec)
            .ok_or_else(|| missing("Action"))?,
        resource: resource.map(|(_, spec)| spec),
        condition,
    })
}

fn parse_principal(value: &Value, path: &str) -> Result<Principal, ParseError> {
    match value {
        Value::String(star) if star == "*" => Ok(Principal::Any),
        Value::Object(object) => {
            let mut ids = BTreeMap::new();
            for (key, value) in object {
                let kind = PrincipalKind::from_key(key).ok_or_else(|| unknown(path, key))?;
                ids.insert(kind, string_list(value, &format!("{path}.{key}"))?);
            }
            Ok(Principal::Ids(ids))
        }
        _ => Err(ParseError::InvalidPrincipal {
            path: path.to_owned(),
            value: value.to_string(),
        }),
    }
}

fn parse_conditions(value: &Value, path: &str) -> Result<Conditions, ParseError> {
    let mut conditions = Conditions::new();
    for (operator, block) in as_object(value, path)? {
        let at = format!("{path}.{operator}");
        let entries = as_object(block, &at)?
            .iter()
            .map(|(key, values)| {
                Ok((
                    key.clone(),
                    condition_values(values, &format!("{at}.{key}"))?,
                ))
            })
            .collect::<Result<_, ParseError>>()?;
        conditions.insert(operator.clone(), entries);
    }
    Ok(conditions)
}

fn list_value(items: &[String]) -> Value {
    match items {
        [one] => Value::String(one.clone()),
        _ => Value::Array(items.iter().cloned().map(Value::String).collect()),
    }
}

fn principal_value(principal: &Principal) -> Value {
    match principal {
        Principal::Any => Value::String("*".into()),
        Principal::Ids(ids) => Value::Object(
            ids.iter()
                .map(|(kind, list)| (kind.key().to_owned(), list_value(list)))
                .collect(),
        ),
    }
}

fn statement_value(statement: &Statement) -> Value {
    let mut object = Map::new();
    if let Some(sid) = &statement.sid {
        object.insert("Sid".into(), Value::String(sid.clone()));
    }
    object.insert(
        "Effect".into(),
        Value::String(statement.effect.as_str().into()),
    );
    match &statement.principal {
        Some(PrincipalSpec::Principal(p)) => object.insert("Principal".into(), principal_value(p)),
        Some(PrincipalSpec::NotPrincipal(p)) => {
            object.insert("NotPrincipal".into(), principal_value(p))
        }
        None => None,
    };
    match &statement.action {
        ActionSpec::Action(list) => object.insert("Action".into(), list_value(list)),
        ActionSpec::NotAction(list) => object.insert("NotAction".into(), list_value(list)),
    };
    match &statement.resource {
        Some(ResourceSpec::Resource(list)) => object.insert("Resource".into(), list_value(list)),
        Some(ResourceSpec::NotResource(list)) => {
            object.insert("NotResource".into(), list_value(list))
        }
        None => None,
    };
    if !statement.condition.is_empty() {
        let operators = statement.condition.iter().map(|(operator, block)| {
            let entries = block
                .iter()
                .map(|(key, values)| (key.clone(), list_value(values)));
            (operator.clone(), Value::Object(entries.collect()))
        });
        object.insert("Condition".into(), Value::Object(operators.collect()));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAGEMAKER: &str = include_str!("testdata/AmazonSageMakerFullAccess.json");
    const S3: &str = include_str!("testdata/AmazonS3FullAccess.json");

    #[test]
    fn single_statement_object_parses_like_a_list() {
        let single = r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
        let list = r#"{"Statement": [{"Resource": ["*"], "Action": ["s3:*"], "Effect": "Allow"}]}"#;
        assert_eq!(
            PolicyDocument::parse(single).unwrap(),
            PolicyDocument::parse(list).unwrap()
        );
    }

    #[test]
    fn canonical_json_orders_keys_and_unwraps_single_values() {
        let text = r#"{"Statement": {
            "Condition": {"StringEquals": {"k": ["v"]}, "Bool": {"b": true}},
            "Resource": ["r1", "r2"], "Action": ["a"], "Effect": "Deny", "Sid": "S"},
            "Id": "I", "Version": "2012-10-17"}"#;
        let doc = PolicyDocument::parse(text).unwrap();
        assert_eq!(
            doc.to_json(),
            r#"{"Version":"2012-10-17","Id":"I","Statement":[{"Sid":"S","Effect":"Deny","#
                .to_owned()
                + r#""Action":"a","Resource":["r1","r2"],"Condition":{"Bool":{"b":"true"},"#
                + r#""StringEquals":{"k":"v"}}}]}"#
        );
    }

    #[test]
    fn principal_kinds_serialize_in_fixed_order() {
        let text = r#"{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Federated": "f", "Service": ["s1", "s2"], "AWS": "a"}}]}"#;
        let json = PolicyDocument::parse(text).unwrap().to_json();
        assert!(json.contains(r#""Principal":{"AWS":"a","Service":["s1","s2"],"Federated":"f"}"#));
    }

    #[test]
    fn numeric_and_boolean_condition_values_are_kept_as_text() {
        let text = r#"{"Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
            "Condition": {"NumericLessThan": {"s3:max-keys": [10, 2.5]}, "Bool": {"x": false}}}}"#;
        let doc = PolicyDocument::parse(text).unwrap();
        let condition = &doc.statements[0].condition;
        assert_eq!(condition["NumericLessThan"]["s3:max-keys"], ["10", "2.5"]);
        assert_eq!(condition["Bool"]["x"], ["false"]);
    }

    #[test]
    fn unknown_statement_key_is_an_error_naming_it() {
        let text = r#"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resorce": "*"}]}"#;
        let err = PolicyDocument::parse(text).unwrap_err();
        assert_eq!(err.to_string(), "unknown field `Resorce` in `Statement[0]`");
    }

    #[test]
    fn unknown_top_level_key_is_an_error_naming_it() {
        let err = PolicyDocument::parse(r#"{"Statement": [], "version": "x"}"#).unwrap_err();
        assert_eq!(err.to_string(), "unknown field `version` in `policy`");
    }

    #[test]
    fn keys_are_case_sensitive_like_aws() {
        let text = r#"{"Statement": [{"effect": "Allow", "Action": "s3:*"}]}"#;
        assert!(matches!(
            PolicyDocument::parse(text),
            Err(ParseError::UnknownField { .. })
        ));
    }

    #[test]
    fn action_and_not_action_together_are_rejected() {
        let text = r#"{"Statement": [{"Effect": "Allow", "Action": "a", "NotAction": "b"}]}"#;
        let err = PolicyDocument::parse(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Statement[0]` has both `Action` and `NotAction`"
        );
    }

    #[test]
    fn missing_statement_effect_or_action_is_rejected() {
        let no_effect = r#"{"Statement": [{"Action": "a"}]}"#;
        let no_action = r#"{"Statement": [{"Effect": "Deny"}]}"#;
        assert_eq!(
            PolicyDocument::parse(no_effect).unwrap_err().to_string(),
            "`Statement[0]` has no `Effect`"
        );
        assert!(matches!(
            PolicyDocument::parse(no_action),
            Err(ParseError::MissingField {
                field: "Action",
                ..
            })
        ));
        assert!(matches!(
            PolicyDocument::parse(r#"{"Version": "2012-10-17"}"#),
            Err(ParseError::MissingField {
                field: "Statement",
                ..
            })
        ));
    }

    #[test]
    fn bad_effect_and_principal_values_are_rejected() {
        let effect = r#"{"Statement": [{"Effect": "allow", "Action": "a"}]}"#;
        assert!(matches!(
            PolicyDocument::parse(effect),
            Err(ParseError::InvalidEffect { .. })
        ));
        let principal = r#"{"Statement": [{"Effect": "Allow", "Action": "a", "Principal": "x"}]}"#;
        assert!(matches!(
            PolicyDocument::parse(principal),
            Err(ParseError::InvalidPrincipal { .. })
        ));
        let kind =
            r#"{"Statement": [{"Effect": "Allow", "Action": "a", "Principal": {"Aws": "1"}}]}"#;
        assert_eq!(
            PolicyDocument::parse(kind).unwrap_err().to_string(),
            "unknown field `Aws` in `Statement[0].Principal`"
        );
    }

    #[test]
    fn wrong_value_types_are_rejected() {
        let action = r#"{"Statement": [{"Effect": "Allow", "Action": 3}]}"#;
        assert_eq!(
            PolicyDocument::parse(action).unwrap_err().to_string(),
            "`Statement[0].Action` must be a string or a list of strings"
        );
        let condition = r#"{"Statement": [{"Effect": "Allow", "Action": "a",
            "Condition": {"Null": {"k": null}}}]}"#;
        assert!(matches!(
            PolicyDocument::parse(condition),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            PolicyDocument::parse("[1]"),
            Err(ParseError::WrongType { .. })
        ));
        assert!(matches!(
            PolicyDocument::parse("{"),
            Err(ParseError::Json(_))
        ));
        let trailing = PolicyDocument::parse("{\"Statement\": [],\n}").unwrap_err();
        assert!(trailing.to_string().contains("line 2"), "{trailing}");
    }

    #[test]
    fn builder_produces_the_same_document_as_parsing() {
        let built = PolicyDocument::new(vec![
            Statement::allow(["sagemaker:CreateTrainingJob"], ["*"]).with_sid("Train"),
            Statement::allow(["iam:PassRole"], ["arn:aws:iam::111122223333:role/sm"])
                .with_condition(
                    "StringEquals",
                    "iam:PassedToService",
                    ["sagemaker.amazonaws.com"],
                ),
        ]);
        let text = r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Train", "Effect": "Allow", "Action": "sagemaker:CreateTrainingJob",
             "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:PassRole",
             "Resource": "arn:aws:iam::111122223333:role/sm",
             "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}]}"#;
        assert_eq!(built, PolicyDocument::parse(text).unwrap());
    }

    #[test]
    fn trust_policy_builder_has_principal_and_no_resource() {
        let oidc = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB";
        let doc = PolicyDocument::new(vec![
            Statement::allow_principal(
                Principal::federated([oidc]),
                ["sts:AssumeRoleWithWebIdentity"],
            )
            .with_condition(
                "StringEquals",
                "k:sub",
                ["system:serviceaccount:kubeflow:runner"],
            ),
        ]);
        let json = doc.to_json();
        assert!(json.contains(r#""Principal":{"Federated":"arn:aws:iam::111122223333:oidc"#));
        assert!(!json.contains("Resource"));
        assert_eq!(PolicyDocument::parse(&json).unwrap(), doc);
    }

    #[test]
    fn principal_and_adds_ids_but_any_stays_any() {
        let p = Principal::aws(["1"])
            .and(PrincipalKind::Aws, ["2"])
            .and(PrincipalKind::Service, ["s"]);
        let Principal::Ids(ids) = &p else {
            panic!("expected ids")
        };
        assert_eq!(ids[&PrincipalKind::Aws], ["1", "2"]);
        assert_eq!(
            Principal::any().and(PrincipalKind::Aws, ["1"]),
            Principal::Any
        );
    }

    #[test]
    fn with_condition_appends_to_an_existing_key() {
        let st = Statement::allow(["a"], ["*"])
            .with_condition("StringLike", "k", ["x"])
            .with_condition("StringLike", "k", ["y"]);
        assert_eq!(st.condition["StringLike"]["k"], ["x", "y"]);
    }

    #[test]
    fn minified_len_ignores_whitespace_inside_strings_too() {
        let doc = PolicyDocument::new(vec![Statement::allow(["a"], ["*"]).with_sid("x")]);
        assert_eq!(doc.minified_len(), doc.to_json().len());
        let spaced = PolicyDocument::new(vec![Statement::allow(["a"], ["*"]).with_condition(
            "StringEquals",
            "k",
            ["a b"],
        )]);
        assert_eq!(spaced.minified_len(), spaced.to_json().len() - 1);
    }

    #[test]
    fn managed_policies_round_trip() {
        for text in [SAGEMAKER, S3] {
            let doc = PolicyDocument::parse(text).unwrap();
            assert_eq!(PolicyDocument::parse(&doc.to_json()).unwrap(), doc);
            assert_eq!(PolicyDocument::parse(&doc.to_json_pretty()).unwrap(), doc);
            assert!(doc.minified_len() < text.len());
        }
    }

    #[test]
    fn serde_traits_use_the_canonical_form() {
        let doc: PolicyDocument = serde_json::from_str(S3).unwrap();
        assert_eq!(serde_json::to_string(&doc).unwrap(), doc.to_json());
        assert_eq!(doc.to_string().parse::<PolicyDocument>().unwrap(), doc);
        let bad = serde_json::from_str::<PolicyDocument>(r#"{"Statement": 1}"#);
        assert!(bad.is_err());
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9:*?/$_{} -]{0,12}",
            any::<String>(),
            Just(String::new()),
        ]
    }

    fn texts() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(text(), 0..4)
    }

    fn principal() -> impl Strategy<Value = Principal> {
        let kind = prop_oneof![
            Just(PrincipalKind::Aws),
            Just(PrincipalKind::Service),
            Just(PrincipalKind::Federated),
            Just(PrincipalKind::CanonicalUser),
        ];
        prop_oneof![
            Just(Principal::Any),
            prop::collection::btree_map(kind, texts(), 0..4).prop_map(Principal::Ids),
        ]
    }

    prop_compose! {
        fn statement()(
            sid in prop::option::of(text()),
            deny in any::<bool>(),
            principal in prop::option::of((any::<bool>(), principal())),
            action in (any::<bool>(), texts()),
            resource in prop::option::of((any::<bool>(), texts())),
            condition in prop::collection::btree_map(
                text(), prop::collection::btree_map(text(), texts(), 0..3), 0..3),
        ) -> Statement {
            Statement {
                sid,
                effect: if deny { Effect::Deny } else { Effect::Allow },
                principal: principal.map(|(not, p)| {
                    if not { PrincipalSpec::NotPrincipal(p) } else { PrincipalSpec::Principal(p) }
                }),
                action: if action.0 {
                    ActionSpec::NotAction(action.1)
                } else {
                    ActionSpec::Action(action.1)
                },
                resource: resource.map(|(not, list)| {
                    if not { ResourceSpec::NotResource(list) } else { ResourceSpec::Resource(list) }
                }),
                condition,
            }
        }
    }

    prop_compose! {
        fn document()(
            version in prop::option::of(prop_oneof![Just(VERSION_2012_10_17.to_owned()), text()]),
            id in prop::option::of(text()),
            statements in prop::collection::vec(statement(), 0..4),
        ) -> PolicyDocument {
            PolicyDocument { version, id, statements }
        }
    }

    /// Reverses the key order of every object, a spelling AWS accepts as the same policy.
    fn reverse_keys(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reverse_keys(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(reverse_keys).collect()),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn parse_of_canonical_json_is_identity(doc in document()) {
            prop_assert_eq!(PolicyDocument::parse(&doc.to_json()).unwrap(), doc.clone());
            prop_assert_eq!(PolicyDocument::parse(&doc.to_json_pretty()).unwrap(), doc);
        }

        #[test]
        fn canonical_json_is_a_fixed_point(doc in document()) {
            let once = doc.to_json();
            prop_assert_eq!(PolicyDocument::parse(&once).unwrap().to_json(), once);
        }

        #[test]
        fn key_order_does_not_change_the_document(doc in document()) {
            let reversed = reverse_keys(&doc.to_value());
            prop_assert_eq!(PolicyDocument::from_value(&reversed).unwrap(), doc);
        }

        #[test]
        fn minified_len_never_exceeds_compact_length(doc in document()) {
            prop_assert!(doc.minified_len() <= doc.to_json().chars().count());
        }
    }
}
