use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::sign_up::{SignUpError, SignUpOutput};
use aws_sdk_cognitoidentityprovider::types::error::{
    InternalErrorException, InvalidParameterException, InvalidPasswordException,
    LimitExceededException, TooManyRequestsException, UsernameExistsException,
};
use aws_sdk_cognitoidentityprovider::types::{CodeDeliveryDetailsType, DeliveryMediumType};
use aws_smithy_mocks::mock;
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

fn cognito_state(rules: &[&aws_smithy_mocks::Rule]) -> platform::Api<State> {
    let state = State {
        cognito: cognito(rules),
        audit: tables::Audit::new(audit_client(), "audit".to_owned(), 1),
    };
    api(state, ROUTES)
}

fn signed_up(confirmed: bool) -> SignUpOutput {
    SignUpOutput::builder()
        .user_confirmed(confirmed)
        .user_sub("6f1d2f3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f")
        .code_delivery_details(
            CodeDeliveryDetailsType::builder()
                .destination("a***@e***")
                .delivery_medium(DeliveryMediumType::Email)
                .attribute_name("email")
                .build(),
        )
        .build()
        .unwrap()
}

/// Cognito's lockouts and threat protection see the caller's address, not Lambda's.
#[tokio::test]
async fn register_tells_cognito_the_callers_ip_address() {
    let rule = mock!(Client::sign_up)
        .match_requests(|r| r.user_context_data().and_then(|u| u.ip_address()) == Some(CALLER_IP))
        .then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("register")).await.unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn register_signs_up_the_normalised_user_with_secret_hash_and_email() {
    let rule = mock!(Client::sign_up)
        .match_requests(|r| {
            let email = r.user_attributes().first();
            r.client_id() == Some(CLIENT_ID)
                && r.username() == Some("alice@example.com")
                && r.password() == Some("Correct-Horse-9")
                && r.secret_hash() == Some(expected_hash("alice@example.com").as_str())
                && email.map(|a| (a.name(), a.value()))
                    == Some(("email", Some("alice@example.com")))
        })
        .then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    let req = request_with_json(
        "register",
        json!({"username": "  Alice@Example.com ", "password": "Correct-Horse-9"}),
    );

    let res = handle(&state, req).await.unwrap();

    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["username"], "alice@example.com");
    assert_eq!(body["user_confirmed"], false);
    assert_eq!(
        body["code_delivery"],
        json!({"destination": "a***@e***", "medium": "EMAIL"})
    );
    assert!(body["message"].is_string());
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn register_from_the_event_fixture_succeeds() {
    let rule = mock!(Client::sign_up).then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("register")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_explicit_email_is_sent_and_a_plain_username_gets_none_otherwise() {
    let with_email = mock!(Client::sign_up)
        .match_requests(|r| {
            r.username() == Some("bob")
                && r.user_attributes().len() == 1
                && r.user_attributes()[0].value() == Some("bob@example.org")
        })
        .then_output(|| signed_up(false));
    let state = cognito_state(&[&with_email]);
    let req = request_with_json(
        "register",
        json!({"username": "Bob", "password": "Correct-Horse-9", "email": " Bob@Example.org "}),
    );
    assert_eq!(handle(&state, req).await.unwrap().status(), 200);

    let without = mock!(Client::sign_up)
        .match_requests(|r| r.username() == Some("carol") && r.user_attributes().is_empty())
        .then_output(|| {
            SignUpOutput::builder()
                .user_confirmed(true)
                .user_sub("s")
                .build()
                .unwrap()
        });
    let state = cognito_state(&[&without]);
    let req = request_with_json(
        "register",
        json!({"username": "carol", "password": "pw-12345678"}),
    );
    let res = handle(&state, req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = body_json(&res);
    assert_eq!(body["user_confirmed"], true);
    assert_eq!(body["code_delivery"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_invalid_email_is_400_before_cognito_is_called() {
    let rule = mock!(Client::sign_up).then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    for email in [
        json!("not-an-email"),
        json!("a@"),
        json!("@b"),
        json!("a b@c.d"),
    ] {
        let req = request_with_json(
            "register",
            json!({"username": "dave", "password": "Correct-Horse-9", "email": email}),
        );
        assert_error(&handle(&state, req).await.unwrap(), 400, "invalid_field");
    }
    let req = request_with_json(
        "register",
        json!({"username": "dave", "password": "Correct-Horse-9", "email": 7}),
    );
    assert_error(&handle(&state, req).await.unwrap(), 400, "invalid_type");
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_missing_or_empty_password_is_400() {
    let rule = mock!(Client::sign_up).then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    let cases = [
        (json!({"username": "erin"}), "missing_field"),
        (json!({"username": "erin", "password": ""}), "empty_field"),
        (
            json!({"username": "erin", "password": ["x"]}),
            "invalid_type",
        ),
        (
            json!({"username": "erin", "password": "x".repeat(257)}),
            "invalid_field",
        ),
    ];
    for (body, code) in cases {
        let res = handle(&state, request_with_json("register", body))
            .await
            .unwrap();
        assert_error(&res, 400, code);
    }
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn cognito_refusals_map_to_their_status_and_code() {
    let cases: Vec<ErrorCase<SignUpError>> = vec![
        (
            || {
                SignUpError::UsernameExistsException(
                    UsernameExistsException::builder()
                        .message("User already exists")
                        .build(),
                )
            },
            409,
            "username_exists",
        ),
        (
            || {
                SignUpError::InvalidPasswordException(
                    InvalidPasswordException::builder()
                        .message("Password did not conform with policy")
                        .build(),
                )
            },
            400,
            "invalid_password",
        ),
        (
            || {
                SignUpError::InvalidParameterException(
                    InvalidParameterException::builder()
                        .message("Invalid email address format.")
                        .build(),
                )
            },
            400,
            "invalid_parameter",
        ),
        (
            || SignUpError::TooManyRequestsException(TooManyRequestsException::builder().build()),
            429,
            "too_many_requests",
        ),
        (
            || SignUpError::LimitExceededException(LimitExceededException::builder().build()),
            429,
            "too_many_requests",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::sign_up).then_error(error);
        let state = cognito_state(&[&rule]);
        let res = handle(&state, request("register")).await.unwrap();
        assert_error(&res, status, code);
        if status == 429 {
            let secs: u32 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1);
        }
    }
}

#[tokio::test]
async fn a_cognito_failure_is_an_opaque_503_with_cors() {
    let rule = mock!(Client::sign_up).then_error(|| {
        SignUpError::InternalErrorException(
            InternalErrorException::builder()
                .message("db shard 7 exploded")
                .build(),
        )
    });
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("register")).await.unwrap();
    let body = assert_error(&res, 503, "service_unavailable");
    assert!(!body.to_string().contains("shard"));
    assert!(!body.to_string().contains("Exception"));
}

#[tokio::test]
async fn sign_up_is_not_retried_after_a_server_error() {
    // A retry could meet the account the first attempt created and answer username_exists.
    let rule = mock!(Client::sign_up)
        .sequence()
        .http_status(500, None)
        .output(|| signed_up(false))
        .build();
    let state = cognito_state(&[&rule]);
    let res = handle(&state, request("register")).await.unwrap();
    assert_error(&res, 503, "service_unavailable");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_naming_the_problem() {
    let rule = mock!(Client::sign_up).then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("register", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn a_base64_encoded_json_body_is_accepted() {
    let rule = mock!(Client::sign_up).then_output(|| signed_up(false));
    let state = cognito_state(&[&rule]);
    // {"username":"frank","password":"Correct-Horse-9"}
    let req = request_with_base64_body(
        "register",
        "eyJ1c2VybmFtZSI6ImZyYW5rIiwicGFzc3dvcmQiOiJDb3JyZWN0LUhvcnNlLTkifQ==",
    );
    let res = handle(&state, req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(body_json(&res)["username"], "frank");
}
