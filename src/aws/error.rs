//! Failures of AWS calls, classified by what the caller can do about them.

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

/// What kind of failure an AWS call met; decides retrying and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The entity does not exist.
    NotFound,
    /// The entity already exists (a concurrent writer, or a stale read).
    AlreadyExists,
    /// The caller's identity lacks permission.
    AccessDenied,
    /// A quota was reached (two access keys per user, policies per role).
    LimitExceeded,
    /// The request was refused as malformed.
    Invalid,
    /// The service asked to slow down; retrying later succeeds.
    Throttled,
    /// The service failed (5xx); the call may have been applied.
    ServerError,
    /// The request did not complete (connection, timeout); the call may have been applied.
    Transport,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether the same call may succeed when retried.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::ServerError | Self::Transport)
    }
}

/// A failed AWS call, naming the operation and the resource it was for.
#[derive(Debug, thiserror::Error)]
#[error("{operation} `{resource}` failed: {detail}{}", hint(*.kind, operation))]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    pub kind: ErrorKind,
    /// The service's error code, when it sent one.
    pub code: Option<String>,
    detail: String,
}

impl AwsError {
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
            code: None,
            detail: detail.into(),
        }
    }

    /// Classifies an SDK error; the service's code and message become the detail.
    pub fn from_sdk<E>(
        operation: &'static str,
        resource: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| Some(r.status().as_u16()));
        match &err {
            SdkError::ServiceError(ctx) => {
                let code = ctx.err().code().map(str::to_owned);
                let message = match (ctx.err().message(), status.flatten()) {
                    (Some(message), _) => message.to_owned(),
                    (None, Some(status)) => format!("HTTP {status} without an error message"),
                    (None, None) => "no error message".to_owned(),
                };
                let kind = kind_of(code.as_deref(), status.flatten());
                let detail = match &code {
                    Some(code) => format!("{code}: {message}"),
                    None => message,
                };
                Self {
                    operation,
                    resource: resource.into(),
                    kind,
                    code,
                    detail,
                }
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                let detail = aws_smithy_types::error::display::DisplayErrorContext(&err);
                Self::new(
                    operation,
                    resource,
                    ErrorKind::Transport,
                    detail.to_string(),
                )
            }
            _ => {
                let detail = aws_smithy_types::error::display::DisplayErrorContext(&err);
                let kind = match status.flatten() {
                    Some(s) if s >= 500 => ErrorKind::ServerError,
                    Some(429) => ErrorKind::Throttled,
                    _ => ErrorKind::Other,
                };
                Self::new(operation, resource, kind, detail.to_string())
            }
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code.unwrap_or_default() {
        "NoSuchEntity" | "NoSuchEntityException" | "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
        "EntityAlreadyExists" | "ResourceInUseException" => ErrorKind::AlreadyExists,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken" => ErrorKind::AccessDenied,
        "LimitExceeded" | "LimitExceededException" => ErrorKind::LimitExceeded,
        "MalformedPolicyDocument"
        | "InvalidInput"
        | "ValidationError"
        | "InvalidParameterException" => ErrorKind::Invalid,
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => ErrorKind::Throttled,
        "ServiceFailure" | "InternalFailure" | "ServiceUnavailable" => ErrorKind::ServerError,
        _ => match status {
            Some(429) => ErrorKind::Throttled,
            Some(s) if s >= 500 => ErrorKind::ServerError,
            Some(404) => ErrorKind::NotFound,
            Some(403) => ErrorKind::AccessDenied,
            _ => ErrorKind::Other,
        },
    }
}

fn hint(kind: ErrorKind, operation: &str) -> String {
    match kind {
        ErrorKind::AccessDenied => format!(
            " (the AWS identity in use may not call `{operation}`; check it with \
             `aws sts get-caller-identity` and grant the permission)"
        ),
        ErrorKind::Throttled | ErrorKind::ServerError | ErrorKind::Transport => {
            " (a transient failure; run the command again to resume)".into()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable_but_not_found_is_not() {
        assert!(kind_of(Some("Throttling"), Some(400)).is_retryable());
        assert!(kind_of(Some("ServiceFailure"), Some(500)).is_retryable());
        assert!(kind_of(None, Some(503)).is_retryable());
        assert!(!kind_of(Some("NoSuchEntity"), Some(404)).is_retryable());
        assert!(!kind_of(Some("AccessDenied"), Some(403)).is_retryable());
    }

    #[test]
    fn access_denied_message_names_the_operation_to_grant() {
        let err = AwsError::new(
            "iam:CreateUser",
            "u",
            ErrorKind::AccessDenied,
            "AccessDenied: no",
        );
        let text = err.to_string();
        assert!(text.contains("`iam:CreateUser`"), "{text}");
        assert!(
            text.starts_with("iam:CreateUser `u` failed: AccessDenied: no"),
            "{text}"
        );
    }
}
