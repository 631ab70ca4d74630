//! The one error type of the API. Each variant knows its HTTP status and a stable machine code;
//! the request boundary ([`crate::Api`]) turns it into our JSON error shape and logs it.

use std::fmt;

use http::StatusCode;

/// Why a server error happened, for the log line of the request that met it. It never reaches a
/// response body, and it never holds a request's content (passwords, codes, tokens): only which
/// call failed and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(String);

impl Cause {
    pub fn new(cause: impl fmt::Display) -> Self {
        Self(cause.to_string())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every expected failure of every route.
///
/// Client errors carry a message meant for the caller. Server errors (5xx) carry their [`Cause`]
/// for the log, and an opaque message for the body.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    // --- the request itself ---
    #[error("a JSON request body is required")]
    MissingBody,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body is not valid UTF-8")]
    InvalidEncoding,
    #[error("the request body is marked base64 but is not valid base64")]
    InvalidBase64,
    #[error("the request body must be sent as `content-type: application/json`")]
    UnsupportedMediaType,
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the request body must be a JSON object")]
    NotAnObject,
    #[error("field `{0}` is required")]
    MissingField(&'static str),
    #[error("field `{field}` must be {expected}")]
    InvalidType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field `{0}` must not be empty")]
    EmptyField(&'static str),
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{0}` appears more than once")]
    DuplicateField(String),
    #[error("query parameter `{param}` is invalid: {reason}")]
    InvalidQuery { param: &'static str, reason: String },

    // --- routing and access ---
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method {0} is not allowed on this resource")]
    MethodNotAllowed(String),
    #[error("the request carries no authenticated identity")]
    Unauthorized,
    /// The token's session was signed out, or its user deleted: refused at once, not when the
    /// token expires.
    #[error("this token's session has ended; sign in again")]
    TokenRevoked,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The change needs a sign-in within the last `window_seconds` (the token's `auth_time`):
    /// 403 `reauthentication_required`, with the window in the body.
    #[error("this change needs a sign-in within the last {window_seconds} seconds; sign in again")]
    ReauthenticationRequired { window_seconds: u64 },

    /// A conflict a function names itself (`book_exists`): 409 with its own code.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    /// A 403 with a code of its own: the caller is who they say, but this step needs more
    /// first (`second_factor_required`, `setup_required`, `refresh_token_mismatch`).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: &'static str,
    },
    /// A 400 with a code of its own: the request was understood and is refused for a reason
    /// the client can act on (`passkey_origin_not_allowed`, `invalid_credential`).
    #[error("{message}")]
    Rejected {
        code: &'static str,
        message: &'static str,
    },
    /// 501 `feature_unavailable`: the route needs a feature this deployment has not turned on
    /// (passwordless sign-in on the Lite plan); the message says what.
    #[error("{0}")]
    FeatureUnavailable(&'static str),

    // --- answers from Cognito ---
    #[error("an account with this username already exists")]
    UsernameExists,
    #[error("{0}")]
    InvalidPassword(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("the code is wrong or has expired; if it has, ask for a new one")]
    CodeMismatch,
    #[error("the confirmation code has expired; request a new one")]
    ExpiredCode,
    #[error("the account is not confirmed yet")]
    UserNotConfirmed,
    #[error("the password must be reset before signing in")]
    PasswordResetRequired,
    #[error("incorrect username or password")]
    InvalidCredentials,
    #[error(
        "the refresh token is invalid, expired or revoked, or does not belong to this username"
    )]
    InvalidRefreshToken,
    /// A refresh token that was exchanged already, presented again after the grace period:
    /// its session has been ended.
    #[error("this refresh token was used already; its session has ended for safety: sign in again")]
    RefreshTokenReused,
    /// The session was not refreshed within the idle timeout: it has ended.
    #[error("the session was idle for too long and has ended; sign in again")]
    SessionTimedOut,
    #[error("the request is not authorized")]
    NotAuthorized,
    #[error("the sign-in session has expired or was used already; sign in again")]
    SessionExpired,
    #[error("the code is wrong or was used already")]
    InvalidCode,
    #[error("sign-in needs the `{0}` challenge, which this API does not support")]
    ChallengeRequired(String),
    #[error("too many requests; retry after {retry_after} seconds")]
    TooManyRequests { retry_after: u32 },

    // --- the platform ---
    #[error("a required service is unavailable; try again later")]
    ServiceUnavailable(Cause),
    #[error("a required service did not answer in time; try again later")]
    Timeout(Cause),
    #[error("internal error")]
    Internal(Cause),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            MissingBody
            | InvalidEncoding
            | InvalidBase64
            | InvalidJson(_)
            | NotAnObject
            | MissingField(_)
            | InvalidType { .. }
            | EmptyField(_)
            | InvalidField { .. }
            | UnknownField(_)
            | DuplicateField(_)
            | InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            NotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Unauthorized | TokenRevoked => StatusCode::UNAUTHORIZED,
            Forbidden(_) | ReauthenticationRequired { .. } => StatusCode::FORBIDDEN,
            Conflict { .. } => StatusCode::CONFLICT,
            Refused { .. } => StatusCode::FORBIDDEN,
            Rejected { .. } => StatusCode::BAD_REQUEST,
            FeatureUnavailable(_) => StatusCode::NOT_IMPLEMENTED,
            PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InvalidPassword(_) | InvalidParameter(_) | CodeMismatch | ExpiredCode => {
                StatusCode::BAD_REQUEST
            }
            UsernameExists => StatusCode::CONFLICT,
            UserNotConfirmed | PasswordResetRequired | ChallengeRequired(_) => {
                StatusCode::FORBIDDEN
            }
            InvalidCredentials | InvalidRefreshToken | RefreshTokenReused | SessionTimedOut
            | NotAuthorized | SessionExpired | InvalidCode => StatusCode::UNAUTHORIZED,
            TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code clients switch on.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            MissingBody => "missing_body",
            PayloadTooLarge { .. } => "payload_too_large",
            InvalidEncoding | InvalidBase64 => "invalid_encoding",
            UnsupportedMediaType => "unsupported_media_type",
            InvalidJson(_) => "invalid_json",
            NotAnObject => "body_not_object",
            MissingField(_) => "missing_field",
            InvalidType { .. } => "invalid_type",
            EmptyField(_) => "empty_field",
            InvalidField { .. } => "invalid_field",
            UnknownField(_) => "unknown_field",
            DuplicateField(_) => "duplicate_field",
            InvalidQuery { .. } => "invalid_query",
            NotFound(_) => "not_found",
            MethodNotAllowed(_) => "method_not_allowed",
            Unauthorized => "unauthorized",
            TokenRevoked => "token_revoked",
            Forbidden(_) => "forbidden",
            ReauthenticationRequired { .. } => "reauthentication_required",
            Conflict { code, .. } | Refused { code, .. } | Rejected { code, .. } => code,
            FeatureUnavailable(_) => "feature_unavailable",
            UsernameExists => "username_exists",
            InvalidPassword(_) => "invalid_password",
            InvalidParameter(_) => "invalid_parameter",
            CodeMismatch => "code_mismatch",
            ExpiredCode => "expired_code",
            UserNotConfirmed => "user_not_confirmed",
            PasswordResetRequired => "password_reset_required",
            InvalidCredentials => "invalid_credentials",
            InvalidRefreshToken => "invalid_refresh_token",
            RefreshTokenReused => "refresh_token_reused",
            SessionTimedOut => "session_timed_out",
            NotAuthorized => "not_authorized",
            SessionExpired => "session_expired",
            InvalidCode => "invalid_code",
            ChallengeRequired(_) => "challenge_required",
            TooManyRequests { .. } => "too_many_requests",
            ServiceUnavailable(_) => "service_unavailable",
            Timeout(_) => "timeout",
            Internal(_) => "internal_error",
        }
    }

    /// Seconds for the `Retry-After` header, on throttling answers.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::TooManyRequests { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The re-authentication window, in seconds, on `reauthentication_required`.
    pub fn window_seconds(&self) -> Option<u64> {
        match self {
            ApiError::ReauthenticationRequired { window_seconds } => Some(*window_seconds),
            _ => None,
        }
    }

    pub fn is_server_error(&self) -> bool {
        self.status().is_server_error()
    }

    /// A 503: a service we depend on failed or answered something we cannot use.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        ApiError::ServiceUnavailable(Cause::new(cause))
    }

    /// A 504: a service we depend on did not answer in time.
    pub fn timeout(cause: impl fmt::Display) -> Self {
        ApiError::Timeout(Cause::new(cause))
    }

    /// A 500: a bug or a misconfigured stack.
    pub fn internal(cause: impl fmt::Display) -> Self {
        ApiError::Internal(Cause::new(cause))
    }

    /// The cause of a server error, for the log.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            ApiError::ServiceUnavailable(c) | ApiError::Timeout(c) | ApiError::Internal(c) => {
                Some(c)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn server_errors_are_the_only_5xx_and_say_nothing_of_the_cause() {
        for e in [
            ApiError::unavailable("Cognito SignUp: ResourceNotFoundException"),
            ApiError::timeout("Cognito SignUp: ResourceNotFoundException"),
            ApiError::internal("Cognito SignUp: ResourceNotFoundException"),
        ] {
            assert!(e.is_server_error());
            assert!(!e.to_string().contains("Exception"));
            assert!(e.cause().unwrap().to_string().contains("Exception"));
        }
        assert_eq!(ApiError::NotAuthorized.cause(), None);
        assert!(!ApiError::UsernameExists.is_server_error());
    }

    #[test]
    fn only_throttling_carries_retry_after() {
        assert_eq!(
            ApiError::TooManyRequests { retry_after: 5 }.retry_after(),
            Some(5)
        );
        assert_eq!(ApiError::InvalidCredentials.retry_after(), None);
    }

    #[test]
    fn access_and_routing_errors_have_their_own_status_and_code() {
        for (err, status, code) in [
            (ApiError::NotFound("book"), 404, "not_found"),
            (
                ApiError::MethodNotAllowed("PATCH".into()),
                405,
                "method_not_allowed",
            ),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::Forbidden("not yours"), 403, "forbidden"),
            (
                ApiError::Conflict {
                    code: "book_exists",
                    message: "taken",
                },
                409,
                "book_exists",
            ),
            (
                ApiError::InvalidQuery {
                    param: "limit",
                    reason: "must be 1-100".into(),
                },
                400,
                "invalid_query",
            ),
        ] {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.code(), code);
        }
    }
}
