use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

/// The function over a mocked Cognito (`rules`) and a mocked DynamoDB (`tables`).
fn state_with(rules: &[&Rule], tables: &[&Rule]) -> platform::Api<State> {
    let dynamodb = dynamodb_client(tables);
    let cognito = cognito(rules);
    let codes = tables::RecoveryCodes::new(dynamodb.clone(), "recovery-codes".into());
    let limits = tables::Limits::new(dynamodb.clone(), "limits".into());
    let state = State {
        reauth: reauth::Reauth::new(cognito.clone(), codes.clone(), limits.clone()),
        cognito,
        codes,
        limits,
        sessions: tables::Sessions::new(dynamodb, "sessions".into()),
        pool_id: "us-east-1_pool".into(),
        issuer: crate::DEFAULT_ISSUER.into(),
        mfa_required: false,
    };
    api(state, ROUTES)
}

fn cognito_state(rules: &[&Rule]) -> platform::Api<State> {
    state_with(rules, &[])
}

fn challenge_answer(code: &str) -> lambda_http::Request {
    request_with_json(
        "login_challenge",
        json!({"username": "alice@example.com", "session": "session-1",
               "challenge": "SOFTWARE_TOKEN_MFA", "code": code}),
    )
}

#[tokio::test]
async fn the_challenge_answer_goes_to_cognito_with_its_session_and_secret_hash_once() {
    use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            let responses = r.challenge_responses().unwrap();
            r.session() == Some("session-1")
                && r.challenge_name() == Some(&ChallengeNameType::SoftwareTokenMfa)
                && responses.get("USERNAME").map(String::as_str) == Some("alice@example.com")
                && responses.get("SOFTWARE_TOKEN_MFA_CODE").map(String::as_str) == Some("123456")
                && responses.get("SECRET_HASH") == Some(&expected_hash("alice@example.com"))
        })
        .then_output(|| {
            RespondToAuthChallengeOutput::builder()
                .authentication_result(
                    aws_sdk_cognitoidentityprovider::types::AuthenticationResultType::builder()
                        .id_token(fake_jwt(&json!({"cognito:username": "alice@example.com"})))
                        .access_token("access")
                        .refresh_token("refresh")
                        .expires_in(3600)
                        .build(),
                )
                .build()
        });
    let res = handle(&cognito_state(&[&rule]), challenge_answer("123456"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(body_json(&res)["username"], "alice@example.com");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_wrong_code_is_invalid_code_and_a_spent_session_session_expired_without_retries() {
    use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeError;
    use aws_sdk_cognitoidentityprovider::types::error::{
        CodeMismatchException, NotAuthorizedException,
    };
    let wrong = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::CodeMismatchException(CodeMismatchException::builder().build())
    });
    let expired = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::NotAuthorizedException(
            NotAuthorizedException::builder()
                .message("Invalid session for the user, session is expired.")
                .build(),
        )
    });
    let state = cognito_state(&[&wrong, &expired]);
    let res = handle(&state, challenge_answer("000000")).await.unwrap();
    assert_error(&res, 401, "invalid_code");
    let res = handle(&state, challenge_answer("000000")).await.unwrap();
    assert_error(&res, 401, "session_expired");
    assert_eq!(wrong.num_calls() + expired.num_calls(), 2, "never retried");
}

/// The recovery codes of a sign-in that set up its authenticator are the user's the tokens
/// name, whatever user name the body gave.
#[tokio::test]
async fn an_mfa_setup_stores_the_recovery_codes_under_the_user_the_tokens_name() {
    use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
    use aws_sdk_cognitoidentityprovider::operation::verify_software_token::VerifySoftwareTokenOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    let verified = mock!(Client::verify_software_token).then_output(|| {
        VerifySoftwareTokenOutput::builder()
            .status(
                aws_sdk_cognitoidentityprovider::types::VerifySoftwareTokenResponseType::Success,
            )
            .session("session-2")
            .build()
    });
    let signed_in = mock!(Client::respond_to_auth_challenge).then_output(|| {
        RespondToAuthChallengeOutput::builder()
            .authentication_result(
                aws_sdk_cognitoidentityprovider::types::AuthenticationResultType::builder()
                    .id_token(fake_jwt(&json!({"cognito:username": "alice"})))
                    .access_token(fake_jwt(&json!({"username": "alice"})))
                    .refresh_token("refresh")
                    .expires_in(3600)
                    .build(),
            )
            .build()
    });
    let stored = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.item()
                .and_then(|i| i.get("username"))
                .and_then(|v| v.as_s().ok())
                == Some(&"alice".to_owned())
        })
        .then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&verified, &signed_in], &[&stored]);
    let body = json!({"username": "mallory", "session": "session-1",
                      "challenge": "MFA_SETUP", "code": "123456"});
    let res = handle(&state, request_with_json("login_challenge", body))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(stored.num_calls(), 1);
}
