use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::{
    InitiateAuthError, InitiateAuthOutput,
};
use aws_sdk_cognitoidentityprovider::types::error::{
    InternalErrorException, NotAuthorizedException, PasswordResetRequiredException,
    TooManyRequestsException, UserNotConfirmedException, UserNotFoundException,
};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType,
};
use aws_smithy_mocks::mock;
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

fn cognito_state(rules: &[&aws_smithy_mocks::Rule]) -> platform::Api<State> {
    api(cognito(rules), ROUTES)
}

const SUB: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";

fn tokens() -> InitiateAuthOutput {
    let id_token = fake_jwt(&json!({
        "sub": SUB, "cognito:username": SUB, "email": "alice@example.com", "token_use": "id"
    }));
    InitiateAuthOutput::builder()
        .authentication_result(
            AuthenticationResultType::builder()
                .id_token(id_token)
                .access_token("access-token")
                .refresh_token("refresh-token")
                .expires_in(3600)
                .token_type("Bearer")
                .build(),
        )
        .build()
}

/// Cognito's lockouts and threat protection see the caller's address, not Lambda's.
#[tokio::test]
async fn login_tells_cognito_the_callers_ip_address() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| r.user_context_data().and_then(|u| u.ip_address()) == Some(CALLER_IP))
        .then_output(tokens);
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("login")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn login_returns_the_tokens_and_the_internal_username_for_refresh() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            let p = r.auth_parameters().unwrap();
            r.client_id() == Some(CLIENT_ID)
                && r.auth_flow() == Some(&AuthFlowType::UserPasswordAuth)
                && p.get("USERNAME").map(String::as_str) == Some("alice@example.com")
                && p.get("PASSWORD").map(String::as_str) == Some("Correct-Horse-9")
                && p.get("SECRET_HASH") == Some(&expected_hash("alice@example.com"))
        })
        .then_output(tokens);
    let state = cognito_state(&[&rule]);
    let req = request_with_json(
        "login",
        json!({"username": " Alice@EXAMPLE.com", "password": "Correct-Horse-9"}),
    );

    let res = handle(&state, req).await.unwrap();

    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert!(body["message"].is_string());
    assert!(body["id_token"].as_str().unwrap().starts_with("ey"));
    assert_eq!(body["access_token"], "access-token");
    assert_eq!(body["refresh_token"], "refresh-token");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["username"], SUB,
        "the cognito:username claim, not the login name"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn the_event_fixture_signs_in() {
    let rule = mock!(Client::initiate_auth).then_output(tokens);
    let state = cognito_state(&[&rule]);
    assert_eq!(
        handle(&state, request("login")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn login_with_wrong_password_is_401_without_revealing_whether_user_exists() {
    let wrong_password = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::NotAuthorizedException(
            NotAuthorizedException::builder()
                .message("Incorrect username or password.")
                .build(),
        )
    });
    let unknown_user = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::UserNotFoundException(
            UserNotFoundException::builder()
                .message("User does not exist.")
                .build(),
        )
    });
    let a = handle(&cognito_state(&[&wrong_password]), request("login"))
        .await
        .unwrap();
    let b = handle(&cognito_state(&[&unknown_user]), request("login"))
        .await
        .unwrap();

    let body_a = assert_error(&a, 401, "invalid_credentials");
    let body_b = assert_error(&b, 401, "invalid_credentials");
    assert_eq!(body_a, body_b, "the two answers must be identical");
    assert_eq!(a.headers(), b.headers());
}

#[tokio::test]
async fn cognito_refusals_map_to_their_status_and_code() {
    let cases: Vec<ErrorCase<InitiateAuthError>> = vec![
        (
            || {
                InitiateAuthError::UserNotConfirmedException(
                    UserNotConfirmedException::builder().build(),
                )
            },
            403,
            "user_not_confirmed",
        ),
        (
            || {
                InitiateAuthError::PasswordResetRequiredException(
                    PasswordResetRequiredException::builder().build(),
                )
            },
            403,
            "password_reset_required",
        ),
        (
            || {
                InitiateAuthError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                )
            },
            429,
            "too_many_requests",
        ),
        (
            || InitiateAuthError::InternalErrorException(InternalErrorException::builder().build()),
            503,
            "service_unavailable",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::initiate_auth).then_error(error);
        let state = cognito_state(&[&rule]);
        let res = handle(&state, request("login")).await.unwrap();
        assert_error(&res, status, code);
        assert_eq!(res.headers().contains_key("retry-after"), status == 429);
    }
}

/// A challenge this API answers comes back as it is, with its session and the internal user
/// name, and no tokens; any other is a 403 naming it, without the session.
#[tokio::test]
async fn a_challenge_is_answered_as_a_challenge_or_a_403_naming_it() {
    let mfa = mock!(Client::initiate_auth).then_output(|| {
        InitiateAuthOutput::builder()
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session("session-1")
            .challenge_parameters("USER_ID_FOR_SRP", "internal-name")
            .build()
    });
    let sms = mock!(Client::initiate_auth).then_output(|| {
        InitiateAuthOutput::builder()
            .challenge_name(ChallengeNameType::SmsMfa)
            .session("session-2")
            .build()
    });
    let state = cognito_state(&[&mfa, &sms]);
    let res = handle(&state, request("login")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    assert_eq!(
        body_json(&res),
        json!({"challenge": "SOFTWARE_TOKEN_MFA", "session": "session-1", "username": "internal-name"})
    );
    let res = handle(&state, request("login")).await.unwrap();
    let body = assert_error(&res, 403, "challenge_required");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SMS_MFA")
    );
    assert!(!body.to_string().contains("session-2"));
}

#[tokio::test]
async fn a_missing_password_is_400_before_cognito_is_called() {
    let rule = mock!(Client::initiate_auth).then_output(tokens);
    let state = cognito_state(&[&rule]);
    for (body, code) in [
        (json!({"username": "bob"}), "missing_field"),
        (json!({"username": "bob", "password": ""}), "empty_field"),
        (json!({"username": "bob", "password": true}), "invalid_type"),
    ] {
        assert_error(
            &handle(&state, request_with_json("login", body))
                .await
                .unwrap(),
            400,
            code,
        );
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_naming_the_problem() {
    let rule = mock!(Client::initiate_auth).then_output(tokens);
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("login", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}
