//! The audit table's stream, read locally as Lambda reads it in the stack: the emulator's
//! DynamoDB Streams is polled, each batch of new records handed to the events function's own
//! handler ([`events::handle`]), and a batch that names a failed record tried again from it (up
//! to [`ATTEMPTS`] times, then set aside and logged, as the dead-letter queue would take it).
//!
//! The events it delivered are kept here ([`EventLog`]), served at `GET /_local/events`, and
//! printed by `make dev`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{OperationType, Record, ShardIteratorType};
use events::{Attribute, StreamChange, StreamEvent, StreamRecord};
use tables::audit::Event;
use tokio::sync::broadcast;

/// How often the stream is read.
pub const POLL: Duration = Duration::from_millis(200);
/// How many times a batch that fails is handed over before its failed record is set aside.
pub const ATTEMPTS: u32 = 5;
/// The most events the log keeps, the oldest dropped first.
const KEPT: usize = 1000;

/// The events delivered, oldest first, and a feed of each as it is.
pub struct EventLog {
    events: Mutex<VecDeque<Event>>,
    feed: broadcast::Sender<Event>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            events: Mutex::new(VecDeque::new()),
            feed: broadcast::channel(256).0,
        }
    }
}

impl EventLog {
    fn push(&self, event: Event) {
        let _ = self.feed.send(event.clone());
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() == KEPT {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// The events, newest first; with `username`, that user's only.
    pub fn events(&self, username: Option<&str>) -> Vec<Event> {
        let events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events
            .iter()
            .rev()
            .filter(|e| username.is_none_or(|u| e.user.username.as_deref() == Some(u)))
            .cloned()
            .collect()
    }

    /// Each event as it is delivered.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.feed.subscribe()
    }
}

/// Stops the reading when dropped.
pub struct Reader(tokio::task::JoinHandle<()>);

impl Drop for Reader {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts reading the stream of `table` through `sdk`, handing each batch to `consumer`.
pub fn start(sdk: &SdkConfig, table: &str, consumer: events::State, log: Arc<EventLog>) -> Reader {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let table = table.to_owned();
    Reader(tokio::spawn(async move {
        // The last record delivered: a reading that starts again skips what came before it.
        let mut last = None;
        loop {
            if let Err(e) = read(&ddb, &streams, &table, &consumer, &log, &mut last).await {
                tracing::warn!(error = %e, table = %table, "the audit stream could not be read; trying again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Reads every shard of the table's stream from its start, for as long as it can.
async fn read(
    ddb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    table: &str,
    consumer: &events::State,
    log: &EventLog,
    last: &mut Option<String>,
) -> Result<(), Error> {
    let described = ddb.describe_table().table_name(table).send().await?;
    let arn = described
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or("the audit table has no stream")?
        .to_owned();
    let stream = streams.describe_stream().stream_arn(&arn).send().await?;
    let shard = stream
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .ok_or("the audit stream has no shard")?
        .to_owned();
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(&shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await?
        .shard_iterator
        .ok_or("no shard iterator")?;
    let mut pending: Vec<StreamRecord> = Vec::new();
    let mut attempts = 0;
    loop {
        let out = streams
            .get_records()
            .shard_iterator(&iterator)
            .send()
            .await?;
        let after = |r: &StreamRecord| {
            last.as_ref()
                .is_none_or(|l| later(&r.dynamodb.sequence_number, l))
        };
        pending.extend(out.records().iter().map(record).filter(after));
        if !pending.is_empty() {
            attempts += 1;
            let delivered = deliver(consumer, log, &mut pending, last).await;
            if delivered || attempts >= ATTEMPTS {
                if let Some(failed) = (!delivered).then(|| pending.remove(0)) {
                    *last = Some(failed.dynamodb.sequence_number.clone());
                    tracing::error!(
                        sequence = %failed.dynamodb.sequence_number,
                        "an event could not be delivered after every attempt: set aside (the dead-letter queue's)"
                    );
                }
                attempts = 0;
            }
        }
        match out.next_shard_iterator {
            Some(next) => iterator = next,
            None => return Ok(()),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Hands `pending` to the events function; what it delivered leaves `pending` (and is logged
/// here). `true` when all of it was.
async fn deliver(
    consumer: &events::State,
    log: &EventLog,
    pending: &mut Vec<StreamRecord>,
    last: &mut Option<String>,
) -> bool {
    let batch = StreamEvent {
        records: pending.clone(),
    };
    let answer = events::handle(consumer, batch).await;
    let failed_at = answer
        .batch_item_failures
        .first()
        .and_then(|f| {
            pending
                .iter()
                .position(|r| r.dynamodb.sequence_number == f.item_identifier)
        })
        .unwrap_or(pending.len());
    for delivered in pending.drain(..failed_at) {
        *last = Some(delivered.dynamodb.sequence_number.clone());
        if let Some(event) = event_of(&delivered) {
            tracing::info!(
                event_type = event.kind.as_str(),
                user = event.user.username.as_deref().unwrap_or("-"),
                outcome = ?event.outcome,
                "event"
            );
            log.push(event);
        }
    }
    pending.is_empty()
}

/// Whether the sequence number `a` comes after `b` (digits, of any length).
fn later(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// The event a new record holds, as the events function reads it.
fn event_of(record: &StreamRecord) -> Option<Event> {
    if record.event_name != "INSERT" {
        return None;
    }
    let json = record
        .dynamodb
        .new_image
        .as_ref()?
        .get("event")?
        .s
        .as_deref()?;
    serde_json::from_str(json).ok()
}

/// A record of the emulator's stream in the shape Lambda hands over.
fn record(r: &Record) -> StreamRecord {
    let event_name = match r.event_name() {
        Some(OperationType::Insert) => "INSERT",
        Some(OperationType::Modify) => "MODIFY",
        Some(OperationType::Remove) => "REMOVE",
        _ => "UNKNOWN",
    };
    let change = r.dynamodb();
    let new_image = change.and_then(|c| c.new_image()).map(|image| {
        image
            .iter()
            .map(|(k, v)| {
                let s = v.as_s().ok().cloned();
                (k.clone(), Attribute { s })
            })
            .collect()
    });
    StreamRecord {
        event_name: event_name.to_owned(),
        dynamodb: StreamChange {
            sequence_number: change
                .and_then(|c| c.sequence_number())
                .unwrap_or_default()
                .to_owned(),
            new_image,
        },
    }
}
