use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::ChallengeNameType;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

/// The function over a mocked Cognito (`rules`) and a mocked DynamoDB (`tables`).
fn state_with(rules: &[&Rule], tables: &[&Rule]) -> platform::Api<State> {
    state_over(cognito_then_no_user(rules), tables)
}

/// The function over `cognito` and a mocked DynamoDB (`tables`).
fn state_over(cognito: auth::Cognito, tables: &[&Rule]) -> platform::Api<State> {
    let dynamodb = dynamodb_client(tables);
    let codes = tables::RecoveryCodes::new(dynamodb.clone(), "recovery-codes".into())
        .peppered(test_support::pepper());
    let limits = tables::Limits::new(dynamodb.clone(), "limits".into());
    let state = State {
        reauth: reauth::Reauth::new(cognito.clone(), codes.clone(), limits.clone())
            .within(std::time::Duration::MAX),
        cognito,
        codes,
        limits,
        sessions: sessions::Sessions::new(recording_sessions(), "sessions".into()),
        pool_id: "us-east-1_pool".into(),
        issuer: crate::DEFAULT_ISSUER.into(),
        mfa_required: false,
        audit: tables::Audit::new(audit_client(), "audit".into(), 1),
    };
    api(state, ROUTES)
}

/// An access token as Cognito issues it: its user and its session (`origin_jti`).
fn access_jwt() -> String {
    fake_jwt(&json!({"username": "alice", "sub": "sub-alice", "origin_jti": "jti-1"}))
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
                        .access_token(access_jwt())
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
    // Each refusal looks its user up for the event (here: no such user).
    let lookup = mock!(Client::admin_get_user).then_error(|| {
        aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError::UserNotFoundException(
            aws_sdk_cognitoidentityprovider::types::error::UserNotFoundException::builder().build(),
        )
    });
    let state = cognito_state(&[&wrong, &lookup, &expired]);
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
                    .access_token(access_jwt())
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

// ------------------------------------------------- /login/challenge: choice-based sign-in

use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::{
    RespondToAuthChallengeError, RespondToAuthChallengeInput, RespondToAuthChallengeOutput,
};

/// An answer to `challenge` in session-1 for the internal user name `alice`, with `fields`.
fn answer(challenge: &str, fields: serde_json::Value) -> lambda_http::Request {
    let mut body = json!({"username": "alice", "session": "session-1", "challenge": challenge});
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    request_with_json("login_challenge", body)
}

/// The challenge responses of a RespondToAuthChallenge call, by name.
fn response<'a>(r: &'a RespondToAuthChallengeInput, name: &str) -> Option<&'a str> {
    r.challenge_responses()
        .and_then(|c| c.get(name))
        .map(String::as_str)
}

/// The names of the challenge responses, sorted.
fn response_names(r: &RespondToAuthChallengeInput) -> Vec<&str> {
    let mut names: Vec<&str> = r
        .challenge_responses()
        .map(|c| c.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names
}

/// Sent for the user `alice`, in session-1, with her SECRET_HASH.
fn for_alice_in_session_1(r: &RespondToAuthChallengeInput) -> bool {
    r.client_id() == Some(CLIENT_ID)
        && r.session() == Some("session-1")
        && response(r, "USERNAME") == Some("alice")
        && response(r, "SECRET_HASH") == Some(expected_hash("alice").as_str())
        && r.user_context_data().and_then(|u| u.ip_address()) == Some(CALLER_IP)
}

fn signed_in() -> RespondToAuthChallengeOutput {
    RespondToAuthChallengeOutput::builder()
        .authentication_result(
            aws_sdk_cognitoidentityprovider::types::AuthenticationResultType::builder()
                .id_token(fake_jwt(&json!({"cognito:username": "alice"})))
                .access_token(access_jwt())
                .refresh_token("refresh")
                .expires_in(3600)
                .token_type("Bearer")
                .build(),
        )
        .build()
}

fn assert_signed_in(res: &lambda_http::Response<lambda_http::Body>) {
    let body = body_json(res);
    assert_eq!(res.status(), 200, "{body}");
    assert_json_with_cors(res);
    assert!(body["id_token"].is_string(), "{body}");
    assert_eq!(body["refresh_token"], "refresh");
    assert_eq!(body["username"], "alice");
}

/// A browser's `PublicKeyCredential.toJSON()` of an assertion.
fn assertion() -> serde_json::Value {
    json!({
        "id": "AAECAwQFBgcICQoLDA0ODw",
        "rawId": "AAECAwQFBgcICQoLDA0ODw",
        "type": "public-key",
        "response": {
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
            "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
            "signature": "MEUCIQDexample",
            "userHandle": "YWxpY2U"
        },
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {}
    })
}

#[tokio::test]
async fn an_email_code_goes_to_cognito_as_email_otp_code_with_the_user_and_secret_hash() {
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            for_alice_in_session_1(r)
                && r.challenge_name() == Some(&ChallengeNameType::EmailOtp)
                && response(r, "EMAIL_OTP_CODE") == Some("12345678")
                && response_names(r) == ["EMAIL_OTP_CODE", "SECRET_HASH", "USERNAME"]
        })
        .then_output(signed_in);
    let state = cognito_state(&[&rule]);
    let res = handle(&state, answer("EMAIL_OTP", json!({"code": " 12345678 "})))
        .await
        .unwrap();
    assert_signed_in(&res);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_wrong_or_expired_email_code_is_401_invalid_code_and_is_tried_once() {
    use aws_sdk_cognitoidentityprovider::types::error::{
        CodeMismatchException, ExpiredCodeException,
    };
    let cases: Vec<ErrorCase<RespondToAuthChallengeError>> = vec![
        (
            || {
                RespondToAuthChallengeError::CodeMismatchException(
                    CodeMismatchException::builder().build(),
                )
            },
            401,
            "invalid_code",
        ),
        (
            || {
                RespondToAuthChallengeError::ExpiredCodeException(
                    ExpiredCodeException::builder().build(),
                )
            },
            401,
            "invalid_code",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::respond_to_auth_challenge).then_error(error);
        let state = cognito_state(&[&rule]);
        let res = handle(&state, answer("EMAIL_OTP", json!({"code": "00000000"})))
            .await
            .unwrap();
        assert_error(&res, status, code);
        assert_eq!(rule.num_calls(), 1, "a code is never sent twice");
    }
}

#[tokio::test]
async fn a_passkeys_answer_goes_to_cognito_as_the_credentials_json_text() {
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            let sent: Option<serde_json::Value> =
                response(r, "CREDENTIAL").and_then(|text| serde_json::from_str(text).ok());
            for_alice_in_session_1(r)
                && r.challenge_name() == Some(&ChallengeNameType::WebAuthn)
                && sent == Some(assertion())
                && response_names(r) == ["CREDENTIAL", "SECRET_HASH", "USERNAME"]
        })
        .then_output(signed_in);
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        answer("WEB_AUTHN", json!({"credential": assertion()})),
    )
    .await
    .unwrap();
    assert_signed_in(&res);
    assert_eq!(rule.num_calls(), 1);
}

/// Cognito models no WebAuthn error on RespondToAuthChallenge: a forged, replayed or
/// wrong-origin assertion comes back NotAuthorized, which on a passkey's answer is the
/// credential's fault (400 invalid_credential), not a spent session's (401 session_expired);
/// on an e-mailed code, a wrong code stays 401 invalid_code.
#[tokio::test]
async fn cognitos_refusal_of_a_passkeys_answer_is_400_invalid_credential() {
    use aws_sdk_cognitoidentityprovider::types::error::{
        CodeMismatchException, InvalidParameterException, NotAuthorizedException,
    };
    let refused = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::NotAuthorizedException(
            NotAuthorizedException::builder().build(),
        )
    });
    let invalid = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::InvalidParameterException(
            InvalidParameterException::builder().build(),
        )
    });
    let wrong_code = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::CodeMismatchException(CodeMismatchException::builder().build())
    });
    let state = cognito_state(&[&refused, &invalid, &wrong_code]);
    for _ in 0..2 {
        let res = handle(
            &state,
            answer("WEB_AUTHN", json!({"credential": assertion()})),
        )
        .await
        .unwrap();
        assert_error(&res, 400, "invalid_credential");
    }
    let res = handle(&state, answer("EMAIL_OTP", json!({"code": "00000000"})))
        .await
        .unwrap();
    assert_error(&res, 401, "invalid_code");
    assert_eq!(
        (
            refused.num_calls(),
            invalid.num_calls(),
            wrong_code.num_calls()
        ),
        (1, 1, 1),
        "never retried"
    );
}

#[tokio::test]
async fn a_spent_session_on_an_email_code_is_401_session_expired() {
    use aws_sdk_cognitoidentityprovider::types::error::NotAuthorizedException;
    let rule = mock!(Client::respond_to_auth_challenge).then_error(|| {
        RespondToAuthChallengeError::NotAuthorizedException(
            NotAuthorizedException::builder().build(),
        )
    });
    let state = cognito_state(&[&rule]);
    let res = handle(&state, answer("EMAIL_OTP", json!({"code": "12345678"})))
        .await
        .unwrap();
    assert_error(&res, 401, "session_expired");
}

#[tokio::test]
async fn choosing_email_otp_answers_select_challenge_and_goes_on_to_the_code() {
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            for_alice_in_session_1(r)
                && r.challenge_name() == Some(&ChallengeNameType::SelectChallenge)
                && response(r, "ANSWER") == Some("EMAIL_OTP")
                && response_names(r) == ["ANSWER", "SECRET_HASH", "USERNAME"]
        })
        .then_output(|| {
            RespondToAuthChallengeOutput::builder()
                .challenge_name(ChallengeNameType::EmailOtp)
                .session("session-2")
                .challenge_parameters("USERNAME", "alice")
                .challenge_parameters("CODE_DELIVERY_DESTINATION", "a***@e***")
                .build()
        });
    // The user's codes are checked first, and the code counted once Cognito has sent it.
    let checked = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build());
    let counted = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key()
                .and_then(|k| k.get("id"))
                .and_then(|v| v.as_s().ok())
                == Some(&"sign-in-code:alice".to_owned())
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    let state = state_with(&[&rule], &[&checked, &counted]);
    let res = handle(
        &state,
        answer("SELECT_CHALLENGE", json!({"method": "email_otp"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(
        body_json(&res),
        json!({"challenge": "EMAIL_OTP", "session": "session-2", "username": "alice",
               "destination": "a***@e***"})
    );
    assert_eq!(
        (checked.num_calls(), rule.num_calls(), counted.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn choosing_the_password_answers_select_challenge_with_the_password_and_signs_in() {
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            for_alice_in_session_1(r)
                && r.challenge_name() == Some(&ChallengeNameType::SelectChallenge)
                && response(r, "ANSWER") == Some("PASSWORD")
                && response(r, "PASSWORD") == Some("Correct-Horse-9!")
                && response_names(r) == ["ANSWER", "PASSWORD", "SECRET_HASH", "USERNAME"]
        })
        .then_output(signed_in);
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        answer(
            "SELECT_CHALLENGE",
            json!({"method": "password", "password": "Correct-Horse-9!"}),
        ),
    )
    .await
    .unwrap();
    assert_signed_in(&res);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn choosing_a_passkey_answers_web_authn_and_gives_the_request_options_as_an_object() {
    let options = json!({"challenge": "dGhlLWNoYWxsZW5nZQ", "rpId": "shop.example.com"});
    let text = options.to_string();
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            for_alice_in_session_1(r)
                && response(r, "ANSWER") == Some("WEB_AUTHN")
                && response(r, "PASSWORD").is_none()
        })
        .then_output(move || {
            RespondToAuthChallengeOutput::builder()
                .challenge_name(ChallengeNameType::WebAuthn)
                .session("session-2")
                .challenge_parameters("CREDENTIAL_REQUEST_OPTIONS", text.clone())
                .build()
        });
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        answer("SELECT_CHALLENGE", json!({"method": "passkey"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(
        body_json(&res),
        json!({"challenge": "WEB_AUTHN", "session": "session-2", "username": "alice",
               "credential_request_options": options})
    );
}

#[tokio::test]
async fn the_password_challenge_sends_the_password() {
    let rule = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| {
            for_alice_in_session_1(r)
                && r.challenge_name() == Some(&ChallengeNameType::Password)
                && response(r, "PASSWORD") == Some("Correct-Horse-9!")
                && response_names(r) == ["PASSWORD", "SECRET_HASH", "USERNAME"]
        })
        .then_output(signed_in);
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        answer("PASSWORD", json!({"password": "Correct-Horse-9!"})),
    )
    .await
    .unwrap();
    assert_signed_in(&res);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_credential_that_is_not_a_public_key_credential_is_400_before_cognito() {
    let rule = mock!(Client::respond_to_auth_challenge).then_output(signed_in);
    let state = cognito_state(&[&rule]);
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut credential = assertion();
        change(&mut credential);
        credential
    };
    let cases = [
        json!("AAECAwQFBgcICQoLDA0ODw"),
        json!(assertion().to_string()),
        json!([assertion()]),
        json!(null),
        with(&|c| {
            c.as_object_mut().unwrap().remove("id");
        }),
        with(&|c| c["id"] = json!(42)),
        with(&|c| c["type"] = json!("password")),
        with(&|c| {
            c.as_object_mut().unwrap().remove("type");
        }),
        with(&|c| {
            c.as_object_mut().unwrap().remove("response");
        }),
        with(&|c| c["response"] = json!("eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0")),
    ];
    for credential in cases {
        let res = handle(
            &state,
            answer("WEB_AUTHN", json!({"credential": credential.clone()})),
        )
        .await
        .unwrap();
        let got = body_json(&res);
        assert_eq!(res.status(), 400, "{got}");
        assert_eq!(got["error"]["code"], "invalid_field", "{credential}: {got}");
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn each_passwordless_answer_missing_or_invalid_is_400_before_cognito() {
    let rule = mock!(Client::respond_to_auth_challenge).then_output(signed_in);
    let state = cognito_state(&[&rule]);
    for (challenge, fields, code) in [
        ("EMAIL_OTP", json!({}), "missing_field"),
        ("EMAIL_OTP", json!({"code": 12345678}), "invalid_type"),
        ("WEB_AUTHN", json!({}), "missing_field"),
        ("WEB_AUTHN", json!({"code": "123456"}), "missing_field"),
        ("PASSWORD", json!({}), "missing_field"),
        ("PASSWORD", json!({"password": ""}), "empty_field"),
        ("SELECT_CHALLENGE", json!({}), "missing_field"),
        (
            "SELECT_CHALLENGE",
            json!({"method": "sms"}),
            "invalid_field",
        ),
        (
            "SELECT_CHALLENGE",
            json!({"method": "password"}),
            "missing_field",
        ),
        (
            "SELECT_CHALLENGE",
            json!({"method": "email_otp", "hint": 1}),
            "unknown_field",
        ),
        ("SMS_OTP", json!({"code": "123456"}), "invalid_field"),
    ] {
        let res = handle(&state, answer(challenge, fields.clone()))
            .await
            .unwrap();
        let got = body_json(&res);
        assert_eq!(res.status(), 400, "{challenge} {fields}: {got}");
        assert_eq!(got["error"]["code"], code, "{challenge} {fields}: {got}");
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn with_passwordless_off_its_challenges_are_501_and_the_authenticator_code_still_goes() {
    let totp = mock!(Client::respond_to_auth_challenge)
        .match_requests(|r| r.challenge_name() == Some(&ChallengeNameType::SoftwareTokenMfa))
        .then_output(signed_in);
    let state = state_over(
        cognito(&[&totp]).with_passwordless(auth::Passwordless::Off),
        &[],
    );
    for (challenge, fields) in [
        ("EMAIL_OTP", json!({"code": "12345678"})),
        ("WEB_AUTHN", json!({"credential": assertion()})),
        ("SELECT_CHALLENGE", json!({"method": "email_otp"})),
        ("PASSWORD", json!({"password": "Correct-Horse-9!"})),
    ] {
        let res = handle(&state, answer(challenge, fields)).await.unwrap();
        assert_error(&res, 501, "feature_unavailable");
    }
    assert_eq!(totp.num_calls(), 0);
    let res = handle(&state, challenge_answer("123456")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(totp.num_calls(), 1);
}
