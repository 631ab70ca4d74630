//! The audit log's consumer, on the audit table's stream (`template.yaml`: `EventsFunction`):
//! each new event ([`tables::audit::Event`]) goes
//!
//! 1. to the stack's event bus (`EVENT_BUS_NAME`), as it is, where an operator's rules route it
//!    to a webhook, a queue or a chat (`docs/events.md`);
//! 2. to its user by e-mail, when it is one they must hear of ([`alerts::Alerts::for_event`]):
//!    to their verified address, read with AdminGetUser. A sign-in is one when it comes from a
//!    device new to the account: none of its other live sessions has it (the event's
//!    `new_device`), the account has signed in before, and none of its recent sign-ins in the
//!    audit log (its last [`RECENT`]) came from it. A new account's first sign-in is not.
//!
//! No request waits on this: the request only wrote the event. A record that cannot be
//! delivered is reported as the batch's failure ([`BatchResponse`]); Lambda tries again from it
//! (the template's retries), then hands it to the dead-letter queue: an event is never lost
//! because a consumer failed. Delivery is at least once: consumers deduplicate on the event's
//! `id`, and so do the alerts (the limits table remembers each sent, [`ALERT_SENT`]). Records the table's TTL removes, and any but new items, are passed over.

use std::collections::HashMap;

use alerts::{Alerts, NotSent};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use platform::{ApiError, BoxFuture, ConfigError, Env};
use serde::{Deserialize, Serialize};
use tables::audit::{Event, EventType, Outcome, Partition, Query};
use tables::limits::ALERT_SENT;

/// How many of the user's earlier sign-ins are compared with a sign-in's device.
pub const RECENT: usize = 50;
/// The most pages (of [`tables::audit::MAX_PAGE`] events) read for them.
pub const MAX_PAGES: usize = 10;

/// The `DetailType` of every event on the bus.
pub const DETAIL_TYPE: &str = "Auth event";
/// The `Source` of the events when `EVENT_SOURCE` is not set.
pub const DEFAULT_SOURCE: &str = "auth-api";

/// What the consumer works with, built once at start-up ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub bus: Bus,
    pub alerts: Alerts,
    /// The users' addresses (AdminGetUser).
    pub cognito: auth::Cognito,
    /// `COGNITO_USER_POOL_ID`.
    pub pool_id: String,
    /// The user's earlier sign-ins, for a new device's alert.
    pub audit: tables::Audit,
    /// The alerts sent, by event id: an event handed over again sends none.
    pub limits: tables::Limits,
}

/// The stack's event bus.
#[derive(Debug, Clone)]
pub struct Bus {
    client: aws_sdk_eventbridge::Client,
    name: String,
    source: String,
}

impl Bus {
    pub fn new(client: aws_sdk_eventbridge::Client, name: &str, source: &str) -> Self {
        Self {
            client,
            name: name.to_owned(),
            source: source.to_owned(),
        }
    }

    /// Puts `event` on the bus, its JSON as the detail.
    pub async fn publish(&self, event: &Event) -> Result<(), ApiError> {
        let detail = serde_json::to_string(event)
            .map_err(|e| ApiError::internal(format_args!("event as JSON: {e}")))?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.name)
            .source(&self.source)
            .detail_type(DETAIL_TYPE)
            .detail(detail)
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| {
                let e = aws_sdk_eventbridge::error::DisplayErrorContext(e);
                ApiError::unavailable(format_args!("EventBridge PutEvents: {e}"))
            })?;
        if out.failed_entry_count() > 0 {
            let code = (out.entries().first())
                .and_then(|e| e.error_code())
                .unwrap_or("unknown");
            return Err(ApiError::unavailable(format_args!(
                "EventBridge PutEvents: the entry failed ({code})"
            )));
        }
        Ok(())
    }
}

/// The function, composed once (by `main`, the local API, the tests): the bus, the pool and the
/// mail identity from `env`, the clients over `sdk`.
pub async fn app(env: &Env, sdk: &SdkConfig) -> Result<State, ConfigError> {
    let mut bus_config = aws_sdk_eventbridge::config::Builder::from(sdk);
    if let Some(endpoint) = env.get(BUS_ENDPOINT_VAR) {
        bus_config = bus_config.endpoint_url(endpoint);
    }
    let bus = Bus::new(
        aws_sdk_eventbridge::Client::from_conf(bus_config.build()),
        env.require(&["EVENT_BUS_NAME"])?,
        env.get("EVENT_SOURCE").unwrap_or(DEFAULT_SOURCE),
    );
    let pool_id = env.require(&["COGNITO_USER_POOL_ID"])?.to_owned();
    let settings = platform::sdk::SdkSettings::from_env(env);
    let cognito =
        auth::Cognito::connect(sdk, &settings, auth::config::CognitoConfig::from_env(env)?).await?;
    let dynamodb = tables::DynamoDb::new(sdk);
    let audit = tables::audit::from_env(env, dynamodb.clone())?;
    let limits = tables::Limits::new(dynamodb, tables::limits::table_from_env(env)?);
    Ok(State {
        bus,
        alerts: Alerts::from_env(env, sdk),
        cognito,
        pool_id,
        audit,
        limits,
    })
}

/// SES's refusals that another try would meet again.
const PERMANENT_SES_ERRORS: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "NotFoundException",
    "BadRequestException",
];

/// The SDK's own variable for EventBridge's endpoint.
pub const BUS_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_EVENTBRIDGE";

/// A DynamoDB stream's batch, as Lambda hands it over: what the consumer reads of it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One record of the batch.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamRecord {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

/// The item's change.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamChange {
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    /// The new item (the stream's view is `NEW_IMAGE`), its string attributes.
    #[serde(rename = "NewImage", default, skip_serializing_if = "Option::is_none")]
    pub new_image: Option<HashMap<String, Attribute>>,
}

/// An attribute of the image: the consumer reads strings only.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Attribute {
    #[serde(rename = "S", default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
}

/// The answer to Lambda (`ReportBatchItemFailures`): the record to start again from, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// On the bus, and its alert sent where it has one.
    Event(Box<Event>),
    /// Not a new event (a TTL deletion), or one that does not parse: nothing to deliver.
    Skipped,
}

/// Delivers the batch in order; at the first record that cannot be delivered, stops and names
/// it, since Lambda starts again from it (a stream's order is kept).
pub fn handle(state: &State, batch: StreamEvent) -> BoxFuture<'_, BatchResponse> {
    Box::pin(async move {
        for record in &batch.records {
            if let Err(err) = deliver(state, record).await {
                tracing::error!(
                    error = err.code(),
                    cause = err.cause().map(tracing::field::display),
                    sequence = %record.dynamodb.sequence_number,
                    "an event could not be delivered: the batch goes on from it later"
                );
                return BatchResponse {
                    batch_item_failures: vec![ItemFailure {
                        item_identifier: record.dynamodb.sequence_number.clone(),
                    }],
                };
            }
        }
        BatchResponse::default()
    })
}

/// Delivers one record: the bus first, then the alert.
pub async fn deliver(state: &State, record: &StreamRecord) -> Result<Delivered, ApiError> {
    if record.event_name != "INSERT" {
        return Ok(Delivered::Skipped);
    }
    let json = (record.dynamodb.new_image.as_ref())
        .and_then(|image| image.get("event"))
        .and_then(|a| a.s.as_deref());
    let Some(event) = json.and_then(|json| match serde_json::from_str::<Event>(json) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::error!(error = %e, "an audit item is no event: passed over");
            None
        }
    }) else {
        return Ok(Delivered::Skipped);
    };
    state.bus.publish(&event).await?;
    alert(state, &event).await?;
    tracing::info!(
        event_id = %event.id,
        event_type = event.kind.as_str(),
        "event delivered"
    );
    Ok(Delivered::Event(Box::new(event)))
}

/// Sends `event`'s alert, if it has one, to its user's verified address. A user gone, or
/// without a verified address, gets none; alerts off (no mail identity) send none.
async fn alert(state: &State, event: &Event) -> Result<(), ApiError> {
    // The kind of alert, if any, is known before the address is looked up.
    if Alerts::for_event(event, "").is_none() || !state.alerts.enabled() {
        return Ok(());
    }
    if event.kind == EventType::SignIn && !new_to_the_account(state, event).await? {
        return Ok(());
    }
    let Some(username) = event.user.username.as_deref() else {
        tracing::warn!(event_id = %event.id, "no alert: the event names no user name");
        return Ok(());
    };
    // By name, then checked by id: a name deleted and taken again since is someone else.
    let user = state.cognito.admin_user(&state.pool_id, username).await?;
    let address = user
        .filter(|u| u.sub.is_some() && u.sub == event.user.sub && u.email_verified)
        .and_then(|u| u.email);
    let Some(address) = address else {
        tracing::info!(event_id = %event.id, "no alert: the user is gone or has no verified address");
        return Ok(());
    };
    let Some((kind, alert)) = Alerts::for_event(event, &address) else {
        return Ok(());
    };
    // Sent already, by an earlier delivery of this event (Lambda hands a batch over again
    // after a timeout): not twice. The mark is written once the alert is sent, so that an
    // alert is never lost for it; only a failure between the two sends one twice.
    if state.limits.done(&ALERT_SENT, &event.id).await? {
        tracing::info!(event_id = %event.id, "no alert: this event's was sent already");
        return Ok(());
    }
    match state.alerts.deliver(kind, &address, alert).await {
        Ok(()) => {
            if let Err(err) = state.limits.mark_done(&ALERT_SENT, &event.id).await {
                tracing::warn!(
                    event_id = %event.id,
                    error = err.code(),
                    cause = err.cause().map(tracing::field::display),
                    "an alert was sent but not marked: a later delivery of the event would send it again"
                );
            }
            Ok(())
        }
        Err(NotSent::Off) => Ok(()),
        // SES refuses this message for good (an unverified recipient in the sandbox, a
        // paused account): trying again would only hold the stream up. Logged by `deliver`.
        Err(NotSent::Failed(code)) if PERMANENT_SES_ERRORS.contains(&code.as_str()) => Ok(()),
        Err(NotSent::Failed(code)) => {
            Err(ApiError::unavailable(format_args!("SES SendEmail: {code}")))
        }
    }
}

/// Whether `sign_in` came from a device new to the account: none of its last [`RECENT`] earlier
/// sign-ins came from it, and there was one at least.
///
/// The user's partition is read newest first, sign-ins only, page after page: DynamoDB applies
/// a page's limit before the filter, so one page of other events (a burst of refused
/// sign-ins) must not hide the earlier sign-ins. The read stops after [`MAX_PAGES`] pages; when
/// it has not found the answer by then, the sign-in counts as new: a flood of events can cause
/// an alert, never silence one. Only a history read to its start and holding no earlier
/// sign-in is a first sign-in, which sends nothing.
async fn new_to_the_account(state: &State, sign_in: &Event) -> Result<bool, ApiError> {
    let Some(sub) = &sign_in.user.sub else {
        return Ok(false);
    };
    let mut earlier = 0;
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let page = state
            .audit
            .query(&Query {
                partition: Partition::User(sub.clone()),
                from_ms: None,
                to_ms: None,
                kind: Some(EventType::SignIn),
                limit: tables::audit::MAX_PAGE,
                cursor: cursor.take(),
            })
            .await?;
        for e in (page.events.iter()).filter(|e| {
            e.id != sign_in.id && e.time <= sign_in.time && e.outcome == Outcome::Success
        }) {
            if e.device == sign_in.device {
                return Ok(false);
            }
            earlier += 1;
            if earlier >= RECENT {
                return Ok(true);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            // The whole history read: new only if the account had signed in before.
            None => return Ok(earlier > 0),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
