//! The operator's actions outside the API, locally as in the stack: the local Cognito records
//! what CloudTrail would ([`local_cognito::trail`]), and each record goes to the operator
//! function's own handler ([`operator::handle`]), as the stack's EventBridge rule sends it to
//! the Lambda. A record that fails is tried again [`ATTEMPTS`] times in all (Lambda's two
//! retries of an asynchronous invocation), then set aside and logged, as the dead-letter queue
//! would take it.

use std::sync::Arc;
use std::time::Duration;

use local_cognito::Layer;
use tokio::sync::broadcast::error::RecvError;

/// How many times a record is handed over before it is set aside.
pub const ATTEMPTS: u32 = 3;
/// The pause before each retry (Lambda's are a minute and two; a local run's need not be).
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Stops the delivery when dropped.
pub struct Delivery(tokio::task::JoinHandle<()>);

impl Drop for Delivery {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Hands each new record of `layer`'s trail to `operator`.
pub fn start(layer: &Arc<Layer>, operator: operator::State) -> Delivery {
    let mut feed = layer.trail().subscribe();
    Delivery(tokio::spawn(async move {
        loop {
            let record = match feed.recv().await {
                Ok(record) => record,
                Err(RecvError::Lagged(missed)) => {
                    tracing::error!(missed, "trail records were missed: the feed fell behind");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let event: operator::TrailEvent = match serde_json::from_value(record) {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(error = %e, "a trail record does not parse");
                    continue;
                }
            };
            deliver(&operator, event).await;
        }
    }))
}

async fn deliver(operator: &operator::State, event: operator::TrailEvent) {
    for attempt in 1..=ATTEMPTS {
        match operator::handle(operator, event.clone()).await {
            Ok(_) => return,
            Err(err) if attempt < ATTEMPTS => {
                tracing::warn!(
                    error = err.code(),
                    attempt,
                    "an operator's action failed; trying again"
                );
                tokio::time::sleep(RETRY_AFTER).await;
            }
            Err(err) => tracing::error!(
                error = err.code(),
                cause = err.cause().map(tracing::field::display),
                operation = %event.detail.event_name,
                "an operator's action failed for good: set aside, as the dead-letter queue would take it"
            ),
        }
    }
}
