use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::{
    InitiateAuthError, InitiateAuthOutput,
};
use aws_sdk_cognitoidentityprovider::types::error::{
    NotAuthorizedException, TooManyRequestsException, UserNotFoundException,
};
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, AuthenticationResultType};
use aws_smithy_mocks::mock;
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

fn cognito_state(rules: &[&aws_smithy_mocks::Rule]) -> platform::Api<State> {
    api(cognito(rules), ROUTES)
}

const SUB: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";

fn refreshed(rotated: Option<&'static str>) -> impl Fn() -> InitiateAuthOutput + Send + Sync {
    move || {
        InitiateAuthOutput::builder()
            .authentication_result(
                AuthenticationResultType::builder()
                    .id_token(fake_jwt(&json!({"cognito:username": SUB})))
                    .access_token("new-access-token")
                    .set_refresh_token(rotated.map(str::to_owned))
                    .expires_in(3600)
                    .token_type("Bearer")
                    .build(),
            )
            .build()
    }
}

#[tokio::test]
async fn refresh_hashes_over_the_internal_username_and_returns_new_tokens() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            let p = r.auth_parameters().unwrap();
            r.auth_flow() == Some(&AuthFlowType::RefreshTokenAuth)
                && p.get("REFRESH_TOKEN").map(String::as_str) == Some("the-refresh-token")
                && p.get("SECRET_HASH") == Some(&expected_hash(SUB))
        })
        .then_output(refreshed(None));
    let state = cognito_state(&[&rule]);
    let req = request_with_json(
        "refresh",
        json!({"username": SUB, "refresh_token": "the-refresh-token"}),
    );

    let res = handle(&state, req).await.unwrap();

    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["access_token"], "new-access-token");
    assert!(body["id_token"].is_string());
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body.get("refresh_token").is_none(),
        "not rotated: no refresh_token"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_rotated_refresh_token_is_returned() {
    let rule = mock!(Client::initiate_auth).then_output(refreshed(Some("rotated-token")));
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("refresh")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body_json(&res)["refresh_token"], "rotated-token");
}

#[tokio::test]
async fn a_refused_refresh_is_401_invalid_refresh_token() {
    let cases: Vec<fn() -> InitiateAuthError> = vec![
        || {
            InitiateAuthError::NotAuthorizedException(
                NotAuthorizedException::builder()
                    .message("Invalid Refresh Token")
                    .build(),
            )
        },
        || InitiateAuthError::UserNotFoundException(UserNotFoundException::builder().build()),
    ];
    for error in cases {
        let rule = mock!(Client::initiate_auth).then_error(error);
        let res = handle(&cognito_state(&[&rule]), request("refresh"))
            .await
            .unwrap();
        assert_error(&res, 401, "invalid_refresh_token");
    }
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    let rule = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::TooManyRequestsException(TooManyRequestsException::builder().build())
    });
    let res = handle(&cognito_state(&[&rule]), request("refresh"))
        .await
        .unwrap();
    assert_error(&res, 429, "too_many_requests");
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_missing_or_mistyped_refresh_token_is_400() {
    let rule = mock!(Client::initiate_auth).then_output(refreshed(None));
    let state = cognito_state(&[&rule]);
    for (body, code) in [
        (json!({"username": SUB}), "missing_field"),
        (
            json!({"username": SUB, "refresh_token": " "}),
            "empty_field",
        ),
        (
            json!({"username": SUB, "refresh_token": {"a": 1}}),
            "invalid_type",
        ),
        (json!({"refresh_token": "t"}), "missing_field"),
    ] {
        let res = handle(&state, request_with_json("refresh", body))
            .await
            .unwrap();
        assert_error(&res, 400, code);
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_naming_the_problem() {
    let rule = mock!(Client::initiate_auth).then_output(refreshed(None));
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("refresh", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}
