//! The mailbox: every message Cognito would have sent, with its code, and every e-mail the
//! functions send through SES (security alerts, kind `alert`, with their subject and body).
//! Nothing leaves the machine; the local API serves the messages, `make dev` prints them as they
//! arrive.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider::primitives::{DateTime, DateTimeFormat};
use serde::Serialize;
use tokio::sync::broadcast;

/// Every message Cognito would have sent, and a feed of new ones.
#[derive(Debug)]
pub struct Mailbox {
    /// Oldest first.
    messages: Mutex<Vec<Message>>,
    feed: broadcast::Sender<Message>,
}

/// One message: to whom, for which user, why, and its code.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    /// The user it is for; for an e-mail sent through SES, which knows no user, the address.
    pub username: String,
    /// `sign_up`, `resend_code`, `forgot_password` or `verify_email` (Cognito's codes), or
    /// `alert` (an e-mail the functions sent through SES).
    pub kind: &'static str,
    /// The code; empty for an `alert`.
    pub code: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
    /// An `alert`'s subject; absent (not listed) for a code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// An `alert`'s body, its text part (else its HTML); absent (not listed) for a code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The kind of a message the functions sent through SES.
pub const ALERT: &str = "alert";

impl Default for Mailbox {
    fn default() -> Self {
        Self {
            messages: Mutex::default(),
            feed: broadcast::channel(64).0,
        }
    }
}

impl Mailbox {
    /// The messages, newest first; only `username`'s (in any case) when given.
    pub fn messages(&self, username: Option<&str>) -> Vec<Message> {
        let messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages
            .iter()
            .rev()
            .filter(|m| username.is_none_or(|u| m.username.eq_ignore_ascii_case(u)))
            .cloned()
            .collect()
    }

    /// The newest code sent to `username` (an alert, which has none, is passed over).
    pub fn last_code(&self, username: &str) -> Option<String> {
        self.messages(Some(username))
            .into_iter()
            .find(|m| m.kind != ALERT)
            .map(|m| m.code)
    }

    /// The e-mails sent through SES (kind `alert`), newest first; only those to `to` (in any
    /// case) when given.
    pub fn alerts(&self, to: Option<&str>) -> Vec<Message> {
        let messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages
            .iter()
            .rev()
            .filter(|m| m.kind == ALERT && to.is_none_or(|t| m.to.eq_ignore_ascii_case(t)))
            .cloned()
            .collect()
    }

    /// New messages as they arrive (`make dev` prints them).
    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.feed.subscribe()
    }

    pub(crate) fn deliver(&self, message: Message) {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.clone());
        // Nobody listening is fine.
        let _ = self.feed.send(message);
    }
}

/// `at` in RFC 3339, UTC, to the second.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(user: &str, code: &str) -> Message {
        Message {
            to: format!("{user}@example.com"),
            username: user.into(),
            kind: "sign_up",
            code: code.into(),
            sent_at: rfc3339(SystemTime::now()),
            subject: None,
            body: None,
        }
    }

    #[test]
    fn the_mailbox_lists_newest_first_and_filters_by_user() {
        let mailbox = Mailbox::default();
        for (user, code) in [("alice", "111111"), ("bob", "222222"), ("Alice", "333333")] {
            mailbox.deliver(message(user, code));
        }
        let codes: Vec<_> = mailbox.messages(None).into_iter().map(|m| m.code).collect();
        assert_eq!(codes, ["333333", "222222", "111111"]);
        assert_eq!(mailbox.messages(Some("alice")).len(), 2);
        assert_eq!(mailbox.last_code("bob").as_deref(), Some("222222"));
        assert_eq!(mailbox.last_code("carol"), None);
    }

    #[test]
    fn alerts_are_listed_apart_and_a_code_lists_no_subject_or_body() {
        let mailbox = Mailbox::default();
        mailbox.deliver(message("alice@example.com", "111111"));
        mailbox.deliver(Message {
            kind: ALERT,
            code: String::new(),
            subject: Some("New sign-in".into()),
            body: Some("Was it you?".into()),
            to: "Alice@example.com".into(),
            ..message("Alice@example.com", "")
        });
        let alerts = mailbox.alerts(Some("alice@EXAMPLE.com"));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].subject.as_deref(), Some("New sign-in"));
        assert!(mailbox.alerts(Some("bob@example.com")).is_empty());
        let code = mailbox.last_code("alice@example.com");
        assert_eq!(code.as_deref(), Some("111111"), "past the alert");
        let listed = serde_json::to_value(mailbox.messages(None)).unwrap();
        assert_eq!(listed[0]["kind"], "alert");
        assert_eq!(listed[0]["body"], "Was it you?");
        assert!(listed[1].get("subject").is_none(), "{listed}");
    }

    #[test]
    fn subscribers_get_each_new_message() {
        let mailbox = Mailbox::default();
        let mut feed = mailbox.subscribe();
        mailbox.deliver(message("alice", "123456"));
        assert_eq!(feed.try_recv().unwrap().code, "123456");
    }

    #[test]
    fn sent_at_is_rfc_3339_utc() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(86_400)),
            "1970-01-02T00:00:00Z"
        );
    }
}
