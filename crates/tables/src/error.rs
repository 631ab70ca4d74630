//! The one mapping of DynamoDB's failures to the API's answers, for every table. Each caller
//! handles `ConditionalCheckFailedException` itself first, where its meaning depends on the call
//! (a taken id, another user's book, a code used a moment ago).

use aws_sdk_dynamodb::Error as DynamoError;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use platform::ApiError;

/// Seconds a throttled client is told to wait.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Maps a failed call, named by `call` for the log (`"DynamoDB GetItem (sessions)"`): transport
/// failures through [`platform::sdk::service_error`] (504, 503, 500); throttling to 429 with
/// `Retry-After`; a missing table or index to an opaque 500, since the stack is misconfigured;
/// anything else to an opaque 503. The cause goes to the request's log line only.
pub fn failure<E>(call: &'static str, err: SdkError<E, HttpResponse>) -> ApiError
where
    E: std::error::Error + Send + Sync + 'static,
    DynamoError: From<E>,
{
    let err = match platform::sdk::service_error(&call, err) {
        Ok(service_err) => DynamoError::from(service_err),
        Err(transport) => return transport,
    };
    let cause = || format!("{call}: {}", err.code().unwrap_or("unknown error"));
    match err {
        DynamoError::ProvisionedThroughputExceededException(_)
        | DynamoError::RequestLimitExceeded(_)
        | DynamoError::ThrottlingException(_) => ApiError::TooManyRequests {
            retry_after: RETRY_AFTER_SECS,
        },
        DynamoError::ResourceNotFoundException(_) => ApiError::internal(cause()),
        _ => ApiError::unavailable(cause()),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::{
        InternalServerError, ProvisionedThroughputExceededException, ResourceNotFoundException,
    };
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service(err: GetItemError) -> SdkError<GetItemError, HttpResponse> {
        SdkError::service_error(
            err,
            Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty()),
        )
    }

    #[test]
    fn every_table_maps_a_failure_the_same_way() {
        let throttled = failure(
            "DynamoDB GetItem (sessions)",
            service(GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder().build(),
            )),
        );
        assert_eq!(throttled.status(), 429);
        assert_eq!(throttled.retry_after(), Some(RETRY_AFTER_SECS));
        let missing = failure(
            "DynamoDB GetItem (recovery codes)",
            service(GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )),
        );
        assert_eq!(
            (missing.status().as_u16(), missing.code()),
            (500, "internal_error")
        );
        let broken = failure(
            "DynamoDB GetItem (books)",
            service(GetItemError::InternalServerError(
                InternalServerError::builder().build(),
            )),
        );
        assert_eq!(broken.status(), 503);
        assert!(broken.cause().unwrap().to_string().contains("(books)"));
    }
}
