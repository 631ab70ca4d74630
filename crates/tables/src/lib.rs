//! Data access: one façade per DynamoDB table, on `platform` only, and the one mapping of
//! DynamoDB's failures ([`error::failure`]).
//!
//! - [`books::Books`]: the catalogue (the books function; `DELETE /me` deletes a user's books);
//! - [`sessions::Sessions`]: sign-outs and deletions enforced at once, the
//!   [`platform::Revocations`] every protected route is checked against;
//! - [`recovery::RecoveryCodes`]: the MFA recovery codes, stored as salted hashes;
//! - [`limits::Limits`]: attempt counters (second-factor guesses, mail a user sends) and
//!   one-time grants;
//! - [`audit::Audit`]: the audit log, one append-only item per auth fact ([`audit::Event`]).
//!
//! The functions build one DynamoDB client ([`DynamoDb`]) over their SDK config and hand it to
//! each table they use.

pub mod audit;
pub mod books;
pub mod error;
mod export;
pub mod limits;
pub mod recovery;
pub mod sessions;

pub use audit::Audit;
pub use aws_sdk_dynamodb::Client as DynamoDb;
pub use books::Books;
pub use limits::Limits;
pub use recovery::RecoveryCodes;
pub use sessions::Sessions;

/// Now, in seconds since the Unix epoch: how the tables store times (TTLs, lockouts, sign-outs,
/// sessions), and the one clock their callers compare them with.
pub fn epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
