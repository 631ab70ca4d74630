use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::operation::admin_user_global_sign_out::AdminUserGlobalSignOutOutput;
use aws_sdk_cognitoidentityprovider::operation::change_password::{
    ChangePasswordError, ChangePasswordOutput,
};
use aws_sdk_cognitoidentityprovider::operation::confirm_forgot_password::{
    ConfirmForgotPasswordError, ConfirmForgotPasswordOutput,
};
use aws_sdk_cognitoidentityprovider::operation::forgot_password::{
    ForgotPasswordError, ForgotPasswordOutput,
};
use aws_sdk_cognitoidentityprovider::operation::global_sign_out::{
    GlobalSignOutError, GlobalSignOutOutput,
};
use aws_sdk_cognitoidentityprovider::operation::resend_confirmation_code::{
    ResendConfirmationCodeError, ResendConfirmationCodeOutput,
};
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_cognitoidentityprovider::types::CodeDeliveryDetailsType;
use aws_sdk_cognitoidentityprovider::types::error::{
    CodeMismatchException, ExpiredCodeException, InvalidParameterException,
    InvalidPasswordException, LimitExceededException, NotAuthorizedException,
    TooManyRequestsException, UserNotFoundException,
};
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use test_support::*;

use super::{FORGOT_MESSAGE, RESEND_MESSAGE, ROUTES, State};

fn cognito_state(rules: &[&Rule]) -> platform::Api<State> {
    state_with(rules, &[])
}

/// The account function over a mocked Cognito (`rules`) and a mocked DynamoDB (`tables`).
fn state_with(rules: &[&Rule], tables: &[&Rule]) -> platform::Api<State> {
    let audit = tables::Audit::new(audit_client(), "audit".into(), 1);
    state_with_audit(rules, tables, audit)
}

/// [`state_with`], its events in `audit`.
fn state_with_audit(
    rules: &[&Rule],
    tables: &[&Rule],
    audit: tables::Audit,
) -> platform::Api<State> {
    let dynamodb = dynamodb_client(tables);
    let cognito = cognito(rules);
    let recovery = tables::RecoveryCodes::new(dynamodb.clone(), "recovery-codes".to_owned())
        .peppered(test_support::pepper());
    let limits = tables::Limits::new(dynamodb.clone(), "limits".to_owned());
    let env = platform::Env::from_pairs::<&str, &str>([]);
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let state = State {
        // Any sign-in is recent enough here; the window has tests of its own.
        reauth: reauth::Reauth::new(cognito.clone(), recovery.clone(), limits.clone())
            .within(std::time::Duration::MAX),
        cognito,
        sessions: tables::Sessions::new(dynamodb.clone(), "sessions".to_owned()),
        books: tables::Books::new(dynamodb, "books"),
        recovery,
        limits,
        alerts: alerts::Alerts::from_env(&env, &sdk),
        pool_id: "us-east-1_test".to_owned(),
        audit,
    };
    api(state, ROUTES)
}

/// The look-up of a reset request's user, for its event: no such user (nothing recorded).
fn no_user() -> Rule {
    mock!(Client::admin_get_user).then_error(|| {
        aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError::UserNotFoundException(
            UserNotFoundException::builder().build(),
        )
    })
}

/// The access token in the change_password and logout events.
const ACCESS_TOKEN: &str =
    "eyJraWQiOiJ0ZXN0IiwiYWxnIjoiUlMyNTYifQ.eyJ0b2tlbl91c2UiOiJhY2Nlc3MifQ.c2lnbmF0dXJl";

async fn call(
    rules: &[&Rule],
    req: lambda_http::Request,
) -> lambda_http::Response<lambda_http::Body> {
    handle(&cognito_state(rules), req).await.unwrap()
}

fn assert_message(res: &lambda_http::Response<lambda_http::Body>, text: &str) {
    assert_eq!(res.status(), 200, "body: {:?}", res.body());
    assert_json_with_cors(res);
    assert_eq!(body_json(res)["message"], text);
}

// ---------------------------------------------------------------- /resend_code

fn delivered() -> ResendConfirmationCodeOutput {
    ResendConfirmationCodeOutput::builder()
        .code_delivery_details(
            CodeDeliveryDetailsType::builder()
                .destination("a***@e***")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn resend_code_sends_the_normalised_username_with_its_secret_hash() {
    let rule = mock!(Client::resend_confirmation_code)
        .match_requests(|r| {
            r.client_id() == Some(CLIENT_ID)
                && r.username() == Some("alice@example.com")
                && r.secret_hash() == Some(&expected_hash("alice@example.com"))
        })
        .then_output(delivered);
    let req = request_with_json(
        "account_resend_code",
        json!({"username": " Alice@Example.com "}),
    );
    let res = call(&[&rule], req).await;
    assert_message(&res, RESEND_MESSAGE);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn resend_code_answers_the_same_for_unknown_confirmed_and_disabled_accounts() {
    let ok = mock!(Client::resend_confirmation_code).then_output(delivered);
    let delivered_res = call(&[&ok], request("account_resend_code")).await;
    let cases: Vec<fn() -> ResendConfirmationCodeError> = vec![
        || {
            ResendConfirmationCodeError::UserNotFoundException(
                UserNotFoundException::builder().build(),
            )
        },
        // "User is already confirmed."
        || {
            ResendConfirmationCodeError::InvalidParameterException(
                InvalidParameterException::builder().build(),
            )
        },
        // "User is disabled."
        || {
            ResendConfirmationCodeError::NotAuthorizedException(
                NotAuthorizedException::builder().build(),
            )
        },
    ];
    for error in cases {
        let rule = mock!(Client::resend_confirmation_code).then_error(error);
        let res = call(&[&rule], request("account_resend_code")).await;
        assert_eq!(res.status(), delivered_res.status());
        assert_eq!(
            res.body(),
            delivered_res.body(),
            "the same body, byte for byte"
        );
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn resend_code_throttling_is_429_whoever_asks() {
    let rule = mock!(Client::resend_confirmation_code).then_error(|| {
        ResendConfirmationCodeError::LimitExceededException(
            LimitExceededException::builder().build(),
        )
    });
    let res = call(&[&rule], request("account_resend_code")).await;
    assert_error(&res, 429, "too_many_requests");
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn resend_code_rejects_malformed_bodies_without_calling_cognito() {
    let rule = mock!(Client::resend_confirmation_code).then_output(delivered);
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("account_resend_code", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}

// ---------------------------------------------------------------- /forgot_password

#[tokio::test]
async fn forgot_password_sends_the_secret_hash_and_never_returns_where_the_code_went() {
    let rule = mock!(Client::forgot_password)
        .match_requests(|r| {
            r.client_id() == Some(CLIENT_ID)
                && r.username() == Some("alice@example.com")
                && r.secret_hash() == Some(&expected_hash("alice@example.com"))
        })
        .then_output(|| {
            ForgotPasswordOutput::builder()
                .code_delivery_details(
                    CodeDeliveryDetailsType::builder()
                        .destination("a***@e***")
                        .build(),
                )
                .build()
        });
    let res = call(&[&rule, &no_user()], request("account_forgot_password")).await;
    assert_message(&res, FORGOT_MESSAGE);
    let body = body_json(&res);
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only the message: {body}"
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_accounts_that_do_not_exist_or_cannot_reset() {
    let ok = mock!(Client::forgot_password).then_output(|| ForgotPasswordOutput::builder().build());
    let expected = call(&[&ok, &no_user()], request("account_forgot_password")).await;
    let cases: Vec<fn() -> ForgotPasswordError> = vec![
        || ForgotPasswordError::UserNotFoundException(UserNotFoundException::builder().build()),
        // No verified e-mail to send the code to.
        || {
            ForgotPasswordError::InvalidParameterException(
                InvalidParameterException::builder().build(),
            )
        },
        || ForgotPasswordError::NotAuthorizedException(NotAuthorizedException::builder().build()),
    ];
    for error in cases {
        let rule = mock!(Client::forgot_password).then_error(error);
        let res = call(&[&rule, &no_user()], request("account_forgot_password")).await;
        assert_eq!(res.status(), expected.status());
        assert_eq!(res.body(), expected.body());
    }
}

#[tokio::test]
async fn forgot_password_limits_are_429() {
    let cases: Vec<fn() -> ForgotPasswordError> = vec![
        || ForgotPasswordError::LimitExceededException(LimitExceededException::builder().build()),
        || {
            ForgotPasswordError::TooManyRequestsException(
                TooManyRequestsException::builder().build(),
            )
        },
    ];
    for error in cases {
        let rule = mock!(Client::forgot_password).then_error(error);
        let res = call(&[&rule], request("account_forgot_password")).await;
        assert_error(&res, 429, "too_many_requests");
    }
}

#[tokio::test]
async fn forgot_password_rejects_malformed_bodies_without_calling_cognito() {
    let rule =
        mock!(Client::forgot_password).then_output(|| ForgotPasswordOutput::builder().build());
    let state = cognito_state(&[&rule]);
    assert_rejects_malformed_bodies("account_forgot_password", |req| handle(&state, req)).await;
    assert_eq!(rule.num_calls(), 0);
}

// ---------------------------------------------------------------- /reset_password

/// What a successful reset goes on to: the user's `sub`, then every session signed out.
fn reset_sign_out() -> (Rule, Rule, Vec<Rule>) {
    let sub = mock!(Client::admin_get_user)
        .match_requests(|r| {
            r.user_pool_id() == Some("us-east-1_test") && r.username() == Some("alice@example.com")
        })
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
    let out = mock!(Client::admin_user_global_sign_out)
        .match_requests(|r| r.username() == Some("alice@example.com"))
        .then_output(|| AdminUserGlobalSignOutOutput::builder().build());
    let recorded = sessions_ended("sub-1", &["s1"]);
    (sub, out, recorded)
}

/// The sessions table's rules for ending every session `ids` of `sub`: the list (Query), then
/// for each its record (GetItem) and the transaction that deletes it.
fn sessions_ended(sub: &'static str, ids: &'static [&'static str]) -> Vec<Rule> {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let record = move |id: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), V::S(sub.to_owned())),
            ("sk".to_owned(), V::S(format!("session#{id}"))),
            ("refresh".to_owned(), V::S(format!("hash-of-{id}"))),
            ("started_at".to_owned(), V::N("1000".into())),
        ])
    };
    let mut rules = vec![
        mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(move |r| {
                r.table_name() == Some("sessions")
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":sub"))
                        .and_then(|v| v.as_s().ok())
                        == Some(&sub.to_owned())
            })
            .then_output(move || {
                aws_sdk_dynamodb::operation::query::QueryOutput::builder()
                    .set_items(Some(ids.iter().map(|id| record(id)).collect()))
                    .build()
            }),
    ];
    for id in ids {
        rules.push(
            mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
                aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                    .set_item(Some(record(id)))
                    .build()
            }),
        );
        rules.push(
            mock!(aws_sdk_dynamodb::Client::transact_write_items)
                .match_requests(move |t| {
                    let deleted = format!("{t:?}");
                    t.transact_items().iter().all(|i| i.delete().is_some())
                        && deleted.contains(&format!("session#{id}"))
                        && deleted.contains(&format!("refresh#hash-of-{id}"))
                })
                .then_output(|| {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput::builder()
                        .build()
                }),
        );
        // The sweep for aliases a refresh may have left: none.
        rules.push(swept());
    }
    rules
}

/// The query an ending makes after its transaction, for aliases left behind: none.
fn swept() -> Rule {
    mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build())
}

#[tokio::test]
async fn reset_password_sends_code_password_and_secret_hash() {
    let rule = mock!(Client::confirm_forgot_password)
        .match_requests(|r| {
            r.username() == Some("alice@example.com")
                && r.confirmation_code() == Some("123456")
                && r.password() == Some("Another-Horse-7!")
                && r.secret_hash() == Some(&expected_hash("alice@example.com"))
        })
        .then_output(|| ConfirmForgotPasswordOutput::builder().build());
    let (sub, out, recorded) = reset_sign_out();
    let tables: Vec<&Rule> = recorded.iter().collect();
    let state = state_with(&[&sub, &rule, &out], &tables);
    let res = handle(&state, request("account_reset_password"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    assert_eq!(rule.num_calls(), 1);
    // Every older session ends: Cognito's refresh tokens, and the id and access tokens too.
    assert_eq!((sub.num_calls(), out.num_calls()), (1, 1));
    assert!(recorded.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn a_reset_that_could_not_end_the_sessions_spends_no_code() {
    use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError;
    use aws_sdk_cognitoidentityprovider::types::error::InternalErrorException;
    let lookup = mock!(Client::admin_get_user).then_error(|| {
        AdminGetUserError::InternalErrorException(InternalErrorException::builder().build())
    });
    let reset = mock!(Client::confirm_forgot_password)
        .then_output(|| ConfirmForgotPasswordOutput::builder().build());
    let res = call(&[&lookup, &reset], request("account_reset_password")).await;
    assert_eq!(res.status(), 503);
    assert_eq!(reset.num_calls(), 0, "the code is not spent");
}

#[tokio::test]
async fn reset_password_refusals_map_to_their_status_and_code() {
    let cases: Vec<ErrorCase<ConfirmForgotPasswordError>> = vec![
        (
            || {
                ConfirmForgotPasswordError::CodeMismatchException(
                    CodeMismatchException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmForgotPasswordError::ExpiredCodeException(
                    ExpiredCodeException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmForgotPasswordError::InvalidPasswordException(
                    InvalidPasswordException::builder()
                        .message("Password does not conform to policy")
                        .build(),
                )
            },
            400,
            "invalid_password",
        ),
        // An unknown user answers like a wrong code.
        (
            || {
                ConfirmForgotPasswordError::UserNotFoundException(
                    UserNotFoundException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmForgotPasswordError::LimitExceededException(
                    LimitExceededException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
        (
            || {
                ConfirmForgotPasswordError::NotAuthorizedException(
                    NotAuthorizedException::builder().build(),
                )
            },
            400,
            "code_mismatch",
        ),
    ];
    for (error, status, code) in cases {
        let (sub, _, _) = reset_sign_out();
        let rule = mock!(Client::confirm_forgot_password).then_error(error);
        let res = call(&[&sub, &rule], request("account_reset_password")).await;
        assert_error(&res, status, code);
    }
}

#[tokio::test]
async fn reset_password_needs_every_field() {
    let rule = mock!(Client::confirm_forgot_password)
        .then_output(|| ConfirmForgotPasswordOutput::builder().build());
    let state = cognito_state(&[&rule]);
    for (body, code) in [
        (
            json!({"username": "a", "confirmation_code": "1"}),
            "missing_field",
        ),
        (
            json!({"username": "a", "new_password": "p"}),
            "missing_field",
        ),
        (
            json!({"confirmation_code": "1", "new_password": "p"}),
            "missing_field",
        ),
        (
            json!({"username": "a", "confirmation_code": "1", "new_password": 7}),
            "invalid_type",
        ),
        (
            json!({"username": "a", "confirmation_code": "1", "new_password": "p".repeat(257)}),
            "invalid_field",
        ),
    ] {
        let res = handle(&state, request_with_json("account_reset_password", body))
            .await
            .unwrap();
        assert_error(&res, 400, code);
    }
    assert_eq!(rule.num_calls(), 0);
}

// ---------------------------------------------------------------- /change_password

#[tokio::test]
async fn change_password_passes_the_callers_access_token_to_cognito() {
    let rule = mock!(Client::change_password)
        .match_requests(|r| {
            r.access_token() == Some(ACCESS_TOKEN)
                && r.previous_password() == Some("Correct-Horse-9!")
                && r.proposed_password() == Some("Another-Horse-7!")
        })
        .then_output(|| ChangePasswordOutput::builder().build());
    // The caller's own session (GetItem), then the others, which end.
    let sub = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";
    let own = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
            .set_item(Some(std::collections::HashMap::from([(
                "pk".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::S("x".into()),
            )])))
            .build()
    });
    let others = sessions_ended(sub, &["other"]);
    let mut tables: Vec<&Rule> = vec![&own];
    tables.extend(others.iter());
    let res = handle(
        &state_with(&[&rule], &tables),
        request("account_change_password"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(body_json(&res)["other_sessions_ended"], 1);
    assert!(others.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn change_password_refusals_map_to_their_status_and_code() {
    let cases: Vec<ErrorCase<ChangePasswordError>> = vec![
        // A wrong previous password, or a revoked token.
        (
            || {
                ChangePasswordError::NotAuthorizedException(
                    NotAuthorizedException::builder().build(),
                )
            },
            401,
            "not_authorized",
        ),
        (
            || {
                ChangePasswordError::InvalidPasswordException(
                    InvalidPasswordException::builder().build(),
                )
            },
            400,
            "invalid_password",
        ),
        (
            || {
                ChangePasswordError::LimitExceededException(
                    LimitExceededException::builder().build(),
                )
            },
            429,
            "too_many_requests",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::change_password).then_error(error);
        let res = call(&[&rule], request("account_change_password")).await;
        assert_error(&res, status, code);
    }
}

/// The event `name` without its Authorization header, or without the authorizer's claims.
fn without(name: &str, what: &str) -> lambda_http::Request {
    let mut event = event_json(name);
    match what {
        "header" => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("Authorization");
            event["multiValueHeaders"]
                .as_object_mut()
                .unwrap()
                .remove("Authorization");
        }
        _ => event["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer")
            .map(|_: Value| ())
            .unwrap(),
    }
    to_request(&event)
}

#[tokio::test]
async fn the_token_routes_are_401_without_a_token_or_without_the_authorizer() {
    let change =
        mock!(Client::change_password).then_output(|| ChangePasswordOutput::builder().build());
    let sign_out =
        mock!(Client::global_sign_out).then_output(|| GlobalSignOutOutput::builder().build());
    let state = cognito_state(&[&change, &sign_out]);
    for event in ["account_change_password", "account_logout"] {
        for what in ["header", "authorizer"] {
            let res = handle(&state, without(event, what)).await.unwrap();
            assert_error(&res, 401, "unauthorized");
        }
    }
    assert_eq!(change.num_calls() + sign_out.num_calls(), 0);
}

/// With two `Authorization` values, API Gateway's authorizer checks one of them: the function
/// must not act on the other, so it acts on neither.
#[tokio::test]
async fn the_token_routes_are_401_with_two_authorization_values_and_call_nothing() {
    let change =
        mock!(Client::change_password).then_output(|| ChangePasswordOutput::builder().build());
    let sign_out =
        mock!(Client::global_sign_out).then_output(|| GlobalSignOutOutput::builder().build());
    let state = cognito_state(&[&change, &sign_out]);
    for event in ["account_change_password", "account_logout"] {
        let mut event = event_json(event);
        let checked = event["multiValueHeaders"]["Authorization"][0].clone();
        event["multiValueHeaders"]["Authorization"] = json!([checked, "Bearer someone-elses"]);
        let res = platform::lambda::invoke_json(&state, event.to_string().as_bytes())
            .await
            .unwrap();
        assert_eq!(res["statusCode"], 401, "{res}");
        let body: Value = serde_json::from_str(res["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    assert_eq!(change.num_calls() + sign_out.num_calls(), 0);
}

/// Every public route tells Cognito the caller's address.
#[tokio::test]
async fn the_public_routes_tell_cognito_the_callers_ip_address() {
    let ip = |u: Option<&aws_sdk_cognitoidentityprovider::types::UserContextDataType>| {
        u.and_then(|u| u.ip_address()) == Some(CALLER_IP)
    };
    let resend = mock!(Client::resend_confirmation_code)
        .match_requests(move |r| ip(r.user_context_data()))
        .then_output(|| ResendConfirmationCodeOutput::builder().build());
    let forgot = mock!(Client::forgot_password)
        .match_requests(move |r| ip(r.user_context_data()))
        .then_output(|| ForgotPasswordOutput::builder().build());
    let reset = mock!(Client::confirm_forgot_password)
        .match_requests(move |r| ip(r.user_context_data()))
        .then_output(|| ConfirmForgotPasswordOutput::builder().build());
    let (sub, out, recorded) = reset_sign_out();
    let tables: Vec<&Rule> = recorded.iter().collect();
    let lookup = no_user();
    let state = state_with(&[&resend, &forgot, &lookup, &sub, &reset, &out], &tables);
    for event in [
        "account_resend_code",
        "account_forgot_password",
        "account_reset_password",
    ] {
        let res = handle(&state, request(event)).await.unwrap();
        assert_eq!(res.status(), 200, "{event}: {}", body_json(&res));
    }
    assert_eq!(
        resend.num_calls() + forgot.num_calls() + reset.num_calls(),
        3
    );
}

// ---------------------------------------------------------------- /logout

#[tokio::test]
async fn logout_signs_the_access_token_out_globally_and_records_it() {
    let rule = mock!(Client::global_sign_out)
        .match_requests(|r| r.access_token() == Some(ACCESS_TOKEN))
        .then_output(|| GlobalSignOutOutput::builder().build());
    let sub = event_json("account_logout")["requestContext"]["authorizer"]["claims"]["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let sub: &'static str = Box::leak(sub.into_boxed_str());
    let recorded = sessions_ended(sub, &["laptop", "phone"]);
    let tables: Vec<&Rule> = recorded.iter().collect();
    let res = handle(&state_with(&[&rule], &tables), request("account_logout"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    assert_eq!(rule.num_calls(), 1);
    assert!(recorded.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn logout_with_a_revoked_token_is_401_and_throttling_429() {
    let cases: Vec<ErrorCase<GlobalSignOutError>> = vec![
        (
            || {
                GlobalSignOutError::NotAuthorizedException(
                    NotAuthorizedException::builder().build(),
                )
            },
            401,
            "not_authorized",
        ),
        (
            || {
                GlobalSignOutError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                )
            },
            429,
            "too_many_requests",
        ),
    ];
    for (error, status, code) in cases {
        let rule = mock!(Client::global_sign_out).then_error(error);
        let res = call(&[&rule], request("account_logout")).await;
        assert_error(&res, status, code);
    }
}

// ---------------------------------------------------------------- /me

#[tokio::test]
async fn me_answers_the_callers_claims_without_calling_cognito() {
    let res = call(&[], request("account_me")).await;
    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    assert_eq!(
        body_json(&res),
        json!({
            "sub": "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70",
            "username": "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70",
            "email": "alice@example.com",
            "email_verified": true,
            "groups": ["editors"],
        })
    );
}

#[tokio::test]
async fn me_without_the_authorizers_claims_is_401() {
    let res = call(&[], without("account_me", "authorizer")).await;
    assert_error(&res, 401, "unauthorized");
}

#[tokio::test]
async fn another_method_on_an_account_route_is_405() {
    let mut event = event_json("account_me");
    event["httpMethod"] = json!("PUT");
    let res = call(&[], to_request(&event)).await;
    assert_error(&res, 405, "method_not_allowed");
}

// ---------------------------------------------------------------- /me/sessions

const CALLER_JTI: &str = "7d0e6a4f-2b1c-4d3e-9f8a-1b2c3d4e5f60";
const CALLER_SUB: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";

fn session_item(
    id: &str,
    started: u64,
    device: Option<&str>,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let mut item = std::collections::HashMap::from([
        ("pk".to_owned(), V::S(CALLER_SUB.to_owned())),
        ("sk".to_owned(), V::S(format!("session#{id}"))),
        ("started_at".to_owned(), V::N(started.to_string())),
        ("refreshed_at".to_owned(), V::N((started + 5).to_string())),
        ("method".to_owned(), V::S("password".into())),
        ("ip".to_owned(), V::S("203.0.113.7".into())),
        ("refresh".to_owned(), V::S("hash".into())),
    ]);
    if let Some(device) = device {
        item.insert("device".to_owned(), V::S(device.into()));
    }
    item
}

#[tokio::test]
async fn the_session_list_is_newest_first_with_the_callers_own_marked_and_no_secret() {
    let own = sessions::session_id(CALLER_JTI);
    let own_for_rule = own.clone();
    let listed = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| {
            r.consistent_read() == Some(true)
                && r.expression_attribute_values()
                    .and_then(|v| v.get(":sub"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&CALLER_SUB.to_owned())
        })
        .then_output(move || {
            aws_sdk_dynamodb::operation::query::QueryOutput::builder()
                .items(session_item("older", 1000, Some("Firefox on Linux")))
                .items(session_item(&own_for_rule, 2000, None))
                .build()
        });
    let res = handle(
        &state_with(&[], &[&listed]),
        request("account_list_sessions"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    let list = body["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], own.as_str());
    assert_eq!(list[0]["current"], true);
    assert!(list[0].get("device").is_none());
    assert_eq!(list[1]["device"], "Firefox on Linux");
    assert_eq!(list[1]["current"], false);
    assert_eq!(list[1]["last_refreshed_at"], 1005);
    assert!(
        !body.to_string().contains("hash"),
        "no refresh token hash: {body}"
    );
}

#[tokio::test]
async fn ending_a_session_deletes_it_and_an_unknown_one_is_404() {
    // The caller's own session (another is ended here), then the one session's record and its
    // ending (not the Query: that is for "every session").
    let own = || {
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .set_item(Some(session_item("own", 1, None)))
                .build()
        })
    };
    let caller = own();
    let ended = sessions_ended(CALLER_SUB, &["b2tT1pQyGm4yX3vN8wq2Lw"]);
    let mut tables: Vec<&Rule> = vec![&caller];
    tables.extend(ended[1..].iter());
    let res = handle(&state_with(&[], &tables), request("account_end_session"))
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(ended[1..].iter().all(|r| r.num_calls() == 1));

    let caller = own();
    let missing = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build());
    let res = handle(
        &state_with(&[], &[&caller, &missing]),
        request("account_end_session"),
    )
    .await
    .unwrap();
    assert_error(&res, 404, "not_found");

    // An id no session could have is refused before any call.
    let mut event = event_json("account_end_session");
    set_path_id(&mut event, "..%2Fx");
    let res = handle(&state_with(&[], &[]), to_request(&event))
        .await
        .unwrap();
    assert_error(&res, 404, "not_found");
}

#[tokio::test]
async fn ending_the_other_sessions_keeps_the_callers_own() {
    let own = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
            .set_item(Some(session_item(
                &sessions::session_id(CALLER_JTI),
                1,
                None,
            )))
            .build()
    });
    let others = sessions_ended(CALLER_SUB, &["tablet", "phone"]);
    let mut tables: Vec<&Rule> = vec![&own];
    tables.extend(others.iter());
    let res = handle(
        &state_with(&[], &tables),
        request("account_end_other_sessions"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_eq!(body_json(&res)["ended"], 2);
    assert!(others.iter().all(|r| r.num_calls() == 1));
}

/// An e-mail change and a deletion need a recent sign-in: the fixtures' is days old.
#[tokio::test]
async fn an_old_sign_in_cannot_change_the_address_or_delete_the_account() {
    let dynamodb = dynamodb_client(&[]);
    let cognito = cognito(&[]);
    let recovery = tables::RecoveryCodes::new(dynamodb.clone(), "recovery-codes".to_owned())
        .peppered(test_support::pepper());
    let limits = tables::Limits::new(dynamodb.clone(), "limits".to_owned());
    let env = platform::Env::from_pairs::<&str, &str>([]);
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let state = State {
        reauth: reauth::Reauth::new(cognito.clone(), recovery.clone(), limits.clone()),
        cognito,
        sessions: sessions::Sessions::new(dynamodb.clone(), "sessions".to_owned()),
        books: tables::Books::new(dynamodb, "books"),
        recovery,
        limits,
        alerts: alerts::Alerts::from_env(&env, &sdk),
        pool_id: "us-east-1_test".to_owned(),
        audit: tables::Audit::new(audit_client(), "audit".into(), 1),
    };
    let api = api(state, ROUTES);
    for event in [
        "account_delete_me",
        "account_update_me",
        "account_end_other_sessions",
    ] {
        let mut event = event_json(event);
        event["body"] =
            json!(json!({"email": "new@example.com", "password": "Correct-Horse-9!"}).to_string());
        if event["httpMethod"] == "DELETE" {
            event["body"] = json!(json!({"password": "Correct-Horse-9!"}).to_string());
        }
        let res = handle(&api, to_request(&event)).await.unwrap();
        let body = assert_error(&res, 403, "reauthentication_required");
        assert_eq!(body["error"]["window_seconds"], 600);
    }
}

// ---------------------------------------------------------------- /me/activity

#[tokio::test]
async fn activity_reads_the_callers_partition_newest_first_and_pages_with_a_cursor() {
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let event = tables::audit::Event::new(
        tables::audit::EventType::SignIn,
        &platform::ClientContext::default(),
    )
    .of("sub-1", "alice");
    let json = serde_json::to_string(&event).unwrap();
    let sub = event_json("account_activity")["requestContext"]["authorizer"]["claims"]["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let partition = format!("user#{sub}");
    let expected = partition.clone();
    let query = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(move |q| {
            q.expression_attribute_values()
                .and_then(|v| v.get(":k"))
                .and_then(|v| v.as_s().ok())
                == Some(&expected)
                && q.scan_index_forward() == Some(false)
                && q.limit() == Some(10)
        })
        .then_output(move || {
            QueryOutput::builder()
                .items(std::collections::HashMap::from([(
                    "event".to_owned(),
                    V::S(json.clone()),
                )]))
                .last_evaluated_key("pk", V::S(partition.clone()))
                .last_evaluated_key("sk", V::S("0000000000001#x".to_owned()))
                .build()
        });
    let audit = tables::Audit::new(dynamodb_client(&[&query]), "audit".into(), 1);
    let res = handle(
        &state_with_audit(&[], &[], audit),
        request("account_activity"),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200, "{}", body_json(&res));
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["events"][0]["type"], "sign_in");
    assert_eq!(body["events"][0]["user"]["username"], "alice");
    assert!(body["next_cursor"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(query.num_calls(), 1);
}

#[tokio::test]
async fn activity_refuses_a_bad_limit_or_cursor_without_a_call() {
    for (name, value) in [("limit", "0"), ("limit", "x"), ("cursor", "%%%")] {
        let mut event = event_json("account_activity");
        event["queryStringParameters"] = json!({ name: value });
        event["multiValueQueryStringParameters"] = json!({ name: [value] });
        let res = handle(&state_with(&[], &[]), to_request(&event))
            .await
            .unwrap();
        assert_error(&res, 400, "invalid_query");
    }
}
