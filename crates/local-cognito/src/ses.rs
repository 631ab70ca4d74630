//! A local SES v2 `SendEmail`, served by the local Cognito: the functions send security alerts
//! through SES, and locally, with `AWS_ENDPOINT_URL_SESV2` pointed at the local Cognito's
//! endpoint, each e-mail lands in the [`Mailbox`](crate::Mailbox) as a message of kind `alert`,
//! one per recipient, beside the codes Cognito would have sent. Nothing leaves the machine.
//!
//! SES v2 is a REST JSON API: `POST /v2/email/outbound-emails` with `FromEmailAddress`,
//! `Destination` (`ToAddresses`, `CcAddresses`, `BccAddresses`) and `Content.Simple`
//! (`Subject.Data`, `Body.Text.Data` and/or `Body.Html.Data`), answered `{"MessageId"}`
//! (<https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html>). A request it
//! cannot read, without a recipient or with content other than `Simple` (raw MIME, templates,
//! which the functions do not send) is SES's `BadRequestException`, 400, its type in
//! `x-amzn-ErrorType`. Credentials and signatures are not checked.

use axum::body::{Body, Bytes};
use axum::response::Response;
use http::StatusCode;
use platform::random;
use serde::Deserialize;
use serde_json::json;

use crate::Layer;
use crate::mailbox::{ALERT, Message, rfc3339};

/// The path SES v2's SendEmail is served at.
pub const SEND_EMAIL_PATH: &str = "/v2/email/outbound-emails";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendEmail {
    #[serde(default)]
    destination: Destination,
    content: Content,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Destination {
    #[serde(default)]
    to_addresses: Vec<String>,
    #[serde(default)]
    cc_addresses: Vec<String>,
    #[serde(default)]
    bcc_addresses: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Content {
    simple: Option<Simple>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Simple {
    subject: Text,
    body: MailBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Text {
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MailBody {
    text: Option<Text>,
    html: Option<Text>,
}

/// A message id: 40 symbols of 36 from the OS CSPRNG.
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Answers SendEmail: every recipient's copy into the mailbox, and the message's id.
pub fn send_email(layer: &Layer, body: &Bytes) -> Response {
    let mail: SendEmail = match serde_json::from_slice(body) {
        Ok(mail) => mail,
        Err(e) => return bad_request(&format!("the request could not be read: {e}")),
    };
    let Some(simple) = mail.content.simple else {
        return bad_request("only Content.Simple is sent locally");
    };
    let d = mail.destination;
    let recipients: Vec<String> = [d.to_addresses, d.cc_addresses, d.bcc_addresses].concat();
    if recipients.is_empty() {
        return bad_request("the e-mail has no recipient");
    }
    let Some(text) = simple.body.text.or(simple.body.html) else {
        return bad_request("the e-mail has no body");
    };
    let Ok(id) = random::string(ID_ALPHABET, 40) else {
        return answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("InternalFailure"),
            &json!({"message": "no message id"}),
        );
    };
    let sent_at = rfc3339(layer.clock.now());
    for to in recipients {
        layer.mailbox.deliver(Message {
            username: to.clone(),
            to,
            kind: ALERT,
            code: String::new(),
            sent_at: sent_at.clone(),
            subject: Some(simple.subject.data.clone()),
            body: Some(text.data.clone()),
        });
    }
    answer(
        StatusCode::OK,
        None,
        &json!({"MessageId": format!("local-{id}")}),
    )
}

fn bad_request(message: &str) -> Response {
    let body = json!({"message": message});
    answer(StatusCode::BAD_REQUEST, Some("BadRequestException"), &body)
}

fn answer(status: StatusCode, error_type: Option<&str>, body: &serde_json::Value) -> Response {
    let mut res = Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(error_type) = error_type {
        res = res.header("x-amzn-errortype", error_type);
    }
    res.body(Body::from(body.to_string())).unwrap_or_default()
}
