use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::operation::list_users::ListUsersOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, UserType};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, InternalServerError};
use aws_smithy_mocks::{Rule, mock};
use serde_json::{Value, json};
use test_support::{cognito, dynamodb_client};

use super::*;

const POOL: &str = "us-east-1_test";
const SUB: &str = "7a1f3c2e-0000-4000-8000-00000000a11c";
const EVENT_ID: &str = "5d2c9e4b-1111-4222-8333-444455556666";
const OWN_ROLE: &str = "arn:aws:iam::123456789012:role/stack-AdminFunctionRole-1";

/// The function over a mocked Cognito and a mocked DynamoDB, each answering in order.
fn state(cognito_rules: &[&Rule], tables: &[&Rule]) -> State {
    let dynamodb = dynamodb_client(tables);
    State {
        cognito: cognito(cognito_rules),
        pool_id: POOL.into(),
        sessions: tables::Sessions::new(dynamodb.clone(), "sessions".into()),
        books: tables::Books::new(dynamodb.clone(), "books"),
        recovery: tables::RecoveryCodes::new(dynamodb.clone(), "recovery-codes".into()),
        audit: tables::Audit::new(dynamodb, "audit".into(), 1),
        own_roles: vec![OWN_ROLE.into()],
    }
}

/// EventBridge's event for `operation` on alice, by an IAM user, as CloudTrail records it.
fn record(operation: &str) -> Value {
    json!({
        "version": "0",
        "id": "0f0e0d0c-aaaa-4bbb-8ccc-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cognito-idp",
        "account": "123456789012",
        "time": "2026-12-03T16:20:31Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "arn": "arn:aws:iam::123456789012:user/ops-alice",
                "accountId": "123456789012",
                "userName": "ops-alice"
            },
            "eventTime": "2026-12-03T16:20:31Z",
            "eventSource": "cognito-idp.amazonaws.com",
            "eventName": operation,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.1 os/linux#6.8",
            "requestParameters": {"userPoolId": POOL, "username": "alice", "groupName": "admin"},
            "responseElements": null,
            "additionalEventData": {"sub": SUB},
            "eventID": EVENT_ID,
            "eventType": "AwsApiCall",
            "readOnly": false
        }
    })
}

fn event_of(value: Value) -> TrailEvent {
    serde_json::from_value(value).expect("the record parses")
}

fn alice() -> Rule {
    mock!(Client::admin_get_user)
        .match_requests(|r| r.username() == Some("alice") && r.user_pool_id() == Some(POOL))
        .then_output(|| {
            AdminGetUserOutput::builder()
                .username("alice")
                .user_attributes(
                    AttributeType::builder()
                        .name("sub")
                        .value(SUB)
                        .build()
                        .unwrap(),
                )
                .enabled(false)
                .build()
                .unwrap()
        })
}

/// The sessions table's answer to the listing of a user's records: none.
fn no_sessions() -> Rule {
    mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|q| q.table_name() == Some("sessions"))
        .then_output(|| QueryOutput::builder().build())
}

/// The audit table's put of the event, kept for the test to read.
fn put(seen: std::sync::Arc<std::sync::Mutex<Option<Value>>>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |p| {
            let json = p
                .item()
                .and_then(|i| i.get("event"))
                .and_then(|v| v.as_s().ok());
            if let Some(json) = json {
                *seen.lock().unwrap() = serde_json::from_str(json).ok();
            }
            p.table_name() == Some("audit")
                && p.condition_expression() == Some("attribute_not_exists(pk)")
        })
        .then_output(|| PutItemOutput::builder().build())
}

#[tokio::test]
async fn an_operators_disable_ends_the_sessions_and_is_an_event_keyed_by_the_record() {
    let seen = std::sync::Arc::default();
    let (user, sessions, audit) = (alice(), no_sessions(), put(std::sync::Arc::clone(&seen)));
    let state = state(&[&user], &[&sessions, &audit]);
    let outcome = handle(&state, event_of(record("AdminDisableUser")))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Acted {
            event_id: EVENT_ID.into(),
            sessions_ended: 0
        }
    );
    assert_eq!(
        (user.num_calls(), sessions.num_calls(), audit.num_calls()),
        (1, 1, 1)
    );
    let event = seen.lock().unwrap().clone().expect("the event was written");
    assert_eq!(event["id"], EVENT_ID);
    assert_eq!(event["time"], "2026-12-03T16:20:31.000Z");
    assert_eq!(event["type"], "account_disabled");
    assert_eq!(event["user"], json!({"sub": SUB, "username": "alice"}));
    assert_eq!(
        event["actor"],
        json!({"kind": "operator", "username": "arn:aws:iam::123456789012:user/ops-alice"})
    );
    assert_eq!(event["detail"]["operation"], "AdminDisableUser");
    assert_eq!(event["detail"]["sessions_ended"], 0);
    assert_eq!(event["ip"], "198.51.100.7");
}

#[tokio::test]
async fn a_deleted_user_is_known_by_the_records_sub_even_when_the_name_is_hidden() {
    let mut deleted = record("AdminDeleteUser");
    deleted["detail"]["requestParameters"]["username"] = json!("HIDDEN_DUE_TO_SECURITY_REASONS");
    let seen = std::sync::Arc::default();
    let books = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|q| {
            q.table_name() == Some("books")
                && q.expression_attribute_values()
                    .and_then(|v| v.values().next())
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|owner| owner == SUB)
        })
        .then_output(|| QueryOutput::builder().build());
    let (sessions, audit) = (no_sessions(), put(std::sync::Arc::clone(&seen)));
    // No Cognito call at all: the user is gone.
    let state = state(&[], &[&books, &sessions, &audit]);
    let outcome = handle(&state, event_of(deleted)).await.unwrap();
    assert!(matches!(outcome, Outcome::Acted { .. }), "{outcome:?}");
    assert_eq!((books.num_calls(), sessions.num_calls()), (1, 1));
    let event = seen.lock().unwrap().clone().unwrap();
    assert_eq!(event["type"], "account_deleted");
    assert_eq!(event["user"], json!({"sub": SUB}));
}

#[tokio::test]
async fn a_record_without_the_name_finds_the_user_by_sub() {
    let mut reset = record("AdminResetUserPassword");
    reset["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("username");
    let by_sub = mock!(Client::list_users)
        .match_requests(|r| r.filter() == Some(&format!("sub = \"{SUB}\"")))
        .then_output(|| {
            let sub = AttributeType::builder()
                .name("sub")
                .value(SUB)
                .build()
                .unwrap();
            ListUsersOutput::builder()
                .users(
                    UserType::builder()
                        .username("alice")
                        .attributes(sub)
                        .build(),
                )
                .build()
        });
    let seen = std::sync::Arc::default();
    let (sessions, audit) = (no_sessions(), put(std::sync::Arc::clone(&seen)));
    let state = state(&[&by_sub], &[&sessions, &audit]);
    handle(&state, event_of(reset)).await.unwrap();
    let event = seen.lock().unwrap().clone().unwrap();
    assert_eq!(event["type"], "password_reset_required");
    assert_eq!(event["user"], json!({"sub": SUB, "username": "alice"}));
}

#[tokio::test]
async fn a_record_delivered_again_writes_nothing_more_and_a_failing_table_is_tried_again() {
    let (user, sessions) = (alice(), no_sessions());
    let there = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let state = state(&[&user], &[&sessions, &there]);
    let outcome = handle(&state, event_of(record("AdminUserGlobalSignOut")))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Acted { .. }));

    let (user, sessions) = (alice(), no_sessions());
    let failing = mock!(aws_sdk_dynamodb::Client::put_item)
        .then_error(|| PutItemError::InternalServerError(InternalServerError::builder().build()));
    let state = self::state(&[&user], &[&sessions, &failing]);
    let err = handle(&state, event_of(record("AdminUserGlobalSignOut")))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 503);
}

#[tokio::test]
async fn the_stacks_own_calls_failed_calls_other_pools_and_other_operations_are_passed_over() {
    let mut own = record("AdminDisableUser");
    own["detail"]["userIdentity"] = json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/stack-AdminFunctionRole-1/admin",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": OWN_ROLE}}
    });
    let mut failed = record("AdminDisableUser");
    failed["detail"]["errorCode"] = json!("UserNotFoundException");
    let mut elsewhere = record("AdminDisableUser");
    elsewhere["detail"]["requestParameters"]["userPoolId"] = json!("us-east-1_other");
    let mut forged = record("AdminDisableUser");
    forged["source"] = json!("my.app");
    for (value, reason) in [
        (own, "the stack's own call"),
        (failed, "the call failed"),
        (elsewhere, "another pool"),
        (record("AdminEnableUser"), "not an operation acted on"),
        (record("AdminGetUser"), "not an operation acted on"),
        (forged, "not a Cognito call"),
        (json!({}), "not a Cognito call"),
    ] {
        // Nothing is called: any call would find no rule and fail.
        let state = state(&[], &[]);
        let outcome = handle(&state, event_of(value)).await.unwrap();
        assert_eq!(outcome, Outcome::Passed { reason });
    }
}

#[test]
fn each_operation_makes_its_event() {
    for (operation, kind) in [
        ("AdminDeleteUser", "account_deleted"),
        ("AdminDisableUser", "account_disabled"),
        ("AdminUserGlobalSignOut", "sign_out"),
        ("AdminResetUserPassword", "password_reset_required"),
        ("AdminRemoveUserFromGroup", "group_removed"),
    ] {
        let call = event_of(record(operation)).detail;
        let event = operator_event(&call, operation, SUB, Some("alice"), 2);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], kind);
        match operation {
            "AdminUserGlobalSignOut" => {
                assert_eq!(json["detail"]["scope"], "all");
            }
            "AdminRemoveUserFromGroup" => assert_eq!(json["detail"]["group"], "admin"),
            _ => {}
        }
    }
    // A time or id CloudTrail did not give as expected: the event's own.
    let mut call = event_of(record("AdminDisableUser")).detail;
    call.event_id = "not-a-uuid".into();
    call.event_time = "yesterday".into();
    let event = operator_event(&call, "AdminDisableUser", SUB, None, 0);
    assert_ne!(event.id, "not-a-uuid");
    assert!(event.time.ends_with('Z') && event.time.len() == 24);
}

/// 16:20:31 on 2026-12-03, the records' `eventTime`, in epoch seconds.
fn recorded() -> u64 {
    tables::audit::parse_rfc3339_millis("2026-12-03T16:20:31.000Z") / 1000
}

#[tokio::test]
async fn a_session_begun_after_the_call_stays_when_the_record_arrives_late() {
    use aws_sdk_dynamodb::types::AttributeValue;
    // The user reset their password and signed in again before the record came.
    let late = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|q| q.table_name() == Some("sessions"))
        .then_output(|| {
            let item = std::collections::HashMap::from([
                ("pk".to_owned(), AttributeValue::S(SUB.into())),
                ("sk".to_owned(), AttributeValue::S("session#later".into())),
                (
                    "started_at".to_owned(),
                    AttributeValue::N((recorded() + 60).to_string()),
                ),
            ]);
            QueryOutput::builder().items(item).build()
        });
    let seen = std::sync::Arc::default();
    let (user, audit) = (alice(), put(std::sync::Arc::clone(&seen)));
    // Ending it would read it first (GetItem): no rule answers that, and the call would fail.
    let state = state(&[&user], &[&late, &audit]);
    let outcome = handle(&state, event_of(record("AdminResetUserPassword")))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Acted {
            event_id: EVENT_ID.into(),
            sessions_ended: 0
        }
    );
    assert_eq!((late.num_calls(), audit.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_deleted_users_recovery_codes_go_only_while_no_one_has_the_name_again() {
    use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError;
    use aws_sdk_cognitoidentityprovider::types::error::UserNotFoundException;
    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    let books = || {
        mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|q| q.table_name() == Some("books"))
            .then_output(|| QueryOutput::builder().build())
    };
    // The operator typed the name in capitals; the name is free now: the codes go.
    let mut deleted = record("AdminDeleteUser");
    deleted["detail"]["requestParameters"]["username"] = json!("Alice");
    let gone = mock!(Client::admin_get_user)
        .match_requests(|r| r.username() == Some("alice"))
        .then_error(|| {
            AdminGetUserError::UserNotFoundException(UserNotFoundException::builder().build())
        });
    let codes = mock!(aws_sdk_dynamodb::Client::delete_item)
        .match_requests(|d| d.table_name() == Some("recovery-codes"))
        .then_output(|| DeleteItemOutput::builder().build());
    let (listed, sessions, audit) = (books(), no_sessions(), put(std::sync::Arc::default()));
    let state = state(&[&gone], &[&listed, &codes, &sessions, &audit]);
    handle(&state, event_of(deleted.clone())).await.unwrap();
    assert_eq!((gone.num_calls(), codes.num_calls()), (1, 1));

    // A new alice registered before the record came: her codes stay (no rule would answer
    // their deletion).
    let taken = alice();
    let (listed, sessions, audit) = (books(), no_sessions(), put(std::sync::Arc::default()));
    let state = self::state(&[&taken], &[&listed, &sessions, &audit]);
    handle(&state, event_of(deleted)).await.unwrap();
    assert_eq!((taken.num_calls(), audit.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_deletion_without_the_sub_goes_to_the_dead_letter_queue_and_an_empty_error_is_success() {
    let mut deleted = record("AdminDeleteUser");
    deleted["detail"]
        .as_object_mut()
        .unwrap()
        .remove("additionalEventData");
    let state = state(&[], &[]);
    let err = handle(&state, event_of(deleted)).await.unwrap_err();
    assert_eq!(err.status(), 503);

    let mut succeeded = record("AdminDisableUser");
    succeeded["detail"]["errorCode"] = json!("");
    let (user, sessions, audit) = (alice(), no_sessions(), put(std::sync::Arc::default()));
    let state = self::state(&[&user], &[&sessions, &audit]);
    let outcome = handle(&state, event_of(succeeded)).await.unwrap();
    assert!(matches!(outcome, Outcome::Acted { .. }), "{outcome:?}");
}

#[tokio::test]
async fn without_the_sub_a_name_taken_by_an_account_made_after_the_call_is_left_alone() {
    let mut signed_out = record("AdminUserGlobalSignOut");
    signed_out["detail"]
        .as_object_mut()
        .unwrap()
        .remove("additionalEventData");
    let newer = mock!(Client::admin_get_user).then_output(|| {
        AdminGetUserOutput::builder()
            .username("alice")
            .user_attributes(
                AttributeType::builder()
                    .name("sub")
                    .value(SUB)
                    .build()
                    .unwrap(),
            )
            .user_create_date(aws_smithy_types::DateTime::from_secs(
                (recorded() + 30) as i64,
            ))
            .build()
            .unwrap()
    });
    let state = state(&[&newer], &[]);
    let outcome = handle(&state, event_of(signed_out)).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Passed {
            reason: "no user named"
        }
    );
}
