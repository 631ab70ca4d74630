use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::get_tokens_from_refresh_token::{
    GetTokensFromRefreshTokenError, GetTokensFromRefreshTokenOutput,
};
use aws_sdk_cognitoidentityprovider::types::AuthenticationResultType;
use aws_sdk_cognitoidentityprovider::types::error::{
    NotAuthorizedException, RefreshTokenReuseException, TooManyRequestsException,
};
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use sessions::{Policy, Sessions};
use test_support::*;

use super::{ROUTES, State};

const SUB: &str = "0f3a9c52-7d4e-4b8a-9e61-2c5b8d1f4a70";
const JTI: &str = "5b1f0c2e-3d4a-4e6f-8a9b-0c1d2e3f4a5b";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn state(cognito_rules: &[&Rule], table_rules: &[&Rule], policy: Policy) -> platform::Api<State> {
    let sessions = Sessions::new(dynamodb_client(table_rules), "sessions".into());
    api(
        State {
            cognito: cognito(cognito_rules),
            sessions,
            policy,
            audit: tables::Audit::new(audit_client(), "audit".into(), 1),
        },
        ROUTES,
    )
}

const POLICY: Policy = Policy {
    grace: Duration::from_secs(10),
    idle: None,
};

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The refresh token's record: issued `issued_ago` seconds ago, spent `spent_ago` seconds ago.
fn token_record(issued_ago: u64, spent_ago: Option<u64>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.consistent_read() == Some(true)
                && r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("refresh#") && !pk.contains("the-refresh"))
        })
        .then_output(move || {
            let mut item = HashMap::from([
                ("pk".to_owned(), s("refresh#h")),
                ("sk".to_owned(), s("refresh")),
                ("sub".to_owned(), s(SUB)),
                ("session".to_owned(), s(&sessions::session_id(JTI))),
                ("issued_at".to_owned(), n(now() - issued_ago)),
            ]);
            if let Some(ago) = spent_ago {
                item.insert("spent_at".to_owned(), n(now() - ago));
            }
            GetItemOutput::builder().set_item(Some(item)).build()
        })
}

fn no_record() -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build())
}

/// The session's record, with its current refresh token's hash `current`.
fn session_record(current: &'static str) -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key()
                .and_then(|k| k.get("sk"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("session#"))
        })
        .then_output(move || {
            let item = HashMap::from([
                ("pk".to_owned(), s(SUB)),
                (
                    "sk".to_owned(),
                    s(&format!("session#{}", sessions::session_id(JTI))),
                ),
                ("refresh".to_owned(), s(current)),
                ("started_at".to_owned(), n(now() - 100)),
                ("expires_at".to_owned(), n(now() + 1000)),
            ]);
            GetItemOutput::builder().set_item(Some(item)).build()
        })
}

fn written(
    check: fn(&aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput) -> bool,
) -> Rule {
    mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(check)
        .then_output(|| TransactWriteItemsOutput::builder().build())
}

/// The query an ending makes after its transaction, for aliases left behind: none.
fn swept() -> Rule {
    mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build())
}

fn rotated() -> Rule {
    mock!(Client::get_tokens_from_refresh_token)
        .match_requests(|r| {
            r.refresh_token() == Some("the-refresh-token")
                && r.client_id() == Some(CLIENT_ID)
                && r.client_secret() == Some(CLIENT_SECRET)
        })
        .then_output(|| {
            GetTokensFromRefreshTokenOutput::builder()
                .authentication_result(
                    AuthenticationResultType::builder()
                        .id_token(fake_jwt(&json!({"cognito:username": "alice", "sub": SUB})))
                        .access_token(fake_jwt(&json!({"sub": SUB, "origin_jti": JTI})))
                        .refresh_token("the-next-refresh-token")
                        .expires_in(3600)
                        .token_type("Bearer")
                        .build(),
                )
                .build()
        })
}

fn refresh_request() -> lambda_http::Request {
    request_with_json("refresh", json!({"refresh_token": "the-refresh-token"}))
}

#[tokio::test]
async fn a_current_token_is_exchanged_with_the_client_secret_and_rotated() {
    let cognito = rotated();
    let (record, session) = (token_record(60, None), session_record("old-hash"));
    let write = written(|t| {
        let items = t.transact_items();
        // The session's update, the new token's record, the old one spent, and the token it
        // replaced (another hash) spent too.
        items.len() == 4
            && items.iter().filter(|i| i.put().is_some()).count() == 1
            && items.iter().filter(|i| i.update().is_some()).count() == 3
    });
    let api = state(&[&cognito], &[&record, &session, &write], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_json_with_cors(&res);
    let body = body_json(&res);
    assert_eq!(body["refresh_token"], "the-next-refresh-token");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("username").is_none());
    assert_eq!((cognito.num_calls(), write.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_token_this_api_never_gave_or_of_an_ended_session_is_refused_without_cognito() {
    let cognito = rotated();
    let record = no_record();
    let api = state(&[&cognito], &[&record], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_error(&res, 401, "invalid_refresh_token");
    assert_eq!(cognito.num_calls(), 0);
}

#[tokio::test]
async fn a_spent_token_after_the_grace_period_ends_its_session() {
    let cognito = rotated();
    let (record, session) = (token_record(600, Some(30)), session_record("newest-hash"));
    // The ending: the session, and its newest refresh token.
    let end = written(|t| {
        t.transact_items()
            .iter()
            .filter(|i| i.delete().is_some())
            .count()
            == 2
    });
    let api = state(&[&cognito], &[&record, &session, &end, &swept()], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_error(&res, 401, "refresh_token_reused");
    assert_eq!((cognito.num_calls(), end.num_calls()), (0, 1));
}

#[tokio::test]
async fn a_spent_token_within_the_grace_period_is_exchanged_again() {
    let cognito = rotated();
    let (record, session) = (token_record(600, Some(3)), session_record("the-retry-hash"));
    let write = written(|t| !t.transact_items().is_empty());
    let api = state(&[&cognito], &[&record, &session, &write], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(cognito.num_calls(), 1);
}

#[tokio::test]
async fn an_idle_session_ends_at_its_refresh() {
    let idle = Policy {
        grace: Duration::from_secs(10),
        idle: Some(Duration::from_secs(300)),
    };
    let cognito = rotated();
    let (record, session) = (token_record(301, None), session_record("current"));
    let end = written(|t| t.transact_items().iter().all(|i| i.delete().is_some()));
    let api = state(&[&cognito], &[&record, &session, &end, &swept()], idle);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_error(&res, 401, "session_timed_out");
    assert_eq!((cognito.num_calls(), end.num_calls()), (0, 1));
    // Refreshed within the timeout: exchanged.
    let cognito = rotated();
    let (record, session) = (token_record(299, None), session_record("current"));
    let write = written(|t| !t.transact_items().is_empty());
    let api = state(&[&cognito], &[&record, &session, &write], idle);
    assert_eq!(handle(&api, refresh_request()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn cognitos_refusals_map_to_their_answers() {
    let cases: Vec<ErrorCase<GetTokensFromRefreshTokenError>> = vec![
        (
            || {
                GetTokensFromRefreshTokenError::NotAuthorizedException(
                    NotAuthorizedException::builder()
                        .message("Invalid Refresh Token")
                        .build(),
                )
            },
            401,
            "invalid_refresh_token",
        ),
        (
            || {
                GetTokensFromRefreshTokenError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                )
            },
            429,
            "too_many_requests",
        ),
    ];
    for (error, status, code) in cases {
        let cognito = mock!(Client::get_tokens_from_refresh_token).then_error(error);
        let record = token_record(60, None);
        let api = state(&[&cognito], &[&record], POLICY);
        let res = handle(&api, refresh_request()).await.unwrap();
        assert_error(&res, status, code);
        assert_eq!(cognito.num_calls(), 1, "never retried: {code}");
    }
    // Cognito's own reuse detection ends the session as ours does.
    let cognito = mock!(Client::get_tokens_from_refresh_token).then_error(|| {
        GetTokensFromRefreshTokenError::RefreshTokenReuseException(
            RefreshTokenReuseException::builder().build(),
        )
    });
    let (record, session) = (token_record(60, None), session_record("current"));
    let end = written(|t| t.transact_items().iter().all(|i| i.delete().is_some()));
    let api = state(&[&cognito], &[&record, &session, &end, &swept()], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_error(&res, 401, "refresh_token_reused");
    assert_eq!(end.num_calls(), 1);
}

#[tokio::test]
async fn a_session_ended_during_the_exchange_gets_no_tokens_and_they_are_revoked() {
    let cognito = rotated();
    let revoke = mock!(Client::revoke_token)
        .match_requests(|r| r.token() == Some("the-next-refresh-token"))
        .then_output(|| {
            aws_sdk_cognitoidentityprovider::operation::revoke_token::RevokeTokenOutput::builder()
                .build()
        });
    let record = token_record(60, None);
    let gone = no_record();
    let api = state(&[&cognito, &revoke], &[&record, &gone], POLICY);
    let res = handle(&api, refresh_request()).await.unwrap();
    assert_error(&res, 401, "invalid_refresh_token");
    assert_eq!(revoke.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_mistyped_or_unknown_field_is_400_and_username_is_still_taken() {
    for (body, code) in [
        (json!({"username": SUB}), "missing_field"),
        (json!({"refresh_token": " "}), "empty_field"),
        (json!({"refresh_token": {"a": 1}}), "invalid_type"),
        (json!({"refresh_token": "t", "username": 5}), "invalid_type"),
        (json!({"refresh_token": "t", "extra": 1}), "unknown_field"),
    ] {
        let cognito = rotated();
        let api = state(&[&cognito], &[], POLICY);
        let res = handle(&api, request_with_json("refresh", body))
            .await
            .unwrap();
        assert_error(&res, 400, code);
        assert_eq!(cognito.num_calls(), 0);
    }
    let cognito = rotated();
    let (record, session) = (token_record(60, None), session_record("h"));
    let write = written(|t| !t.transact_items().is_empty());
    let api = state(&[&cognito], &[&record, &session, &write], POLICY);
    let with_username = request_with_json(
        "refresh",
        json!({"username": SUB, "refresh_token": "the-refresh-token"}),
    );
    assert_eq!(handle(&api, with_username).await.unwrap().status(), 200);
}

#[tokio::test]
async fn malformed_bodies_get_a_4xx_naming_the_problem() {
    let cognito = rotated();
    let api = state(&[&cognito], &[], POLICY);
    assert_rejects_malformed_bodies("refresh", |req| handle(&api, req)).await;
    assert_eq!(cognito.num_calls(), 0);
}
