use std::sync::{Arc, Mutex};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::complete_web_authn_registration::{
    CompleteWebAuthnRegistrationError, CompleteWebAuthnRegistrationOutput,
};
use aws_sdk_cognitoidentityprovider::operation::delete_web_authn_credential::{
    DeleteWebAuthnCredentialError, DeleteWebAuthnCredentialOutput,
};
use aws_sdk_cognitoidentityprovider::operation::get_user::GetUserOutput;
use aws_sdk_cognitoidentityprovider::operation::get_user_auth_factors::GetUserAuthFactorsOutput;
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::operation::list_web_authn_credentials::ListWebAuthnCredentialsOutput;
use aws_sdk_cognitoidentityprovider::operation::revoke_token::RevokeTokenOutput;
use aws_sdk_cognitoidentityprovider::operation::start_web_authn_registration::{
    StartWebAuthnRegistrationError, StartWebAuthnRegistrationOutput,
};
use aws_sdk_cognitoidentityprovider::types::error::{
    InvalidParameterException, LimitExceededException, ResourceNotFoundException,
    WebAuthnChallengeNotFoundException, WebAuthnOriginNotAllowedException,
    WebAuthnRelyingPartyMismatchException,
};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFactorType, AuthFlowType, AuthenticationResultType, ChallengeNameType,
    WebAuthnCredentialDescription,
};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use test_support::*;

use super::{ROUTES, State};

/// The caller of every fixture of `events/passkeys_*`: their `sub`, which is also their
/// internal user name, their session (`origin_jti`) and their access token.
const SUB: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";
const SESSION: &str = "7d0e6a4f-2b1c-4d3e-9f8a-1b2c3d4e5f60";
const ACCESS_TOKEN: &str =
    "eyJraWQiOiJ0ZXN0IiwiYWxnIjoiUlMyNTYifQ.eyJ0b2tlbl91c2UiOiJhY2Nlc3MifQ.c2lnbmF0dXJl";
/// The grant a start records, and a finish redeems.
const GRANT_ID: &str = "passkey-setup:0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";

fn alerts_off() -> alerts::Alerts {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    alerts::Alerts::from_env(&platform::Env::from_pairs::<&str, &str>([]), &sdk)
}

/// The function's state over `cognito`, a mocked DynamoDB (`tables`) and `alerts`.
fn state_of(cognito: auth::Cognito, tables: &[&Rule], alerts: alerts::Alerts) -> State {
    let dynamodb = dynamodb_client(tables);
    let limits = tables::Limits::new(dynamodb.clone(), "limits".into());
    let recovery = tables::RecoveryCodes::new(dynamodb, "recovery-codes".into())
        .peppered(test_support::pepper());
    State {
        reauth: reauth::Reauth::new(cognito.clone(), recovery, limits.clone())
            .within(std::time::Duration::MAX),
        cognito,
        limits,
        alerts,
        audit: tables::Audit::new(audit_client(), "audit".into(), 1),
    }
}

/// The function over a mocked Cognito answering `rules` in order, a mocked DynamoDB (`tables`),
/// alerts off.
fn state_with(rules: &[&Rule], tables: &[&Rule]) -> platform::Api<State> {
    api(state_of(cognito(rules), tables, alerts_off()), ROUTES)
}

/// A Cognito client that answers each call from the first of `rules` that matches it, in any
/// order: for routes that make their calls at once.
fn cognito_any_order(rules: &[&Rule]) -> auth::Cognito {
    let client = mock_client!(
        aws_sdk_cognitoidentityprovider,
        RuleMode::MatchAny,
        rules,
        |conf| conf.retry_config(deployed_retries())
    );
    let app = auth::AppClient {
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.into()),
    };
    auth::Cognito::with_client(client, app).unwrap()
}

fn start_with(body: Value) -> platform::Request {
    request_with_json("passkeys_register_start", body)
}

fn finish_with(body: Value) -> platform::Request {
    request_with_json("passkeys_register_finish", body)
}

/// The credential of the finish fixture: a browser's `PublicKeyCredential.toJSON()`.
fn fixture_credential() -> Value {
    let event = event_json("passkeys_register_finish");
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["credential"].clone()
}

fn fixture_registration_token() -> String {
    let event = event_json("passkeys_register_finish");
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    body["registration_token"].as_str().unwrap().to_owned()
}

fn string_of(value: Option<&AttributeValue>) -> Option<&str> {
    value.and_then(|v| v.as_s().ok()).map(String::as_str)
}

// ---------------------------------------------------------------- Cognito's answers

/// The options StartWebAuthnRegistration answers, as JSON.
fn creation_options() -> Value {
    json!({
        "rp": {"id": "shop.example.com", "name": "Books"},
        "user": {"id": "dXNlci1pZA", "name": "alice@example.com", "displayName": "alice@example.com"},
        "challenge": "cmVnaXN0cmF0aW9uLWNoYWxsZW5nZQ",
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
        "timeout": 180000,
        "excludeCredentials": [],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "preferred"}
    })
}

fn registration_started() -> StartWebAuthnRegistrationOutput {
    StartWebAuthnRegistrationOutput::builder()
        .credential_creation_options(auth::passwordless::to_document(&creation_options()))
        .build()
        .unwrap()
}

/// A passkey as ListWebAuthnCredentials describes it.
fn described(id: &str, name: &str) -> WebAuthnCredentialDescription {
    WebAuthnCredentialDescription::builder()
        .credential_id(id)
        .friendly_credential_name(name)
        .relying_party_id("shop.example.com")
        .authenticator_attachment("platform")
        .authenticator_transports("internal")
        .authenticator_transports("hybrid")
        .created_at(DateTime::from_secs(1_795_255_800))
        .build()
        .unwrap()
}

/// That passkey as the API answers it.
fn listed(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "created_at": "2026-11-21T10:10:00Z",
        "authenticator_attachment": "platform",
        "transports": ["internal", "hybrid"],
        "relying_party_id": "shop.example.com"
    })
}

fn page(credentials: &[WebAuthnCredentialDescription]) -> ListWebAuthnCredentialsOutput {
    ListWebAuthnCredentialsOutput::builder()
        .set_credentials(Some(credentials.to_vec()))
        .build()
        .unwrap()
}

/// A sign-in without a second factor: the proof by password.
fn proof_signed_in() -> InitiateAuthOutput {
    InitiateAuthOutput::builder()
        .authentication_result(
            AuthenticationResultType::builder()
                .id_token(fake_jwt(&json!({"cognito:username": SUB})))
                .access_token(fake_jwt(
                    &json!({"username": SUB, "origin_jti": "proof-jti"}),
                ))
                .refresh_token("refresh-of-the-proof")
                .expires_in(3600)
                .build(),
        )
        .build()
}

fn proven_by_password() -> Rule {
    mock!(Client::initiate_auth)
        .match_requests(|r| {
            let p = r.auth_parameters().unwrap();
            r.auth_flow() == Some(&AuthFlowType::UserPasswordAuth)
                && p.get("USERNAME").map(String::as_str) == Some(SUB)
                && p.get("PASSWORD").map(String::as_str) == Some("Correct-Horse-9!")
                && p.get("SECRET_HASH") == Some(&expected_hash(SUB))
        })
        .then_output(proof_signed_in)
}

fn proofs_sign_in_ended() -> Rule {
    mock!(Client::revoke_token)
        .match_requests(|r| {
            r.token() == Some("refresh-of-the-proof") && r.client_id() == Some(CLIENT_ID)
        })
        .then_output(|| RevokeTokenOutput::builder().build())
}

fn grant_redeemed() -> Rule {
    mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|r| {
            r.table_name() == Some("limits")
                && string_of(r.key().and_then(|k| k.get("id"))) == Some(GRANT_ID)
                && string_of(
                    r.expression_attribute_values()
                        .and_then(|v| v.get(":bound")),
                ) == Some(SESSION)
        })
        .then_output(|| {
            DeleteItemOutput::builder()
                .attributes("expires_at", AttributeValue::N("4102444800".into()))
                .build()
        })
}

fn no_grant() -> Rule {
    mock!(aws_sdk_dynamodb::Client::delete_item).then_error(|| {
        DeleteItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    })
}

fn assert_passkey_added(res: &Response<Body>, passkey: Value) {
    let body = body_json(res);
    assert_eq!(res.status(), 201, "{body}");
    assert_json_with_cors(res);
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["passkey"], passkey);
}

// ---------------------------------------------------------------- /passkeys/register/start

#[tokio::test]
async fn a_start_without_any_proof_is_400_missing_field_and_calls_nothing() {
    let signed_in = mock!(Client::initiate_auth).then_output(proof_signed_in);
    let started = mock!(Client::start_web_authn_registration).then_output(registration_started);
    let granted =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&signed_in, &started], &[&granted]);
    for body in [json!({}), json!({"send_email_code": false})] {
        let res = handle(&state, start_with(body)).await.unwrap();
        assert_error(&res, 400, "missing_field");
    }
    assert_eq!(
        (
            signed_in.num_calls(),
            started.num_calls(),
            granted.num_calls()
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn a_start_with_more_than_one_proof_or_a_malformed_one_is_400_and_calls_nothing() {
    let signed_in = mock!(Client::initiate_auth).then_output(proof_signed_in);
    let started = mock!(Client::start_web_authn_registration).then_output(registration_started);
    let state = state_with(&[&signed_in, &started], &[]);
    for (body, code) in [
        (
            json!({"password": "Correct-Horse-9!", "send_email_code": true}),
            "invalid_field",
        ),
        (
            json!({"password": "Correct-Horse-9!", "email_code": "12345678", "proof_session": "s"}),
            "invalid_field",
        ),
        (
            json!({"send_email_code": true, "email_code": "12345678"}),
            "invalid_field",
        ),
        (json!({"send_email_code": "yes"}), "invalid_type"),
        (json!({"email_code": "12345678"}), "missing_field"),
        (json!({"password": ""}), "empty_field"),
        (
            json!({"password": "Correct-Horse-9!", "code": "123456", "recovery_code": "abcd-efgh"}),
            "invalid_field",
        ),
        (
            json!({"password": "Correct-Horse-9!", "registration_token": "x"}),
            "unknown_field",
        ),
    ] {
        let res = handle(&state, start_with(body.clone())).await.unwrap();
        let got = body_json(&res);
        assert_eq!(res.status(), 400, "{body}: {got}");
        assert_eq!(got["error"]["code"], code, "{body}: {got}");
    }
    assert_eq!((signed_in.num_calls(), started.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_start_with_the_password_proves_it_then_answers_the_options_and_a_registration_token() {
    let proven = proven_by_password();
    let ended = proofs_sign_in_ended();
    let started = mock!(Client::start_web_authn_registration)
        .match_requests(|r| r.access_token() == Some(ACCESS_TOKEN))
        .then_output(registration_started);
    let granted = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            let item = r.item().unwrap();
            let hash = string_of(item.get("token")).unwrap_or_default();
            r.table_name() == Some("limits")
                && string_of(item.get("id")) == Some(GRANT_ID)
                && string_of(item.get("bound_to")) == Some(SESSION)
                && hash.len() == 64
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && matches!(item.get("expires_at"), Some(AttributeValue::N(_)))
        })
        .then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&proven, &ended, &started], &[&granted]);

    // The fixture: {"password": "Correct-Horse-9!"}.
    let res = handle(&state, request("passkeys_register_start"))
        .await
        .unwrap();

    let body = body_json(&res);
    assert_eq!(res.status(), 200, "{body}");
    assert_json_with_cors(&res);
    assert_eq!(body["credential_creation_options"], creation_options());
    let token = body["registration_token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    assert_eq!(
        (
            proven.num_calls(),
            ended.num_calls(),
            started.num_calls(),
            granted.num_calls()
        ),
        (1, 1, 1, 1),
        "proven, the proof's sign-in ended, started, granted: each once"
    );
}

/// The grant keeps only the token's hash: the finish holding the token the start answered
/// redeems exactly the grant the start stored, in the same session.
#[tokio::test]
async fn the_registration_token_a_start_answers_redeems_the_grant_it_stored() {
    let stored: Arc<Mutex<Option<String>>> = Arc::default();
    let redeemed: Arc<Mutex<Option<String>>> = Arc::default();
    let proven = proven_by_password();
    let ended = proofs_sign_in_ended();
    let started = mock!(Client::start_web_authn_registration).then_output(registration_started);
    let before = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
    let completed = mock!(Client::complete_web_authn_registration)
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let after = mock!(Client::list_web_authn_credentials)
        .then_output(|| page(&[described("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux")]));
    let keep = stored.clone();
    let granted = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |r| {
            let hash = string_of(r.item().and_then(|i| i.get("token")));
            *keep.lock().unwrap() = hash.map(str::to_owned);
            true
        })
        .then_output(|| PutItemOutput::builder().build());
    let keep = redeemed.clone();
    let redeem = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(move |r| {
            let values = r.expression_attribute_values().unwrap();
            *keep.lock().unwrap() = string_of(values.get(":token")).map(str::to_owned);
            string_of(values.get(":bound")) == Some(SESSION)
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let state = state_with(
        &[&proven, &ended, &started, &before, &completed, &after],
        &[&granted, &redeem],
    );

    let res = handle(&state, request("passkeys_register_start"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    let token = body_json(&res)["registration_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = stored.lock().unwrap().clone().expect("a grant was stored");
    assert!(!stored.contains(&token), "the table never holds the token");

    let res = handle(
        &state,
        finish_with(json!({"credential": fixture_credential(), "registration_token": token})),
    )
    .await
    .unwrap();
    assert_passkey_added(&res, listed("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"));
    assert_eq!(redeemed.lock().unwrap().as_deref(), Some(stored.as_str()));
}

#[tokio::test]
async fn with_totp_on_a_start_with_the_password_alone_is_403_and_registers_nothing() {
    let challenged = mock!(Client::initiate_auth).then_output(|| {
        InitiateAuthOutput::builder()
            .challenge_name(ChallengeNameType::SoftwareTokenMfa)
            .session("session-1")
            .challenge_parameters("USER_ID_FOR_SRP", SUB)
            .build()
    });
    let started = mock!(Client::start_web_authn_registration).then_output(registration_started);
    let granted =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&challenged, &started], &[&granted]);
    let res = handle(&state, request("passkeys_register_start"))
        .await
        .unwrap();
    assert_error(&res, 403, "second_factor_required");
    assert_eq!((started.num_calls(), granted.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_start_asking_for_an_email_code_mails_one_and_answers_202_registering_nothing() {
    let mailed = mock!(Client::initiate_auth)
        .match_requests(|r| {
            let p = r.auth_parameters().unwrap();
            r.auth_flow() == Some(&AuthFlowType::UserAuth)
                && p.get("USERNAME").map(String::as_str) == Some(SUB)
                && p.get("PREFERRED_CHALLENGE").map(String::as_str) == Some("EMAIL_OTP")
        })
        .then_output(|| {
            InitiateAuthOutput::builder()
                .challenge_name(ChallengeNameType::EmailOtp)
                .session("proof-session-1")
                .challenge_parameters("CODE_DELIVERY_DESTINATION", "a***@e***")
                .build()
        });
    let started = mock!(Client::start_web_authn_registration).then_output(registration_started);
    // The code is counted first, by the caller's user name.
    let counted = mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.key()
                .and_then(|k| k.get("id"))
                .and_then(|v| v.as_s().ok())
                == Some(&format!("sign-in-code:{SUB}"))
        })
        .then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        });
    let granted =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&mailed, &started], &[&counted, &granted]);
    let res = handle(&state, start_with(json!({"send_email_code": true})))
        .await
        .unwrap();
    let body = body_json(&res);
    assert_eq!(res.status(), 202, "{body}");
    assert_eq!(body["proof_session"], "proof-session-1");
    assert_eq!(body["destination"], "a***@e***");
    assert!(body.get("registration_token").is_none(), "{body}");
    assert_eq!(
        (mailed.num_calls(), started.num_calls(), granted.num_calls()),
        (1, 0, 0)
    );
    assert_eq!(counted.num_calls(), 1);
}

#[tokio::test]
async fn a_user_at_the_most_passkeys_is_409_too_many_passkeys_at_the_start_with_no_grant() {
    let proven = proven_by_password();
    let ended = proofs_sign_in_ended();
    let refused = mock!(Client::start_web_authn_registration).then_error(|| {
        StartWebAuthnRegistrationError::LimitExceededException(
            LimitExceededException::builder().build(),
        )
    });
    let granted =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let state = state_with(&[&proven, &ended, &refused], &[&granted]);
    let res = handle(&state, request("passkeys_register_start"))
        .await
        .unwrap();
    assert_error(&res, 409, "too_many_passkeys");
    assert_eq!(granted.num_calls(), 0);
}

// ---------------------------------------------------------------- /passkeys/register/finish

#[tokio::test]
async fn a_finish_without_a_redeemable_grant_is_403_registration_required_and_never_completes() {
    let before = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
    let completed = mock!(Client::complete_web_authn_registration)
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let refused = no_grant();
    let state = state_with(&[&before, &completed], &[&refused]);
    let res = handle(&state, request("passkeys_register_finish"))
        .await
        .unwrap();
    assert_error(&res, 403, "registration_required");
    assert_eq!(refused.num_calls(), 1);
    assert_eq!((before.num_calls(), completed.num_calls()), (0, 0));
}

#[tokio::test]
async fn a_finish_with_its_grant_completes_with_the_credential_and_answers_201_with_the_new_passkey()
 {
    let before = mock!(Client::list_web_authn_credentials)
        .match_requests(|r| r.access_token() == Some(ACCESS_TOKEN))
        .then_output(|| page(&[described("b2xkLXBhc3NrZXk", "Old key")]));
    let completed = mock!(Client::complete_web_authn_registration)
        .match_requests(|r| {
            r.access_token() == Some(ACCESS_TOKEN)
                && r.credential().map(auth::passwordless::from_document)
                    == Some(fixture_credential())
        })
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let after = mock!(Client::list_web_authn_credentials).then_output(|| {
        page(&[
            described("b2xkLXBhc3NrZXk", "Old key"),
            described("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"),
        ])
    });
    let redeemed = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|r| {
            let values = r.expression_attribute_values().unwrap();
            let hash = string_of(values.get(":token")).unwrap_or_default();
            string_of(r.key().and_then(|k| k.get("id"))) == Some(GRANT_ID)
                && string_of(values.get(":bound")) == Some(SESSION)
                && hash.len() == 64
                && hash != fixture_registration_token()
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let state = state_with(&[&before, &completed, &after], &[&redeemed]);
    let res = handle(&state, request("passkeys_register_finish"))
        .await
        .unwrap();
    assert_passkey_added(&res, listed("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"));
    assert_eq!(
        (
            redeemed.num_calls(),
            before.num_calls(),
            completed.num_calls(),
            after.num_calls()
        ),
        (1, 1, 1, 1)
    );
}

#[tokio::test]
async fn a_finish_tells_the_user_at_their_verified_address_when_alerts_are_on() {
    use aws_sdk_sesv2::operation::send_email::SendEmailOutput;
    let before = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
    let completed = mock!(Client::complete_web_authn_registration)
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let after = mock!(Client::list_web_authn_credentials)
        .then_output(|| page(&[described("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux")]));
    let profile = mock!(Client::get_user)
        .match_requests(|r| r.access_token() == Some(ACCESS_TOKEN))
        .then_output(|| {
            let attribute = |name: &str, value: &str| {
                AttributeType::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .unwrap()
            };
            GetUserOutput::builder()
                .username(SUB)
                .user_attributes(attribute("email", "alice@example.com"))
                .user_attributes(attribute("email_verified", "true"))
                .build()
                .unwrap()
        });
    let mailed = mock!(aws_sdk_sesv2::Client::send_email)
        .match_requests(|r| {
            r.from_email_address() == Some("no-reply@example.com")
                && r.destination().map(|d| d.to_addresses())
                    == Some(&["alice@example.com".to_owned()][..])
        })
        .then_output(|| SendEmailOutput::builder().message_id("m-1").build());
    let ses = mock_client!(aws_sdk_sesv2, [&mailed]);
    let env = platform::Env::from_pairs([(alerts::FROM_VAR, "no-reply@example.com")]);
    let state = state_of(
        cognito(&[&before, &completed, &after, &profile]),
        &[&grant_redeemed()],
        alerts::Alerts::over(ses, &env),
    );
    let res = handle(&api(state, ROUTES), request("passkeys_register_finish"))
        .await
        .unwrap();
    assert_passkey_added(&res, listed("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"));
    assert_eq!((profile.num_calls(), mailed.num_calls()), (1, 1));
}

#[tokio::test]
async fn once_cognito_has_the_passkey_a_failure_to_read_the_address_or_list_it_is_still_201() {
    use aws_sdk_cognitoidentityprovider::operation::get_user::GetUserError;
    use aws_sdk_cognitoidentityprovider::operation::list_web_authn_credentials::ListWebAuthnCredentialsError;
    use aws_sdk_cognitoidentityprovider::types::error::InternalErrorException;
    let before = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
    let completed = mock!(Client::complete_web_authn_registration)
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let after = mock!(Client::list_web_authn_credentials).then_error(|| {
        ListWebAuthnCredentialsError::InternalErrorException(
            InternalErrorException::builder().build(),
        )
    });
    let profile = mock!(Client::get_user).then_error(|| {
        GetUserError::InternalErrorException(InternalErrorException::builder().build())
    });
    let mailed = mock!(aws_sdk_sesv2::Client::send_email).then_output(|| {
        aws_sdk_sesv2::operation::send_email::SendEmailOutput::builder()
            .message_id("m-1")
            .build()
    });
    let ses = mock_client!(aws_sdk_sesv2, [&mailed]);
    let env = platform::Env::from_pairs([(alerts::FROM_VAR, "no-reply@example.com")]);
    let state = state_of(
        cognito(&[&before, &completed, &after, &profile]),
        &[&grant_redeemed()],
        alerts::Alerts::over(ses, &env),
    );
    let res = handle(&api(state, ROUTES), request("passkeys_register_finish"))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(completed.num_calls(), 1);
    assert_eq!(mailed.num_calls(), 0);
}

#[tokio::test]
async fn cognitos_refusals_of_a_registration_map_to_stable_codes_and_are_never_retried() {
    let cases: Vec<ErrorCase<CompleteWebAuthnRegistrationError>> = vec![
        (
            || {
                CompleteWebAuthnRegistrationError::WebAuthnOriginNotAllowedException(
                    WebAuthnOriginNotAllowedException::builder().build(),
                )
            },
            400,
            "passkey_origin_not_allowed",
        ),
        (
            || {
                CompleteWebAuthnRegistrationError::WebAuthnRelyingPartyMismatchException(
                    WebAuthnRelyingPartyMismatchException::builder().build(),
                )
            },
            400,
            "passkey_relying_party_mismatch",
        ),
        (
            || {
                CompleteWebAuthnRegistrationError::WebAuthnChallengeNotFoundException(
                    WebAuthnChallengeNotFoundException::builder().build(),
                )
            },
            400,
            "passkey_challenge_expired",
        ),
        (
            || {
                CompleteWebAuthnRegistrationError::InvalidParameterException(
                    InvalidParameterException::builder().build(),
                )
            },
            400,
            "invalid_credential",
        ),
        (
            || {
                CompleteWebAuthnRegistrationError::LimitExceededException(
                    LimitExceededException::builder().build(),
                )
            },
            409,
            "too_many_passkeys",
        ),
    ];
    for (error, status, code) in cases {
        let before = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
        let refused = mock!(Client::complete_web_authn_registration).then_error(error);
        let after = mock!(Client::list_web_authn_credentials).then_output(|| page(&[]));
        let state = state_with(&[&before, &refused, &after], &[&grant_redeemed()]);
        let res = handle(&state, request("passkeys_register_finish"))
            .await
            .unwrap();
        assert_error(&res, status, code);
        assert_eq!(refused.num_calls(), 1, "{code}: tried once");
        assert_eq!(after.num_calls(), 0, "{code}");
    }
}

#[tokio::test]
async fn a_finish_with_a_credential_that_is_not_a_public_key_credential_is_400_before_any_call() {
    let redeem = grant_redeemed();
    let completed = mock!(Client::complete_web_authn_registration)
        .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build());
    let state = state_with(&[&completed], &[&redeem]);
    let token = fixture_registration_token();
    let mut no_response = fixture_credential();
    no_response.as_object_mut().unwrap().remove("response");
    let mut wrong_type = fixture_credential();
    wrong_type["type"] = json!("password");
    for (body, code) in [
        (
            json!({"credential": fixture_credential().to_string(), "registration_token": token}),
            "invalid_field",
        ),
        (
            json!({"credential": no_response, "registration_token": token}),
            "invalid_field",
        ),
        (
            json!({"credential": wrong_type, "registration_token": token}),
            "invalid_field",
        ),
        (json!({"registration_token": token}), "missing_field"),
        (json!({"credential": fixture_credential()}), "missing_field"),
        (
            json!({"credential": fixture_credential(), "registration_token": "x".repeat(44)}),
            "invalid_field",
        ),
        (
            json!({"credential": fixture_credential(), "registration_token": token, "name": "k"}),
            "unknown_field",
        ),
    ] {
        let res = handle(&state, finish_with(body.clone())).await.unwrap();
        let got = body_json(&res);
        assert_eq!(res.status(), 400, "{body}: {got}");
        assert_eq!(got["error"]["code"], code, "{body}: {got}");
    }
    assert_eq!((redeem.num_calls(), completed.num_calls()), (0, 0));
}

// ---------------------------------------------------------------- GET /passkeys

#[tokio::test]
async fn the_list_follows_every_page_and_joins_the_ways_the_user_can_sign_in() {
    let first = mock!(Client::list_web_authn_credentials)
        .match_requests(|r| {
            r.access_token() == Some(ACCESS_TOKEN)
                && r.next_token().is_none()
                && r.max_results() == Some(20)
        })
        .then_output(|| {
            ListWebAuthnCredentialsOutput::builder()
                .credentials(described("b2xkLXBhc3NrZXk", "Old key"))
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(Client::list_web_authn_credentials)
        .match_requests(|r| {
            r.access_token() == Some(ACCESS_TOKEN) && r.next_token() == Some("page-2")
        })
        .then_output(|| {
            ListWebAuthnCredentialsOutput::builder()
                .credentials(described("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"))
                .build()
                .unwrap()
        });
    let factors = mock!(Client::get_user_auth_factors)
        .match_requests(|r| r.access_token() == Some(ACCESS_TOKEN))
        .then_output(|| {
            GetUserAuthFactorsOutput::builder()
                .username(SUB)
                .configured_user_auth_factors(AuthFactorType::Password)
                .configured_user_auth_factors(AuthFactorType::WebAuthn)
                .configured_user_auth_factors(AuthFactorType::EmailOtp)
                .configured_user_auth_factors(AuthFactorType::SmsOtp)
                .build()
                .unwrap()
        });
    // The two calls go at once: any order.
    let state = api(
        state_of(
            cognito_any_order(&[&first, &second, &factors]),
            &[],
            alerts_off(),
        ),
        ROUTES,
    );
    let res = handle(&state, request("passkeys_list")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    assert_eq!(
        body_json(&res),
        json!({
            "passkeys": [
                listed("b2xkLXBhc3NrZXk", "Old key"),
                listed("AAECAwQFBgcICQoLDA0ODw", "Chrome on Linux"),
            ],
            "methods": ["password", "passkey", "email_otp"]
        })
    );
    assert_eq!(
        (first.num_calls(), second.num_calls(), factors.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn an_empty_next_token_ends_the_list() {
    let only = mock!(Client::list_web_authn_credentials).then_output(|| {
        ListWebAuthnCredentialsOutput::builder()
            .set_credentials(Some(vec![]))
            .next_token("")
            .build()
            .unwrap()
    });
    let factors = mock!(Client::get_user_auth_factors).then_output(|| {
        GetUserAuthFactorsOutput::builder()
            .username(SUB)
            .configured_user_auth_factors(AuthFactorType::Password)
            .build()
            .unwrap()
    });
    let state = api(
        state_of(cognito_any_order(&[&only, &factors]), &[], alerts_off()),
        ROUTES,
    );
    let res = handle(&state, request("passkeys_list")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(
        body_json(&res),
        json!({"passkeys": [], "methods": ["password"]})
    );
    assert_eq!(only.num_calls(), 1);
}

// ---------------------------------------------------------------- DELETE /passkeys/{id}

fn delete_of(id: &str) -> platform::Request {
    let mut event = event_json("passkeys_delete");
    set_path_id(&mut event, id);
    to_request(&event)
}

#[tokio::test]
async fn a_delete_names_the_passkey_and_the_caller_to_cognito() {
    let deleted = mock!(Client::delete_web_authn_credential)
        .match_requests(|r| {
            r.access_token() == Some(ACCESS_TOKEN)
                && r.credential_id() == Some("AAECAwQFBgcICQoLDA0ODw")
        })
        .then_output(|| DeleteWebAuthnCredentialOutput::builder().build());
    let other = mock!(Client::delete_web_authn_credential)
        .match_requests(|r| r.credential_id() == Some("b2xk-LXBh_c3NrZXk"))
        .then_output(|| DeleteWebAuthnCredentialOutput::builder().build());
    let state = state_with(&[&deleted, &other], &[]);
    for req in [request("passkeys_delete"), delete_of("b2xk-LXBh_c3NrZXk")] {
        let res = handle(&state, req).await.unwrap();
        assert_eq!(res.status(), 200, "{}", body_json(&res));
        assert_json_with_cors(&res);
        assert!(body_json(&res)["message"].is_string());
    }
    assert_eq!((deleted.num_calls(), other.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_delete_of_an_id_that_is_not_base64url_is_404_without_a_call() {
    let deleted = mock!(Client::delete_web_authn_credential)
        .then_output(|| DeleteWebAuthnCredentialOutput::builder().build());
    let state = state_with(&[&deleted], &[]);
    for id in [
        "not.base64url",
        "AAECAwQFBgcICQoLDA0ODw==",
        "AAEC+wQF",
        "AAEC%2FwQF",
        &"A".repeat(1401),
    ] {
        let res = handle(&state, delete_of(id)).await.unwrap();
        assert_error(&res, 404, "not_found");
    }
    assert_eq!(deleted.num_calls(), 0);
}

#[tokio::test]
async fn a_delete_of_a_passkey_cognito_does_not_know_is_404_not_found() {
    let unknown = mock!(Client::delete_web_authn_credential).then_error(|| {
        DeleteWebAuthnCredentialError::ResourceNotFoundException(
            ResourceNotFoundException::builder().build(),
        )
    });
    let state = state_with(&[&unknown], &[]);
    let res = handle(&state, request("passkeys_delete")).await.unwrap();
    assert_error(&res, 404, "not_found");
    assert_eq!(unknown.num_calls(), 1);
}

// ---------------------------------------------------------------- every route

fn every_route() -> Vec<platform::Request> {
    [
        "passkeys_register_start",
        "passkeys_register_finish",
        "passkeys_list",
        "passkeys_delete",
    ]
    .into_iter()
    .map(request)
    .collect()
}

/// Rules for every call the routes make, so that a test can tell none was made.
struct Untouched {
    cognito: Vec<Rule>,
    tables: Vec<Rule>,
}

impl Untouched {
    fn new() -> Self {
        Self {
            cognito: vec![
                mock!(Client::initiate_auth).then_output(proof_signed_in),
                mock!(Client::start_web_authn_registration).then_output(registration_started),
                mock!(Client::complete_web_authn_registration)
                    .then_output(|| CompleteWebAuthnRegistrationOutput::builder().build()),
                mock!(Client::list_web_authn_credentials).then_output(|| page(&[])),
                mock!(Client::delete_web_authn_credential)
                    .then_output(|| DeleteWebAuthnCredentialOutput::builder().build()),
            ],
            tables: vec![
                mock!(aws_sdk_dynamodb::Client::put_item)
                    .then_output(|| PutItemOutput::builder().build()),
                mock!(aws_sdk_dynamodb::Client::delete_item)
                    .then_output(|| DeleteItemOutput::builder().build()),
            ],
        }
    }

    fn state(&self, passwordless: auth::Passwordless) -> State {
        let cognito: Vec<&Rule> = self.cognito.iter().collect();
        let tables: Vec<&Rule> = self.tables.iter().collect();
        state_of(
            cognito_any_order(&cognito).with_passwordless(passwordless),
            &tables,
            alerts_off(),
        )
    }

    fn calls(&self) -> usize {
        self.cognito
            .iter()
            .chain(&self.tables)
            .map(Rule::num_calls)
            .sum()
    }
}

#[tokio::test]
async fn with_passwordless_off_every_route_is_501_feature_unavailable_without_a_call() {
    let untouched = Untouched::new();
    let state = api(untouched.state(auth::Passwordless::Off), ROUTES);
    for req in every_route() {
        let res = handle(&state, req).await.unwrap();
        assert_error(&res, 501, "feature_unavailable");
    }
    assert_eq!(untouched.calls(), 0);
}

#[tokio::test]
async fn every_route_without_the_authorizers_caller_is_401_without_a_call() {
    let untouched = Untouched::new();
    let state = api(untouched.state(auth::Passwordless::On), ROUTES);
    for name in [
        "passkeys_register_start",
        "passkeys_register_finish",
        "passkeys_list",
        "passkeys_delete",
    ] {
        let mut event = event_json(name);
        remove_authorizer(&mut event);
        let res = handle(&state, to_request(&event)).await.unwrap();
        assert_error(&res, 401, "unauthorized");
    }
    assert_eq!(untouched.calls(), 0);
}

/// As the function is deployed: every caller checked against the sessions table first.
#[tokio::test]
async fn a_signed_out_session_cannot_reach_any_route() {
    let untouched = Untouched::new();
    // The session's record is gone.
    let signed_out = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.table_name() == Some("sessions")
                && string_of(r.key().and_then(|k| k.get("pk"))) == Some(SUB)
                && string_of(r.key().and_then(|k| k.get("sk")))
                    == Some(format!("session#{}", sessions::session_id(SESSION)).as_str())
                && r.consistent_read() == Some(true)
        })
        .then_output(|| GetItemOutput::builder().build());
    let sessions = tables::Sessions::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&signed_out]),
        "sessions".into(),
    );
    let state = platform::Api::new(
        platform::Cors::default(),
        untouched.state(auth::Passwordless::On),
        ROUTES,
    )
    .protected(EVENTS_CLIENT_ID, Arc::new(sessions));
    for req in every_route() {
        let res = handle(&state, req).await.unwrap();
        assert_error(&res, 401, "token_revoked");
    }
    assert_eq!(signed_out.num_calls(), 4);
    assert_eq!(untouched.calls(), 0);
}

#[tokio::test]
async fn malformed_bodies_are_refused_before_any_call() {
    let untouched = Untouched::new();
    let state = api(untouched.state(auth::Passwordless::On), ROUTES);
    for event in ["passkeys_register_start", "passkeys_register_finish"] {
        for (case, body, status) in [
            ("no body", None, 400),
            ("invalid JSON", Some("{\"password\":"), 400),
            ("JSON array", Some("[]"), 400),
            (
                "over 16 KiB",
                Some(&*format!("{{\"password\":\"{}\"}}", "a".repeat(17 * 1024))),
                413,
            ),
        ] {
            let res = handle(&state, request_with_body(event, body))
                .await
                .unwrap();
            assert_eq!(res.status(), status, "{event} {case}: {}", body_json(&res));
            assert_json_with_cors(&res);
        }
    }
    assert_eq!(untouched.calls(), 0);
}
