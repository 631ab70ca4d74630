//! Cognito's error answer: `{"__type", "message"}` with `x-amzn-errortype`, 400, and 500 for
//! `InternalErrorException`; or moto's own refusal, passed back as moto gave it.

use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::CONTENT_TYPE;

/// The error types this layer answers with, as Cognito names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorType {
    CodeMismatch,
    EnableSoftwareTokenMfa,
    ExpiredCode,
    InternalError,
    InvalidParameter,
    LimitExceeded,
    NotAuthorized,
    /// A refresh token rotated out longer ago than its client's grace.
    RefreshTokenReuse,
    ResourceNotFound,
    Serialization,
    Unauthorized,
    UserNotFound,
    /// A type moto's admin API reported (`InvalidPasswordException`, …), passed on.
    Reported(String),
}

impl ErrorType {
    /// The `__type`.
    pub fn name(&self) -> &str {
        match self {
            ErrorType::CodeMismatch => "CodeMismatchException",
            ErrorType::EnableSoftwareTokenMfa => "EnableSoftwareTokenMFAException",
            ErrorType::ExpiredCode => "ExpiredCodeException",
            ErrorType::InternalError => "InternalErrorException",
            ErrorType::InvalidParameter => "InvalidParameterException",
            ErrorType::LimitExceeded => "LimitExceededException",
            ErrorType::NotAuthorized => "NotAuthorizedException",
            ErrorType::RefreshTokenReuse => "RefreshTokenReuseException",
            ErrorType::ResourceNotFound => "ResourceNotFoundException",
            ErrorType::Serialization => "SerializationException",
            ErrorType::Unauthorized => "UnauthorizedException",
            ErrorType::UserNotFound => "UserNotFoundException",
            ErrorType::Reported(name) => name,
        }
    }
}

/// Why a call failed: an answer of this layer's, or moto's refusal.
#[derive(Debug)]
pub enum Error {
    /// Cognito's error type and message.
    Cognito { kind: ErrorType, message: String },
    /// moto refused a call passed on to it: its answer, status, headers and body as they came.
    Moto(Box<Response>),
}

impl Error {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Error::Cognito {
            kind,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InternalError, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidParameter, message)
    }

    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(ErrorType::NotAuthorized, message)
    }

    /// A wrong code, as Cognito answers it.
    pub fn code_mismatch() -> Self {
        Self::new(
            ErrorType::CodeMismatch,
            "Invalid verification code provided, please try again.",
        )
    }

    /// A challenge session that is not (or no longer) one to answer.
    pub fn invalid_session() -> Self {
        Self::not_authorized("Invalid session for the user, session is expired.")
    }

    /// A moto admin call's failure as Cognito's answer: moto's error type, or
    /// `InternalErrorException` when moto could not be reached.
    pub fn admin<E: ProvideErrorMetadata, R>(err: SdkError<E, R>) -> Self {
        match err.code() {
            Some(name) => Self::new(
                ErrorType::Reported(name.to_owned()),
                err.message().unwrap_or_default(),
            ),
            None => Self::internal("moto could not be called"),
        }
    }

    /// The `__type`, or `None` for moto's refusal.
    pub fn kind(&self) -> Option<&ErrorType> {
        match self {
            Error::Cognito { kind, .. } => Some(kind),
            Error::Moto(_) => None,
        }
    }
}

impl From<platform::random::RandomError> for Error {
    fn from(err: platform::random::RandomError) -> Self {
        Error::internal(err.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (kind, message) = match self {
            Error::Moto(response) => return *response,
            Error::Cognito { kind, message } => (kind, message),
        };
        let status = match kind {
            ErrorType::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({"__type": kind.name(), "message": message});
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("x-amzn-errortype", kind.name())
            .body(Body::from(body.to_string()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn an_error_is_cognitos_shape_400_and_an_internal_one_500() {
        let res = Error::code_mismatch().into_response();
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(res.headers()["x-amzn-errortype"], "CodeMismatchException");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["__type"], "CodeMismatchException");
        assert!(body["message"].is_string());

        let res = Error::internal("moto is unreachable").into_response();
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers()["x-amzn-errortype"], "InternalErrorException");
    }
}
