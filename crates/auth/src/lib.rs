//! Cognito as the functions use it: the SECRET_HASH ([`secret_hash`]), the app client's
//! configuration ([`Config`]), and [`Cognito`], one client with a method per operation. Each
//! method adds the SECRET_HASH where Cognito requires it, picks its retry policy and maps
//! Cognito's errors to the API's; no function crate builds a Cognito call itself.

pub mod client;
pub mod config;
pub mod errors;
pub mod secret;
pub mod stored_secret;
pub mod username;

pub use client::{
    ANSWERABLE_CHALLENGES, Answer, Caller, Challenge, Cognito, Delivery, SignIn, SignedUp, Tokens,
};
pub use config::{AppClient, ClientSecret, CognitoConfig, Config};
pub use secret::{SecretHasher, secret_hash};
pub use username::{MAX_CODE_CHARS, MAX_EMAIL_CHARS, code, email, normalize_username, password};
