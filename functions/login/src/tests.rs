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

/// The function over `cognito`, with a limits table that has room for every code mailed.
fn state_over(cognito: auth::Cognito) -> State {
    let counted = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build())
        .repeatedly()
        .build();
    State {
        cognito,
        limits: tables::Limits::new(dynamodb_client(&[&counted]), "limits".into()),
        sessions: sessions::Sessions::new(recording_sessions(), "sessions".into()),
        audit: tables::Audit::new(audit_client(), "audit".into(), 1),
        pool_id: "us-east-1_test".into(),
    }
}

const JTI: &str = "5b1f0c2e-3d4a-4e6f-8a9b-0c1d2e3f4a5b";

/// An access token as Cognito issues it, with the claims the session is recorded under.
fn access_token() -> String {
    fake_jwt(&json!({"sub": SUB, "origin_jti": JTI, "token_use": "access", "username": SUB}))
}

fn cognito_state(rules: &[&aws_smithy_mocks::Rule]) -> platform::Api<State> {
    api(state_over(cognito_then_no_user(rules)), ROUTES)
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
                .access_token(access_token())
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
    assert_eq!(body["access_token"], access_token());
    assert_eq!(body["refresh_token"], "refresh-token");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["username"], SUB,
        "the cognito:username claim, not the login name"
    );
    assert_eq!(rule.num_calls(), 1);
}

/// Every sign-in records its session: how, from where, the refresh token hashed.
#[tokio::test]
async fn a_sign_in_records_its_session_with_the_method_address_and_device() {
    let cognito_rule = mock!(Client::initiate_auth).then_output(tokens);
    let recorded = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(|t| {
            let items = t.transact_items();
            let session = items[0].put().unwrap().item();
            let token = items[1].put().unwrap().item();
            let s = |item: &std::collections::HashMap<_, _>, k: &str| {
                item.get(k)
                    .and_then(|v: &aws_sdk_dynamodb::types::AttributeValue| v.as_s().ok())
                    .cloned()
            };
            items.len() == 2
                && s(session, "pk").as_deref() == Some(SUB)
                && s(session, "sk") == Some(format!("session#{}", sessions::session_id(JTI)))
                && s(session, "method").as_deref() == Some("password")
                && s(session, "ip").as_deref() == Some(CALLER_IP)
                && s(session, "device").is_some_and(|d| d.contains(" on "))
                && s(token, "pk").is_some_and(|pk| pk.starts_with("refresh#"))
                && !format!("{t:?}").contains("refresh-token")
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput::builder()
                .build()
        });
    // Then the user's sessions are listed (the limit): none besides.
    let listed = mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
    let mut state = state_over(cognito(&[&cognito_rule]));
    state.sessions =
        sessions::Sessions::new(dynamodb_client(&[&recorded, &listed]), "sessions".into());
    let res = handle(&api(state, ROUTES), request("login")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(recorded.num_calls(), 1);
}

/// Tokens whose session cannot be recorded would be refused everywhere: they are revoked, and
/// the sign-in is a 503.
#[tokio::test]
async fn a_session_that_cannot_be_recorded_revokes_the_tokens() {
    let cognito_rules = [
        mock!(Client::initiate_auth).then_output(tokens),
        mock!(Client::revoke_token)
            .match_requests(|r| r.token() == Some("refresh-token"))
            .then_output(|| {
                aws_sdk_cognitoidentityprovider::operation::revoke_token::RevokeTokenOutput::builder()
                    .build()
            }),
    ];
    let broken = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_status(500, None)
        .times(3)
        .build();
    let mut state = state_over(cognito(&[&cognito_rules[0], &cognito_rules[1]]));
    state.sessions = sessions::Sessions::new(dynamodb_client(&[&broken]), "sessions".into());
    let res = handle(&api(state, ROUTES), request("login")).await.unwrap();
    assert_error(&res, 503, "service_unavailable");
    assert_eq!(cognito_rules[1].num_calls(), 1);
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

// ---------------------------------------------------------------- /login/start

fn start_request(body: serde_json::Value) -> platform::Request {
    request_with_json("login_start", body)
}

/// A parameter of the InitiateAuth call.
fn auth_parameter<'a>(
    r: &'a aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthInput,
    name: &str,
) -> Option<&'a str> {
    r.auth_parameters()
        .and_then(|p| p.get(name))
        .map(String::as_str)
}

fn email_otp_challenge() -> InitiateAuthOutput {
    InitiateAuthOutput::builder()
        .challenge_name(ChallengeNameType::EmailOtp)
        .session("session-otp")
        .challenge_parameters("USERNAME", SUB)
        .challenge_parameters("CODE_DELIVERY_DESTINATION", "a***@e***")
        .challenge_parameters("CODE_DELIVERY_DELIVERY_MEDIUM", "EMAIL")
        .build()
}

#[tokio::test]
async fn start_with_email_otp_asks_cognito_for_user_auth_with_that_challenge_and_the_secret_hash() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            r.client_id() == Some(CLIENT_ID)
                && r.auth_flow() == Some(&AuthFlowType::UserAuth)
                && auth_parameter(r, "USERNAME") == Some("alice@example.com")
                && auth_parameter(r, "PREFERRED_CHALLENGE") == Some("EMAIL_OTP")
                && auth_parameter(r, "SECRET_HASH")
                    == Some(expected_hash("alice@example.com").as_str())
                && auth_parameter(r, "PASSWORD").is_none()
                && r.user_context_data().and_then(|u| u.ip_address()) == Some(CALLER_IP)
        })
        .then_output(email_otp_challenge);
    let state = cognito_state(&[&rule]);

    // The fixture: alice@example.com, the method email_otp.
    let res = handle(&state, request("login_start")).await.unwrap();

    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    assert_eq!(
        body_json(&res),
        json!({"challenge": "EMAIL_OTP", "session": "session-otp", "username": SUB,
               "destination": "a***@e***"}),
        "the challenge to answer at /login/challenge, and no tokens"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_names_the_user_in_its_one_spelling_to_cognito_and_in_the_secret_hash() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            auth_parameter(r, "USERNAME") == Some("alice@example.com")
                && auth_parameter(r, "SECRET_HASH")
                    == Some(expected_hash("alice@example.com").as_str())
        })
        .then_output(email_otp_challenge);
    let state = cognito_state(&[&rule]);
    let req = start_request(json!({"username": " Alice@EXAMPLE.com ", "method": " email_otp "}));
    let res = handle(&state, req).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_without_a_method_answers_select_challenge_with_each_of_the_users_ways_once() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            r.auth_flow() == Some(&AuthFlowType::UserAuth)
                && auth_parameter(r, "PREFERRED_CHALLENGE").is_none()
                && auth_parameter(r, "PASSWORD").is_none()
                && auth_parameter(r, "SECRET_HASH")
                    == Some(expected_hash("alice@example.com").as_str())
        })
        .then_output(|| {
            InitiateAuthOutput::builder()
                .challenge_name(ChallengeNameType::SelectChallenge)
                .session("session-select")
                .challenge_parameters("USERNAME", SUB)
                .available_challenges(ChallengeNameType::Password)
                .available_challenges(ChallengeNameType::PasswordSrp)
                .available_challenges(ChallengeNameType::EmailOtp)
                .available_challenges(ChallengeNameType::SmsOtp)
                .available_challenges(ChallengeNameType::WebAuthn)
                .build()
        });
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        start_request(json!({"username": "alice@example.com"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(
        body_json(&res),
        json!({"challenge": "SELECT_CHALLENGE", "session": "session-select", "username": SUB,
               "methods": ["password", "email_otp", "passkey"]}),
        "PASSWORD and PASSWORD_SRP are one way; a way the API does not offer (SMS_OTP) is left out"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_passkey_start_answers_cognitos_request_options_as_a_json_object() {
    let options = json!({
        "challenge": "dGhlLWNoYWxsZW5nZQ",
        "rpId": "shop.example.com",
        "timeout": 180000,
        "userVerification": "required",
        "allowCredentials": [{"type": "public-key", "id": "AAECAwQFBgcICQoLDA0ODw"}]
    });
    let text = options.to_string();
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| auth_parameter(r, "PREFERRED_CHALLENGE") == Some("WEB_AUTHN"))
        .then_output(move || {
            InitiateAuthOutput::builder()
                .challenge_name(ChallengeNameType::WebAuthn)
                .session("session-passkey")
                .challenge_parameters("USERNAME", SUB)
                .challenge_parameters("CREDENTIAL_REQUEST_OPTIONS", text.clone())
                .build()
        });
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        start_request(json!({"username": "alice@example.com", "method": "passkey"})),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(
        body_json(&res),
        json!({"challenge": "WEB_AUTHN", "session": "session-passkey", "username": SUB,
               "credential_request_options": options})
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn passkey_request_options_that_are_not_json_are_a_503_not_a_challenge() {
    let rule = mock!(Client::initiate_auth).then_output(|| {
        InitiateAuthOutput::builder()
            .challenge_name(ChallengeNameType::WebAuthn)
            .session("session-passkey")
            .challenge_parameters("CREDENTIAL_REQUEST_OPTIONS", "{not json")
            .build()
    });
    let state = cognito_state(&[&rule]);
    let res = handle(
        &state,
        start_request(json!({"username": "alice@example.com", "method": "passkey"})),
    )
    .await
    .unwrap();
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("session-passkey"), "{body}");
}

#[tokio::test]
async fn start_with_the_password_method_and_the_password_signs_in_with_the_tokens() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| {
            r.auth_flow() == Some(&AuthFlowType::UserAuth)
                && auth_parameter(r, "PREFERRED_CHALLENGE") == Some("PASSWORD")
                && auth_parameter(r, "PASSWORD") == Some("Correct-Horse-9")
                && auth_parameter(r, "USERNAME") == Some("alice@example.com")
                && auth_parameter(r, "SECRET_HASH")
                    == Some(expected_hash("alice@example.com").as_str())
        })
        .then_output(tokens);
    let state = cognito_state(&[&rule]);
    let req = start_request(
        json!({"username": "alice@example.com", "method": "password", "password": "Correct-Horse-9"}),
    );
    let res = handle(&state, req).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let body = body_json(&res);
    assert!(body["message"].is_string());
    assert!(body["id_token"].as_str().unwrap().starts_with("ey"));
    assert_eq!(body["access_token"], access_token());
    assert_eq!(body["refresh_token"], "refresh-token");
    assert_eq!(body["username"], SUB);
    assert!(body.get("challenge").is_none(), "{body}");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn start_refuses_an_unknown_method_or_a_misplaced_or_missing_password_before_cognito() {
    let rule = mock!(Client::initiate_auth).then_output(tokens);
    let state = cognito_state(&[&rule]);
    let user = "alice@example.com";
    for (body, code) in [
        (json!({"username": user, "method": "sms"}), "invalid_field"),
        (
            json!({"username": user, "method": "PASSWORD"}),
            "invalid_field",
        ),
        (json!({"username": user, "method": ""}), "empty_field"),
        (json!({"username": user, "method": 1}), "invalid_type"),
        (
            json!({"username": user, "password": "Correct-Horse-9"}),
            "invalid_field",
        ),
        (
            json!({"username": user, "method": "email_otp", "password": "Correct-Horse-9"}),
            "invalid_field",
        ),
        (
            json!({"username": user, "method": "passkey", "password": "Correct-Horse-9"}),
            "invalid_field",
        ),
        (
            json!({"username": user, "method": "password"}),
            "missing_field",
        ),
        (
            json!({"username": user, "method": "password", "password": ""}),
            "empty_field",
        ),
        (
            json!({"username": user, "method": "password", "password": 7}),
            "invalid_type",
        ),
        (
            json!({"username": user, "method": "password", "password": "p".repeat(257)}),
            "invalid_field",
        ),
        (
            json!({"username": user, "method": "email_otp", "code": "123456"}),
            "unknown_field",
        ),
    ] {
        let res = handle(&state, start_request(body.clone())).await.unwrap();
        let got = body_json(&res);
        assert_eq!(res.status(), 400, "{body}: {got}");
        assert_eq!(got["error"]["code"], code, "{body}: {got}");
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn malformed_start_bodies_get_a_4xx_naming_the_problem() {
    let rule = mock!(Client::initiate_auth).then_output(tokens);
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("login_start", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn with_passwordless_off_start_is_501_feature_unavailable_without_calling_cognito() {
    let rule = mock!(Client::initiate_auth).then_output(email_otp_challenge);
    let state = api(
        state_over(cognito(&[&rule]).with_passwordless(auth::Passwordless::Off)),
        ROUTES,
    );
    for req in [
        request("login_start"),
        start_request(json!({"username": "alice@example.com"})),
        start_request(
            json!({"username": "alice@example.com", "method": "password", "password": "Correct-Horse-9"}),
        ),
    ] {
        assert_error(
            &handle(&state, req).await.unwrap(),
            501,
            "feature_unavailable",
        );
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn with_passwordless_off_the_password_login_still_signs_in() {
    let rule = mock!(Client::initiate_auth)
        .match_requests(|r| r.auth_flow() == Some(&AuthFlowType::UserPasswordAuth))
        .then_output(tokens);
    let state = api(
        state_over(cognito(&[&rule]).with_passwordless(auth::Passwordless::Off)),
        ROUTES,
    );
    let res = handle(&state, request("login")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_pool_that_does_not_offer_user_auth_is_501_feature_unavailable() {
    use aws_sdk_cognitoidentityprovider::types::error::{
        FeatureUnavailableInTierException, UnsupportedOperationException,
    };
    let cases: Vec<ErrorCase<InitiateAuthError>> = vec![
        (
            || {
                InitiateAuthError::UnsupportedOperationException(
                    UnsupportedOperationException::builder().build(),
                )
            },
            501,
            "feature_unavailable",
        ),
        (
            || {
                InitiateAuthError::FeatureUnavailableInTierException(
                    FeatureUnavailableInTierException::builder().build(),
                )
            },
            501,
            "feature_unavailable",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::initiate_auth).then_error(error);
        let state = cognito_state(&[&rule]);
        let res = handle(&state, request("login_start")).await.unwrap();
        assert_error(&res, status, code);
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_refused_start_is_one_answer_for_an_unknown_user_and_a_known_one() {
    let refused = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::NotAuthorizedException(NotAuthorizedException::builder().build())
    });
    let unknown = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::UserNotFoundException(UserNotFoundException::builder().build())
    });
    let a = handle(&cognito_state(&[&refused]), request("login_start"))
        .await
        .unwrap();
    let b = handle(&cognito_state(&[&unknown]), request("login_start"))
        .await
        .unwrap();
    let body_a = assert_error(&a, 401, "invalid_credentials");
    let body_b = assert_error(&b, 401, "invalid_credentials");
    assert_eq!(body_a, body_b);
}

/// Each start may mail a code: a failure is answered, never tried again behind the caller's
/// back.
#[tokio::test]
async fn a_failed_start_is_never_retried() {
    let rule = mock!(Client::initiate_auth).then_error(|| {
        InitiateAuthError::InternalErrorException(InternalErrorException::builder().build())
    });
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("login_start")).await.unwrap();
    assert_error(&res, 503, "service_unavailable");
    assert_eq!(rule.num_calls(), 1, "one attempt");
}
