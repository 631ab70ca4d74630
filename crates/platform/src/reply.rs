//! What a handler answers when it succeeds: a status and a JSON body, or an empty 204.

use http::StatusCode;
use serde::Serialize;

use crate::ApiError;

/// A handler's successful answer. The boundary adds the headers and logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub(crate) status: StatusCode,
    /// The serialised JSON body; `None` for 204.
    pub(crate) body: Option<Vec<u8>>,
    /// A word for the request's log line, never for the caller.
    pub(crate) note: Option<&'static str>,
}

impl Reply {
    /// `status` with `body` as JSON. A body that does not serialise is a bug: a 500.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| ApiError::internal(format_args!("response body: {e}")))?;
        Ok(Self {
            status,
            body: Some(body),
            note: None,
        })
    }

    /// 200 with `body` as JSON.
    pub fn ok<T: Serialize + ?Sized>(body: &T) -> Result<Self, ApiError> {
        Self::json(StatusCode::OK, body)
    }

    /// 201 with `body` as JSON.
    pub fn created<T: Serialize + ?Sized>(body: &T) -> Result<Self, ApiError> {
        Self::json(StatusCode::CREATED, body)
    }

    /// 200 with `{"message": text}`.
    pub fn message(text: &str) -> Result<Self, ApiError> {
        #[derive(Serialize)]
        struct Message<'a> {
            message: &'a str,
        }
        Self::ok(&Message { message: text })
    }

    /// 204, no body.
    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            note: None,
        }
    }

    /// Adds a note to the request's log line: something the caller is not told, such as a
    /// refusal answered as a success so as not to reveal whether an account exists.
    pub fn noted(mut self, note: Option<&'static str>) -> Self {
        self.note = note;
        self
    }
}
