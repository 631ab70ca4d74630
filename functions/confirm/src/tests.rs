use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::operation::confirm_sign_up::{
    ConfirmSignUpError, ConfirmSignUpOutput,
};
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_cognitoidentityprovider::types::error::{
    CodeMismatchException, ExpiredCodeException, InvalidParameterException, LimitExceededException,
    NotAuthorizedException, TooManyFailedAttemptsException, TooManyRequestsException,
    UserNotFoundException,
};
use aws_smithy_mocks::mock;
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

/// The function over a mocked Cognito that answers `rules` in order, then reads the confirmed
/// user's `sub` (AdminGetUser), for the event.
fn cognito_state(rules: &[&aws_smithy_mocks::Rule]) -> platform::Api<State> {
    let sub = mock!(Client::admin_get_user)
        .match_requests(|r| r.user_pool_id() == Some("us-east-1_test"))
        .then_output(|| {
            AdminGetUserOutput::builder()
                .username("alice@example.com")
                .user_attributes(
                    AttributeType::builder()
                        .name("sub")
                        .value("sub-1")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
    let rules: Vec<&aws_smithy_mocks::Rule> = rules.iter().copied().chain([&sub]).collect();
    let state = State {
        cognito: cognito(&rules),
        audit: tables::Audit::new(audit_client(), "audit".to_owned(), 1),
        pool_id: "us-east-1_test".to_owned(),
    };
    api(state, ROUTES)
}

#[tokio::test]
async fn confirm_sends_the_normalised_user_the_trimmed_code_and_the_secret_hash() {
    let rule = mock!(Client::confirm_sign_up)
        .match_requests(|r| {
            r.client_id() == Some(CLIENT_ID)
                && r.username() == Some("alice@example.com")
                && r.confirmation_code() == Some("123456")
                && r.secret_hash() == Some(expected_hash("alice@example.com").as_str())
        })
        .then_output(|| ConfirmSignUpOutput::builder().build());
    let state = cognito_state(&[&rule]);
    let req = request_with_json(
        "confirm_user",
        json!({"username": "ALICE@example.com", "confirmation_code": " 123456 "}),
    );

    let res = handle(&state, req).await.unwrap();

    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    assert!(body_json(&res)["message"].is_string());
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_older_clients_code_field_is_accepted() {
    let rule = mock!(Client::confirm_sign_up)
        .match_requests(|r| r.confirmation_code() == Some("654321"))
        .then_output(|| ConfirmSignUpOutput::builder().build());
    let state = cognito_state(&[&rule]);
    let req = request_with_json("confirm_user", json!({"username": "bob", "code": "654321"}));
    assert_eq!(handle(&state, req).await.unwrap().status(), 200);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_event_fixture_confirms() {
    let rule =
        mock!(Client::confirm_sign_up).then_output(|| ConfirmSignUpOutput::builder().build());
    let state = cognito_state(&[&rule]);
    assert_eq!(
        handle(&state, request("confirm_user"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_missing_empty_or_mistyped_code_is_400() {
    let rule =
        mock!(Client::confirm_sign_up).then_output(|| ConfirmSignUpOutput::builder().build());
    let state = cognito_state(&[&rule]);
    let cases = [
        (json!({"username": "bob"}), "missing_field"),
        (
            json!({"username": "bob", "confirmation_code": ""}),
            "empty_field",
        ),
        (
            json!({"username": "bob", "confirmation_code": 123456}),
            "invalid_type",
        ),
        (json!({"username": "bob", "code": null}), "missing_field"),
        (
            json!({"username": "bob", "code": "1".repeat(2049)}),
            "invalid_field",
        ),
    ];
    for (body, code) in cases {
        let res = handle(&state, request_with_json("confirm_user", body))
            .await
            .unwrap();
        assert_error(&res, 400, code);
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn cognito_refusals_map_to_their_status_and_code() {
    let cases: Vec<ErrorCase<ConfirmSignUpError>> = vec![
        (
            || ConfirmSignUpError::CodeMismatchException(CodeMismatchException::builder().build()),
            400,
            "code_mismatch",
        ),
        (
            || ConfirmSignUpError::ExpiredCodeException(ExpiredCodeException::builder().build()),
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmSignUpError::InvalidParameterException(
                    InvalidParameterException::builder().build(),
                )
            },
            400,
            "invalid_parameter",
        ),
        // An unknown user answers like a wrong code: confirming reveals nothing about who exists.
        (
            || ConfirmSignUpError::UserNotFoundException(UserNotFoundException::builder().build()),
            400,
            "code_mismatch",
        ),
        // An account confirmed already answers exactly as an unknown one does.
        (
            || {
                ConfirmSignUpError::NotAuthorizedException(
                    NotAuthorizedException::builder()
                        .message("User cannot be confirmed. Current status is CONFIRMED")
                        .build(),
                )
            },
            400,
            "code_mismatch",
        ),
        // Too many wrong codes: Cognito says so for an existing account only, so it answers as a
        // wrong code does.
        (
            || {
                ConfirmSignUpError::LimitExceededException(
                    LimitExceededException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmSignUpError::TooManyFailedAttemptsException(
                    TooManyFailedAttemptsException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmSignUpError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                )
            },
            429,
            "too_many_requests",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::confirm_sign_up).then_error(error);
        let state = cognito_state(&[&rule]);
        let res = handle(&state, request("confirm_user")).await.unwrap();
        assert_error(&res, status, code);
        assert_eq!(res.headers().contains_key("retry-after"), status == 429);
    }
}

/// Never retried: a retry of LimitExceeded (a throttling error to the SDK) would make an existing
/// account's answer slower than an unknown one's.
#[tokio::test]
async fn a_server_error_is_an_opaque_503_and_is_not_retried() {
    let rule = mock!(Client::confirm_sign_up)
        .sequence()
        .http_status(500, Some("internal detail".into()))
        .times(3)
        .build();
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("confirm_user")).await.unwrap();
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("internal detail"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_naming_the_problem() {
    let rule =
        mock!(Client::confirm_sign_up).then_output(|| ConfirmSignUpOutput::builder().build());
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("confirm_user", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}
