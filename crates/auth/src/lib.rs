//! What every function shares: the Cognito SECRET_HASH, the Cognito settings and error mapping,
//! the one API error type, JSON + CORS responses, and request-body parsing.

pub mod body;
pub mod claims;
pub mod cognito;
pub mod error;
pub mod http;
pub mod lambda;
pub mod sdk;
pub mod secret;

pub use body::JsonObject;
pub use cognito::{AppClient, CognitoOp, CognitoState, Tokens, normalize_username};
pub use error::ApiError;
pub use http::{Cors, RequestMeta, respond};
pub use secret::secret_hash;

/// The error type of a Lambda handler. Returned only for bugs: every expected failure is an
/// `Ok` response built from an [`ApiError`].
pub type Error = lambda_http::Error;
