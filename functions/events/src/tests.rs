use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_sesv2::operation::send_email::{SendEmailError, SendEmailOutput};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use platform::{ClientContext, Env};
use tables::audit::{Event, EventType};

use super::*;

const FROM: &str = "Books <no-reply@example.com>";

fn record(seq: &str, name: &str, event: Option<&Event>) -> StreamRecord {
    StreamRecord {
        event_name: name.to_owned(),
        dynamodb: StreamChange {
            sequence_number: seq.to_owned(),
            new_image: event.map(|e| {
                HashMap::from([(
                    "event".to_owned(),
                    Attribute {
                        s: Some(serde_json::to_string(e).unwrap()),
                    },
                )])
            }),
        },
    }
}

fn event(kind: EventType) -> Event {
    let context = ClientContext {
        ip: Some("203.0.113.9".into()),
        user_agent: None,
    };
    Event::new(kind, &context).of("sub-1", "alice")
}

fn accepted() -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| {
            r.entries().len() == 1
                && r.entries()[0].event_bus_name() == Some("bus")
                && r.entries()[0].detail_type() == Some(DETAIL_TYPE)
                && r.entries()[0].source() == Some("test.auth")
        })
        .sequence()
        .output(|| PutEventsOutput::builder().failed_entry_count(0).build())
        .repeatedly()
        .build()
}

fn verified(address: &'static str) -> Rule {
    owned_by(address, "sub-1")
}

/// AdminGetUser's answer for alice: `address`, verified, and the account `sub`.
fn owned_by(address: &'static str, sub: &'static str) -> Rule {
    mock!(aws_sdk_cognitoidentityprovider::Client::admin_get_user)
        .match_requests(|r| r.username() == Some("alice") && r.user_pool_id() == Some("pool"))
        .sequence()
        .output(move || {
            let attr =
                |n: &str, v: &str| AttributeType::builder().name(n).value(v).build().unwrap();
            AdminGetUserOutput::builder()
                .username("alice")
                .user_attributes(attr("email", address))
                .user_attributes(attr("sub", sub))
                .user_attributes(attr("email_verified", "true"))
                .build()
                .unwrap()
        })
        .repeatedly()
        .build()
}

fn state(bus: &[&Rule], cognito: &[&Rule], ses: &[&Rule], alerts_on: bool) -> State {
    state_reading(bus, cognito, ses, alerts_on, &[])
}

/// [`state`], the audit table answering `audit`.
fn state_reading(
    bus: &[&Rule],
    cognito: &[&Rule],
    ses: &[&Rule],
    alerts_on: bool,
    audit: &[&Rule],
) -> State {
    state_remembering(
        bus,
        cognito,
        ses,
        alerts_on,
        audit,
        &[&none_sent(), &marked()],
    )
}

/// The limits table's answer to "was this event's alert sent?": no.
fn none_sent() -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.table_name() == Some("limits") && r.consistent_read() == Some(true))
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build())
        .repeatedly()
        .build()
}

/// The limits table taking the mark of an alert sent.
fn marked() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.table_name() == Some("limits")
                && r.item()
                    .and_then(|i| i.get("id"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|id| id.starts_with("alert-sent:"))
        })
        .sequence()
        .output(|| aws_sdk_dynamodb::operation::put_item::PutItemOutput::builder().build())
        .repeatedly()
        .build()
}

fn state_remembering(
    bus: &[&Rule],
    cognito: &[&Rule],
    ses: &[&Rule],
    alerts_on: bool,
    audit: &[&Rule],
    limits: &[&Rule],
) -> State {
    let bus = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, bus);
    let ses = mock_client!(aws_sdk_sesv2, RuleMode::MatchAny, ses);
    let env = if alerts_on {
        Env::from_pairs([(alerts::FROM_VAR, FROM)])
    } else {
        Env::from_pairs::<&str, &str>([])
    };
    State {
        bus: Bus::new(bus, "bus", "test.auth"),
        alerts: Alerts::over(ses, &env),
        cognito: test_support::cognito(cognito),
        pool_id: "pool".into(),
        audit: tables::Audit::new(test_support::dynamodb_client(audit), "audit".into(), 1),
        limits: tables::Limits::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, limits),
            "limits".into(),
        ),
    }
}

#[tokio::test]
async fn an_event_handed_over_again_sends_its_alert_once() {
    let (bus, lookup) = (accepted(), verified("alice@example.com"));
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let (unsent, mark) = (none_sent(), marked());
    let state = state_remembering(&[&bus], &[&lookup], &[&sent], true, &[], &[&unsent, &mark]);
    let reset = event(EventType::PasswordReset);
    let batch = StreamEvent {
        records: vec![record("1", "INSERT", Some(&reset))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!((sent.num_calls(), mark.num_calls()), (1, 1));

    // The same event again (a batch retried after a timeout): the mark is there.
    let id = reset.id.clone();
    let there = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(move |r| {
            r.key()
                .and_then(|k| k.get("id"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|k| *k == format!("alert-sent:{id}"))
        })
        .then_output(|| {
            let later = tables::epoch_seconds() + 3600;
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .item(
                    "expires_at",
                    aws_sdk_dynamodb::types::AttributeValue::N(later.to_string()),
                )
                .build()
        });
    let again =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let state = state_remembering(
        &[&accepted()],
        &[&verified("alice@example.com")],
        &[&again],
        true,
        &[],
        &[&there],
    );
    let batch = StreamEvent {
        records: vec![record("1", "INSERT", Some(&reset))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!((there.num_calls(), again.num_calls()), (1, 0));
}

#[tokio::test]
async fn new_events_go_to_the_bus_and_removals_and_strangers_are_passed_over() {
    let bus = accepted();
    let state = state(&[&bus], &[], &[], false);
    let sign_up = event(EventType::SignUp);
    let mut garbage = record("3", "INSERT", None);
    garbage.dynamodb.new_image = Some(HashMap::from([(
        "event".to_owned(),
        Attribute {
            s: Some("{\"not\": \"an event\"}".into()),
        },
    )]));
    let batch = StreamEvent {
        records: vec![
            record("1", "INSERT", Some(&sign_up)),
            record("2", "REMOVE", None),
            garbage,
            record("4", "INSERT", Some(&event(EventType::SignOut))),
        ],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!(bus.num_calls(), 2);
}

#[tokio::test]
async fn a_bus_that_fails_names_the_record_to_start_again_from_and_stops_there() {
    let refused = mock!(aws_sdk_eventbridge::Client::put_events)
        .sequence()
        .output(|| PutEventsOutput::builder().failed_entry_count(0).build())
        .output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("ThrottlingException")
                        .build(),
                )
                .build()
        })
        .build();
    let state = state(&[&refused], &[], &[], false);
    let batch = StreamEvent {
        records: ["a", "b", "c"]
            .iter()
            .map(|seq| record(seq, "INSERT", Some(&event(EventType::SignIn))))
            .collect(),
    };
    let answer = handle(&state, batch).await;
    assert_eq!(
        answer.batch_item_failures,
        vec![ItemFailure {
            item_identifier: "b".into()
        }]
    );
    assert_eq!(refused.num_calls(), 2, "c waits for b");
    let unreachable = mock!(aws_sdk_eventbridge::Client::put_events).then_error(|| {
        PutEventsError::InternalException(
            aws_sdk_eventbridge::types::error::InternalException::builder().build(),
        )
    });
    let state = self::state(&[&unreachable], &[], &[], false);
    let batch = StreamEvent {
        records: vec![record("x", "INSERT", Some(&event(EventType::SignUp)))],
    };
    assert_eq!(handle(&state, batch).await.batch_item_failures.len(), 1);
}

#[tokio::test]
async fn an_alerting_event_mails_the_users_verified_address_and_a_failed_mail_is_tried_again() {
    let bus = accepted();
    let lookup = verified("alice@example.com");
    let sent = mock!(aws_sdk_sesv2::Client::send_email)
        .match_requests(|r| {
            r.destination().map(|d| d.to_addresses()) == Some(&["alice@example.com".to_owned()][..])
                && r.from_email_address() == Some(FROM)
        })
        .sequence()
        .output(|| SendEmailOutput::builder().build())
        .repeatedly()
        .build();
    // The account signed in before, from another device.
    let mut earlier = event(EventType::SignIn);
    earlier.device = Some("Safari on iPhone".into());
    earlier.time = "2026-01-01T00:00:00.000Z".into();
    let history = history(vec![earlier]);
    let state = state_reading(&[&bus], &[&lookup], &[&sent], true, &[&history]);
    let quiet = event(EventType::SignIn);
    let batch = StreamEvent {
        records: vec![
            record("1", "INSERT", Some(&event(EventType::PasswordChanged))),
            // A sign-in from a known device: no alert, no look-up.
            record("2", "INSERT", Some(&quiet)),
            record("3", "INSERT", Some(&quiet.clone().new_device(true))),
        ],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!(
        (bus.num_calls(), lookup.num_calls(), sent.num_calls()),
        (3, 2, 2)
    );

    let bounced = mock!(aws_sdk_sesv2::Client::send_email).then_error(|| {
        SendEmailError::TooManyRequestsException(
            aws_sdk_sesv2::types::error::TooManyRequestsException::builder().build(),
        )
    });
    let lookup = verified("alice@example.com");
    let state = self::state(&[&accepted()], &[&lookup], &[&bounced], true);
    let batch = StreamEvent {
        records: vec![record("9", "INSERT", Some(&event(EventType::TotpDisabled)))],
    };
    let answer = handle(&state, batch).await;
    assert_eq!(answer.batch_item_failures[0].item_identifier, "9");
}

/// The audit table's answer to the query of a user's recent sign-ins.
fn history(events: Vec<Event>) -> Rule {
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|q| {
            q.expression_attribute_values()
                .and_then(|v| v.get(":k"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|k| k == "user#sub-1")
        })
        .sequence()
        .output(move || {
            let items = events
                .iter()
                .map(|e| {
                    HashMap::from([(
                        "event".to_owned(),
                        AttributeValue::S(serde_json::to_string(e).unwrap()),
                    )])
                })
                .collect();
            QueryOutput::builder().set_items(Some(items)).build()
        })
        .repeatedly()
        .build()
}

#[tokio::test]
async fn a_new_accounts_first_sign_in_and_a_known_device_alert_no_one() {
    let bus = accepted();
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let first = event(EventType::SignIn).new_device(true);
    // Only this sign-in in the log: the account's first.
    let only = history(vec![first.clone()]);
    let state = state_reading(&[&bus], &[], &[&sent], true, &[&only]);
    let batch = StreamEvent {
        records: vec![record("1", "INSERT", Some(&first))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    // An earlier sign-in from this very device (which has no live session now).
    let mut before = event(EventType::SignIn);
    before.time = "2026-01-01T00:00:00.000Z".into();
    let seen = history(vec![before]);
    let state = state_reading(&[&accepted()], &[], &[&sent], true, &[&seen]);
    let batch = StreamEvent {
        records: vec![record("2", "INSERT", Some(&first))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!(sent.num_calls(), 0);
    assert_eq!((only.num_calls(), seen.num_calls()), (1, 1));
}

/// A page of the user's partition: `events` (after the filter), and more to read when `more`.
fn page(events: &[Event], more: bool) -> aws_sdk_dynamodb::operation::query::QueryOutput {
    use aws_sdk_dynamodb::types::AttributeValue;
    let items = events
        .iter()
        .map(|e| {
            HashMap::from([(
                "event".to_owned(),
                AttributeValue::S(serde_json::to_string(e).unwrap()),
            )])
        })
        .collect();
    let last = HashMap::from([
        ("pk".to_owned(), AttributeValue::S("user#sub-1".into())),
        ("sk".to_owned(), AttributeValue::S("0000000000001#x".into())),
    ]);
    aws_sdk_dynamodb::operation::query::QueryOutput::builder()
        .set_items(Some(items))
        .set_last_evaluated_key(more.then_some(last))
        .build()
}

#[tokio::test]
async fn a_flood_of_other_events_cannot_hide_the_earlier_sign_ins_nor_silence_the_alert() {
    let sign_in = event(EventType::SignIn).new_device(true);
    let mut elsewhere = event(EventType::SignIn);
    elsewhere.time = "2026-01-01T00:00:00.000Z".into();
    elsewhere.device = Some("Safari on iPhone".into());
    // A page of refused sign-ins (filtered out) before the earlier sign-in from elsewhere.
    let hidden = mock!(aws_sdk_dynamodb::Client::query)
        .sequence()
        .output({
            let sign_in = sign_in.clone();
            move || page(std::slice::from_ref(&sign_in), true)
        })
        .output(move || page(std::slice::from_ref(&elsewhere), false))
        .build();
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let lookup = verified("alice@example.com");
    let state = state_reading(&[&accepted()], &[&lookup], &[&sent], true, &[&hidden]);
    let batch = StreamEvent {
        records: vec![record("1", "INSERT", Some(&sign_in))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!((hidden.num_calls(), sent.num_calls()), (2, 1));

    // Page after page of other events, past what is read: the sign-in counts as new.
    let endless = mock!(aws_sdk_dynamodb::Client::query)
        .sequence()
        .output(|| page(&[], true))
        .repeatedly()
        .build();
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let state = state_reading(&[&accepted()], &[&lookup], &[&sent], true, &[&endless]);
    let batch = StreamEvent {
        records: vec![record("2", "INSERT", Some(&sign_in))],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!(endless.num_calls(), MAX_PAGES);
    assert_eq!(sent.num_calls(), 1);
}

#[tokio::test]
async fn a_name_taken_by_another_account_since_gets_no_alert_and_a_refusal_for_good_is_passed_over()
{
    // The event's alice was deleted; a new alice (another sub) has the name now.
    let lookup = owned_by("new-alice@example.com", "sub-2");
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let state = state(&[&accepted()], &[&lookup], &[&sent], true);
    let batch = StreamEvent {
        records: vec![record(
            "1",
            "INSERT",
            Some(&event(EventType::PasswordReset)),
        )],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!((lookup.num_calls(), sent.num_calls()), (1, 0));

    // SES refuses the recipient for good: the stream goes on, not held up by retries.
    let rejected = mock!(aws_sdk_sesv2::Client::send_email).then_error(|| {
        SendEmailError::MessageRejected(
            aws_sdk_sesv2::types::error::MessageRejected::builder()
                .meta(
                    aws_sdk_sesv2::error::ErrorMetadata::builder()
                        .code("MessageRejected")
                        .build(),
                )
                .build(),
        )
    });
    let state = self::state(
        &[&accepted()],
        &[&verified("alice@example.com")],
        &[&rejected],
        true,
    );
    let batch = StreamEvent {
        records: vec![record(
            "2",
            "INSERT",
            Some(&event(EventType::PasswordReset)),
        )],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!(rejected.num_calls(), 1);
}

#[tokio::test]
async fn without_a_mail_identity_nothing_is_looked_up_or_sent() {
    let bus = accepted();
    let sent =
        mock!(aws_sdk_sesv2::Client::send_email).then_output(|| SendEmailOutput::builder().build());
    let state = state(&[&bus], &[], &[&sent], false);
    let batch = StreamEvent {
        records: vec![record(
            "1",
            "INSERT",
            Some(&event(EventType::PasswordReset)),
        )],
    };
    assert_eq!(handle(&state, batch).await, BatchResponse::default());
    assert_eq!((bus.num_calls(), sent.num_calls()), (1, 0));
}

#[test]
fn the_answer_is_the_shape_lambda_reads() {
    let answer = BatchResponse {
        batch_item_failures: vec![ItemFailure {
            item_identifier: "42".into(),
        }],
    };
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "42"}]})
    );
    let event: StreamEvent = serde_json::from_value(serde_json::json!({
        "Records": [{"eventID": "e", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": "7", "NewImage": {"event": {"S": "{}"},
            "expires_at": {"N": "1"}}, "StreamViewType": "NEW_IMAGE"}}]
    }))
    .unwrap();
    assert_eq!(event.records[0].dynamodb.sequence_number, "7");
}
