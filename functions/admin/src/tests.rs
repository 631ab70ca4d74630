use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::{
    AdminGetUserError, AdminGetUserOutput,
};
use aws_sdk_cognitoidentityprovider::operation::admin_list_groups_for_user::AdminListGroupsForUserOutput;
use aws_sdk_cognitoidentityprovider::types::error::UserNotFoundException;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, GroupType};
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use test_support::*;

use super::{ROUTES, State};

/// The function over a mocked Cognito (`rules`, in order, after the caller's membership check)
/// and a mocked DynamoDB (`tables`).
fn state_with(rules: &[&Rule], tables: &[&Rule]) -> platform::Api<State> {
    state_within(rules, tables, std::time::Duration::MAX)
}

/// The same, where an action needs a sign-in within `window`.
fn state_within(
    rules: &[&Rule],
    tables: &[&Rule],
    window: std::time::Duration,
) -> platform::Api<State> {
    let dynamodb = dynamodb_client(tables);
    let cognito = cognito(rules);
    let membership = crate::app::InGroup {
        cognito: cognito.clone(),
        pool_id: "us-east-1_test".into(),
    };
    let state = State {
        cognito,
        pool_id: "us-east-1_test".into(),
        sessions: tables::Sessions::new(dynamodb.clone(), "sessions".into()),
        books: tables::Books::new(dynamodb.clone(), "books"),
        recovery: tables::RecoveryCodes::new(dynamodb, "recovery-codes".into()),
        audit: tables::Audit::new(audit_client(), "audit".into(), 1),
        reauth_window: window,
    };
    api(state, ROUTES).with_membership(std::sync::Arc::new(membership))
}

/// The caller's groups now.
fn groups_now(groups: &'static [&'static str]) -> Rule {
    mock!(Client::admin_list_groups_for_user).then_output(move || {
        AdminListGroupsForUserOutput::builder()
            .set_groups(Some(
                groups
                    .iter()
                    .map(|g| GroupType::builder().group_name(*g).build())
                    .collect(),
            ))
            .build()
    })
}

fn user(username: &'static str, sub: &'static str) -> Rule {
    mock!(Client::admin_get_user)
        .match_requests(move |r| r.username() == Some(username))
        .then_output(move || {
            AdminGetUserOutput::builder()
                .username(username)
                .user_attributes(
                    AttributeType::builder()
                        .name("sub")
                        .value(sub)
                        .build()
                        .unwrap(),
                )
                .enabled(true)
                .build()
                .unwrap()
        })
}

/// `name` as an admin (in the group by the token; `groups` by the pool now).
fn as_admin(name: &str, sub: &str, path: Option<(&str, &str)>) -> lambda_http::Request {
    let mut event = event_json(name);
    set_caller(&mut event, sub, Some("admin"));
    if let Some((key, value)) = path {
        event["pathParameters"][key] = json!(value);
    }
    to_request(&event)
}

#[tokio::test]
async fn a_member_by_the_token_whom_the_pool_no_longer_has_is_refused_before_any_call() {
    let now = groups_now(&["readers"]);
    let res = handle(
        &state_with(&[&now], &[]),
        as_admin("admin_disable", "sub-admin", None),
    )
    .await
    .unwrap();
    assert_error(&res, 403, "forbidden");
}

#[tokio::test]
async fn an_action_needs_a_recent_sign_in_and_a_read_does_not() {
    // The events' tokens say the administrator signed in on 2026-11-22: long ago.
    let window = std::time::Duration::from_secs(600);
    for event in [
        "admin_disable",
        "admin_enable",
        "admin_sign_out",
        "admin_reset_mfa",
        "admin_delete_user",
        "admin_add_to_group",
        "admin_remove_from_group",
    ] {
        let now = groups_now(&["admin"]);
        let req = as_admin(event, "sub-admin", Some(("username", "alice")));
        let res = handle(&state_within(&[&now], &[], window), req)
            .await
            .unwrap();
        let body = assert_error(&res, 403, "reauthentication_required");
        assert_eq!(body["error"]["window_seconds"], 600, "{event}");
    }
    let now = groups_now(&["admin"]);
    let alice = user("alice", "sub-alice");
    let groups = groups_now(&["readers"]);
    let sessions = mock!(aws_sdk_dynamodb::Client::query)
        .then_output(|| aws_sdk_dynamodb::operation::query::QueryOutput::builder().build());
    let req = as_admin("admin_get_user", "sub-admin", Some(("username", "alice")));
    let res = handle(
        &state_within(&[&now, &alice, &groups], &[&sessions], window),
        req,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_admin_cannot_disable_delete_sign_out_or_reset_the_mfa_of_themselves() {
    for event in [
        "admin_disable",
        "admin_delete_user",
        "admin_reset_mfa",
        "admin_sign_out",
    ] {
        let now = groups_now(&["admin"]);
        let me = user("root", "sub-admin");
        let req = as_admin(event, "sub-admin", Some(("username", "root")));
        let res = handle(&state_with(&[&now, &me], &[]), req).await.unwrap();
        assert_error(&res, 409, "cannot_act_on_self");
    }
}

#[tokio::test]
async fn an_unknown_user_is_404_and_nothing_is_done() {
    let now = groups_now(&["admin"]);
    let gone = mock!(Client::admin_get_user).then_error(|| {
        AdminGetUserError::UserNotFoundException(UserNotFoundException::builder().build())
    });
    let req = as_admin("admin_disable", "sub-admin", Some(("username", "ghost")));
    let res = handle(&state_with(&[&now, &gone], &[]), req).await.unwrap();
    assert_error(&res, 404, "not_found");
}

#[tokio::test]
async fn the_audit_takes_a_user_or_a_type_and_refuses_a_bad_time_or_type() {
    for (query, code) in [
        (json!({}), "missing_field"),
        (json!({"type": "no_such_type"}), "invalid_query"),
        (
            json!({"type": "sign_in", "from": "yesterday"}),
            "invalid_query",
        ),
        (
            json!({"type": "sign_in", "to": "2026-13-01"}),
            "invalid_query",
        ),
        // Twenty bytes, not twenty characters: refused, never cut inside a character.
        (
            json!({"type": "sign_in", "from": "2026-12-03T12:54:5é"}),
            "invalid_query",
        ),
    ] {
        let now = groups_now(&["admin"]);
        let mut event = event_json("admin_audit");
        set_caller(&mut event, "sub-admin", Some("admin"));
        event["queryStringParameters"] = query.clone();
        let multi: serde_json::Map<String, serde_json::Value> = query
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect();
        event["multiValueQueryStringParameters"] = json!(multi);
        let res = handle(&state_with(&[&now], &[]), to_request(&event))
            .await
            .unwrap();
        assert_error(&res, 400, code);
    }
}
