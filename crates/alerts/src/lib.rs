//! Security alerts by e-mail: what a user must hear of even when the change was made with their
//! password, because a thief may hold it.
//!
//! - Sent by the functions at the request: a change of e-mail address asked for, told to the
//!   old address (the new one gets Cognito's code), and a passkey added or removed.
//! - Sent by the events function from the audit log's stream ([`Alerts::for_event`]): the
//!   password changed or reset, the address changed, TOTP turned off, a recovery code used, and
//!   a sign-in from a device none of the user's live sessions has. Each template pair (plain
//!   text and HTML, `templates/`) ends with what to do if it wasn't you.
//!
//! They go through SES (`SendEmail`, SES v2) from the stack's own identity: `ALERT_MAIL_FROM`
//! and `ALERT_MAIL_IDENTITY_ARN`, set when the stack sends its mail through SES. Without them
//! the alerts are off (Cognito's default mail cannot send anything but its own codes), and each
//! one that would have gone is logged as withheld. Locally, SES is the local Cognito's, and the
//! alerts land in its mailbox.
//!
//! A failed alert never fails the request that caused it: the change is made, and the failure
//! is logged.

use aws_config::SdkConfig;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use platform::{ClientContext, Env};
use tables::audit::{Event, EventType, Outcome};

/// The variable holding the alerts' From, such as `Books <no-reply@example.com>`.
pub const FROM_VAR: &str = "ALERT_MAIL_FROM";
/// The variable holding the SES identity's ARN the alerts are sent as.
pub const IDENTITY_VAR: &str = "ALERT_MAIL_IDENTITY_ARN";
/// The SDK's own variable for SES's endpoint: where the local API points the alerts at the
/// local Cognito's mailbox.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SESV2";

const EMAIL_CHANGE_TEXT: &str = include_str!("../templates/email-change.txt");
const EMAIL_CHANGE_HTML: &str = include_str!("../templates/email-change.html");
const PASSKEY_ADDED_TEXT: &str = include_str!("../templates/passkey-added.txt");
const PASSKEY_ADDED_HTML: &str = include_str!("../templates/passkey-added.html");
const PASSKEY_REMOVED_TEXT: &str = include_str!("../templates/passkey-removed.txt");
const PASSKEY_REMOVED_HTML: &str = include_str!("../templates/passkey-removed.html");

/// The alerts the events function sends, by event type: (kind, subject, text, HTML).
const EVENT_ALERTS: &[(EventType, &str, &str, &str, &str)] = &[
    (
        EventType::PasswordChanged,
        "password_changed",
        "Your password was changed",
        include_str!("../templates/password-changed.txt"),
        include_str!("../templates/password-changed.html"),
    ),
    (
        EventType::PasswordReset,
        "password_reset",
        "Your password was reset",
        include_str!("../templates/password-reset.txt"),
        include_str!("../templates/password-reset.html"),
    ),
    (
        EventType::EmailChanged,
        "email_changed",
        "Your account's e-mail address was changed",
        include_str!("../templates/email-changed.txt"),
        include_str!("../templates/email-changed.html"),
    ),
    (
        EventType::TotpDisabled,
        "totp_disabled",
        "Two-factor sign-in was turned off",
        include_str!("../templates/totp-disabled.txt"),
        include_str!("../templates/totp-disabled.html"),
    ),
    (
        EventType::RecoveryCodeUsed,
        "recovery_code_used",
        "A recovery code was used to sign in",
        include_str!("../templates/recovery-code-used.txt"),
        include_str!("../templates/recovery-code-used.html"),
    ),
    (
        EventType::MfaReset,
        "mfa_reset",
        "Two-factor sign-in was reset by an administrator",
        include_str!("../templates/mfa-reset.txt"),
        include_str!("../templates/mfa-reset.html"),
    ),
    (
        EventType::SignIn,
        "new_device",
        "A sign-in from a new device",
        include_str!("../templates/new-device.txt"),
        include_str!("../templates/new-device.html"),
    ),
];

/// Why an alert did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// No mail identity: alerts are off.
    Off,
    /// SES refused or could not be reached (its error code): worth another try.
    Failed(String),
}

/// The alerts of a function, built once at start-up.
#[derive(Debug, Clone)]
pub struct Alerts {
    sender: Option<Sender>,
}

#[derive(Debug, Clone)]
struct Sender {
    client: Client,
    from: String,
    identity: Option<String>,
}

/// One alert, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: &'static str,
    pub text: String,
    pub html: String,
}

impl Alerts {
    /// From `env` ([`FROM_VAR`], [`IDENTITY_VAR`], [`ENDPOINT_VAR`]); off when no From is set.
    pub fn from_env(env: &Env, sdk: &SdkConfig) -> Self {
        let mut config = aws_sdk_sesv2::config::Builder::from(sdk);
        if let Some(endpoint) = env.get(ENDPOINT_VAR) {
            config = config.endpoint_url(endpoint);
        }
        Self::over(Client::from_conf(config.build()), env)
    }

    /// Over a client built elsewhere (a mock, in tests).
    pub fn over(client: Client, env: &Env) -> Self {
        let sender = env.get(FROM_VAR).map(|from| Sender {
            client,
            from: from.to_owned(),
            identity: env.get(IDENTITY_VAR).map(str::to_owned),
        });
        Self { sender }
    }

    /// Whether alerts go out.
    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Tells `old_address` that a change to `new_address` was asked for, from `context`.
    pub async fn email_change_requested(
        &self,
        old_address: &str,
        new_address: &str,
        context: &ClientContext,
    ) {
        let alert = email_change(new_address, context, &now_utc());
        self.send("email_change_requested", old_address, alert)
            .await;
    }

    /// Tells `address` that the passkey `name` was added to the account, from `context`.
    pub async fn passkey_added(&self, address: &str, name: &str, context: &ClientContext) {
        let alert = passkey_added(name, context, &now_utc());
        self.send("passkey_added", address, alert).await;
    }

    /// Tells `address` that the passkey `name` was removed from the account, from `context`.
    pub async fn passkey_removed(&self, address: &str, name: &str, context: &ClientContext) {
        let alert = passkey_removed(name, context, &now_utc());
        self.send("passkey_removed", address, alert).await;
    }

    /// The alert `event` calls for, if any, with its kind: a sign-in only from a new device, a
    /// refused fact never.
    pub fn for_event(event: &Event, address: &str) -> Option<(&'static str, Alert)> {
        if event.outcome != Outcome::Success {
            return None;
        }
        if event.kind == EventType::SignIn && event.detail.new_device != Some(true) {
            return None;
        }
        let (_, kind, subject, text, html) = EVENT_ALERTS.iter().find(|a| a.0 == event.kind)?;
        let context = ClientContext {
            ip: event.ip.clone(),
            user_agent: None,
        };
        let when = in_words(&event.time);
        let device = event.device.as_deref().unwrap_or("unknown");
        let fields = [("{address}", address), ("{device}", device)];
        Some((
            kind,
            render(subject, (text, html), &fields, &context, &when),
        ))
    }

    /// Sends `alert` to `to`, telling a failure (the events function then tries again).
    pub async fn deliver(&self, kind: &'static str, to: &str, alert: Alert) -> Result<(), NotSent> {
        let Some(sender) = &self.sender else {
            tracing::info!(
                alert = kind,
                sent = false,
                "alert withheld: no mail identity"
            );
            return Err(NotSent::Off);
        };
        let content = |data: String| Content::builder().data(data).charset("UTF-8").build();
        let (Ok(subject), Ok(text), Ok(html)) = (
            content(alert.subject.to_owned()),
            content(alert.text),
            content(alert.html),
        ) else {
            tracing::error!(alert = kind, "alert not built");
            return Err(NotSent::Failed("not built".to_owned()));
        };
        let message = Message::builder()
            .subject(subject)
            .body(Body::builder().text(text).html(html).build())
            .build();
        let sent = sender
            .client
            .send_email()
            .from_email_address(&sender.from)
            .set_from_email_address_identity_arn(sender.identity.clone())
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match sent {
            Ok(_) => {
                tracing::info!(alert = kind, sent = true, "alert sent");
                Ok(())
            }
            // SES's code only: its messages may repeat the recipient's address.
            Err(e) => {
                let code = e
                    .as_service_error()
                    .and_then(|e| e.code())
                    .unwrap_or("unreachable");
                tracing::error!(alert = kind, sent = false, error = code, "alert not sent");
                Err(NotSent::Failed(code.to_owned()))
            }
        }
    }

    /// Sends `alert`; a failure is logged, never told: the request that caused it stands.
    async fn send(&self, kind: &'static str, to: &str, alert: Alert) {
        let _ = self.deliver(kind, to, alert).await;
    }
}

/// The e-mail-change alert: the new address in full (its owner asked for it, and the old
/// address's owner must be able to tell it), when, and from which IP.
pub fn email_change(new_address: &str, context: &ClientContext, when: &str) -> Alert {
    render(
        "Your account's e-mail address is being changed",
        (EMAIL_CHANGE_TEXT, EMAIL_CHANGE_HTML),
        &[("{new_address}", new_address)],
        context,
        when,
    )
}

/// The passkey alert: which passkey (as Cognito names it), when, and from which IP.
pub fn passkey_added(name: &str, context: &ClientContext, when: &str) -> Alert {
    render(
        "A passkey was added to your account",
        (PASSKEY_ADDED_TEXT, PASSKEY_ADDED_HTML),
        &[("{name}", name)],
        context,
        when,
    )
}

/// The passkey-removed alert: which passkey, when, and from which IP.
pub fn passkey_removed(name: &str, context: &ClientContext, when: &str) -> Alert {
    render(
        "A passkey was removed from your account",
        (PASSKEY_REMOVED_TEXT, PASSKEY_REMOVED_HTML),
        &[("{name}", name)],
        context,
        when,
    )
}

/// A template pair filled with `fields`, when and the IP, escaped for HTML in the HTML part.
fn render(
    subject: &'static str,
    (text, html): (&str, &str),
    fields: &[(&str, &str)],
    context: &ClientContext,
    when: &str,
) -> Alert {
    let ip = context.ip.as_deref().unwrap_or("an unknown address");
    let fill = |template: &str, escape: fn(&str) -> String| {
        let common = [("{when}", when), ("{ip}", ip)];
        (fields.iter().chain(&common)).fold(template.to_owned(), |out, (key, value)| {
            out.replace(key, &escape(value))
        })
    };
    Alert {
        subject,
        text: fill(text, str::to_owned),
        html: fill(html, html_escape),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Now, as `2026-12-02 18:07:46`: the events' clock and calendar ([`tables::audit::rfc3339`]).
fn now_utc() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default();
    in_words(&tables::audit::rfc3339(ms))
}

/// An event's RFC 3339 time as the alerts show it: `2026-12-02 18:07:46`.
fn in_words(time: &str) -> String {
    time.get(..19).unwrap_or(time).replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_names_the_new_address_when_and_where_escaped_in_html() {
        let context = ClientContext {
            ip: Some("203.0.113.7".into()),
            user_agent: None,
        };
        let alert = email_change("thief<x>@example.com", &context, "2026-12-02 18:07:46");
        assert!(alert.text.contains("thief<x>@example.com"));
        assert!(alert.text.contains("203.0.113.7") && alert.text.contains("2026-12-02 18:07:46"));
        assert!(alert.text.contains("If this wasn't you"));
        assert!(alert.html.contains("thief&lt;x&gt;@example.com"));
        assert!(!alert.html.contains("{ip}") && !alert.text.contains("{when}"));
    }

    #[test]
    fn the_passkey_alert_names_the_passkey_and_says_what_to_do_escaped_in_html() {
        let context = ClientContext {
            ip: Some("198.51.100.4".into()),
            user_agent: None,
        };
        let removed = passkey_removed("Key <b>", &context, "2026-12-03 07:31:00");
        assert!(removed.html.contains("Key &lt;b&gt;") && removed.text.contains("wasn't you"));
        let alert = passkey_added("Key <b>", &context, "2026-12-03 07:30:00");
        assert!(alert.text.contains("Key <b>") && alert.text.contains("198.51.100.4"));
        assert!(
            alert.text.contains("If this wasn't you") && alert.text.contains("remove the passkey")
        );
        assert!(alert.html.contains("Key &lt;b&gt;"));
        assert!(!alert.html.contains("{name}") && !alert.text.contains("{when}"));
    }

    #[test]
    fn each_alerting_event_has_its_alert_with_a_wasnt_me_step_and_others_none() {
        let context = ClientContext {
            ip: Some("203.0.113.9".into()),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0".into(),
            ),
        };
        let event = |kind| Event::new(kind, &context).of("sub-1", "alice");
        for (kind, name, ..) in EVENT_ALERTS {
            let mut e = event(*kind);
            if *kind == EventType::SignIn {
                assert!(
                    Alerts::for_event(&e, "a@example.com").is_none(),
                    "a known device"
                );
                e = e.new_device(true);
            }
            let (got, alert) = Alerts::for_event(&e, "a<b>@example.com").expect("an alert");
            assert_eq!(got, *name);
            for part in [&alert.text, &alert.html] {
                assert!(part.contains("If this wasn't you"), "{name}");
                assert!(
                    part.contains("203.0.113.9") && part.contains("Firefox on Linux"),
                    "{name}"
                );
                assert!(!part.contains('{'), "{name}: a field left unfilled: {part}");
            }
        }
        let changed = Alerts::for_event(&event(EventType::EmailChanged), "a<b>@example.com")
            .unwrap()
            .1;
        assert!(changed.html.contains("a&lt;b&gt;@example.com"));
        for quiet in [
            EventType::SignUp,
            EventType::SignOut,
            EventType::PasskeyRemoved,
        ] {
            assert!(Alerts::for_event(&event(quiet), "a@example.com").is_none());
        }
        let refused = event(EventType::PasswordChanged).failed("invalid_password");
        assert!(Alerts::for_event(&refused, "a@example.com").is_none());
    }

    #[test]
    fn times_are_shown_in_words_on_the_events_calendar() {
        assert_eq!(in_words("2000-02-29T00:00:00.000Z"), "2000-02-29 00:00:00");
        assert_eq!(
            in_words(&tables::audit::rfc3339(1_796_302_491_123)),
            "2026-12-03 12:54:51"
        );
        assert_eq!(now_utc().len(), 19);
    }

    #[tokio::test]
    async fn without_a_from_address_alerts_are_off_and_nothing_is_sent() {
        let send = aws_smithy_mocks::mock!(Client::send_email).then_output(|| {
            aws_sdk_sesv2::operation::send_email::SendEmailOutput::builder().build()
        });
        let client = aws_smithy_mocks::mock_client!(aws_sdk_sesv2, [&send]);
        let alerts = Alerts::over(client, &Env::from_pairs::<&str, &str>([]));
        assert!(!alerts.enabled());
        alerts
            .email_change_requested(
                "old@example.com",
                "new@example.com",
                &ClientContext::default(),
            )
            .await;
        assert_eq!(send.num_calls(), 0);
    }

    #[tokio::test]
    async fn with_a_from_address_the_old_address_gets_the_alert_as_the_identity() {
        let send = aws_smithy_mocks::mock!(Client::send_email)
            .match_requests(|r| {
                r.from_email_address() == Some("Books <no-reply@example.com>")
                    && r.from_email_address_identity_arn()
                        == Some("arn:aws:ses:eu-west-1:1:identity/example.com")
                    && r.destination().map(|d| d.to_addresses())
                        == Some(&["old@example.com".to_owned()][..])
            })
            .then_output(|| {
                aws_sdk_sesv2::operation::send_email::SendEmailOutput::builder().build()
            });
        let client = aws_smithy_mocks::mock_client!(aws_sdk_sesv2, [&send]);
        let env = Env::from_pairs([
            (FROM_VAR, "Books <no-reply@example.com>"),
            (IDENTITY_VAR, "arn:aws:ses:eu-west-1:1:identity/example.com"),
        ]);
        let alerts = Alerts::over(client, &env);
        alerts
            .email_change_requested(
                "old@example.com",
                "new@example.com",
                &ClientContext::default(),
            )
            .await;
        assert_eq!(send.num_calls(), 1);
    }
}
