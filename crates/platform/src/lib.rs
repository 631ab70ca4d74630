//! The HTTP/API platform every function stands on.
//!
//! A function is a table of routes ([`Route`]) over its state. Each handler takes the state and
//! the request and returns `Result<Reply, ApiError>`: it builds no response, sets no header and
//! logs nothing. [`Api::serve`], the one request boundary, does the rest, the same in Lambda
//! ([`lambda::run`]) and in the local API ([`lambda::invoke`]): routing (404 and 405 follow from
//! the table), request metadata, the JSON body, CORS, `Retry-After`, and one log line per request.
//!
//! Configuration is read once, in each function's `app`, from an [`Env`], with one rule for blank
//! values.

pub mod api;
pub mod body;
pub mod caller;
pub mod config;
pub mod cors;
pub mod error;
pub mod lambda;
pub mod random;
pub mod reply;
pub mod request;
pub mod sdk;

pub use api::{Api, BoxFuture, LiveSession, Membership, Revocations, Route};
pub use body::JsonObject;
pub use caller::{Caller, ClientContext};
pub use config::{ApiConfig, ConfigError, Env};
pub use cors::Cors;
pub use error::ApiError;
pub use reply::Reply;
pub use request::RequestMeta;

/// Re-exported for [`route!`].
pub use http;
pub use lambda_http::Request;

/// What a Lambda `main` can fail with: only start-up, never a request.
pub type Error = lambda_http::Error;
