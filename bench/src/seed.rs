//! The users the fixtures need, made through the Cognito client the functions use (as a client
//! app would), via the local Cognito, whose mailbox holds the codes: one confirmed user with a
//! password and a refresh token; unconfirmed ones to confirm, each with its code; one to resend
//! a code to; users with a password-reset code; users signed in once each, to sign out.

use auth::{Cognito, CognitoConfig, Tokens};
use local_cognito::Mailbox;
use platform::ClientContext;
use platform::Env;

use crate::events::{Seed, Session};

const PASSWORD: &str = "Correct-Horse-9!";
const TEMPORARY_PASSWORD: &str = "Temporary-Pass-1!";

/// How many of each the invocations use up.
pub struct Needs {
    pub confirms: usize,
    pub resets: usize,
    pub sign_outs: usize,
    pub deletions: usize,
    pub verifications: usize,
    pub resends: usize,
    pub challenges: usize,
    pub enrolments: usize,
    pub disables: usize,
    pub recoveries: usize,
    pub passkey_finishes: usize,
    pub passkey_deletions: usize,
    pub refreshes: usize,
}

pub async fn seed(
    sdk: &aws_config::SdkConfig,
    admin_sdk: &aws_config::SdkConfig,
    created: &local_api::bootstrap::Created,
    mailbox: &Mailbox,
    needs: Needs,
) -> Seed {
    let mut env = Env::from_pairs([("COGNITO_CLIENT_ID", created.client_id.as_str())]);
    if let Some(arn) = &created.client_secret_arn {
        env = env.with(auth::config::SECRET_ARN_VAR, arn);
    }
    let config = CognitoConfig::from_env(&env).expect("the bench app client's configuration");
    let settings = platform::sdk::SdkSettings::from_env(&env);
    let cognito = Cognito::connect(sdk, &settings, config)
        .await
        .expect("the bench app client's secret is readable");
    // Every sign-in is recorded as the functions record it: without a session, its tokens
    // would be refused.
    let sessions = sessions::Sessions::new(
        aws_sdk_dynamodb::Client::new(admin_sdk),
        created.sessions_table.clone(),
    );
    let audit = tables::Audit::new(
        aws_sdk_dynamodb::Client::new(admin_sdk),
        created.audit_table.clone(),
        1,
    );
    let signer = Signer {
        cognito: &cognito,
        sessions: &sessions,
        audit: &audit,
        mailbox,
    };
    let username = "bench-user@example.com";
    let tokens = signer.confirmed_and_signed_in(username).await;
    // A refresh token per /refresh: each is spent by its exchange.
    let mut refreshes = Vec::with_capacity(needs.refreshes);
    for _ in 0..needs.refreshes {
        let again = signer.signed_in(username).await;
        refreshes.push(again.refresh_token.expect("a refresh token"));
    }

    let mut unconfirmed = Vec::with_capacity(needs.confirms);
    for n in 0..needs.confirms {
        let name = format!("bench-unconfirmed-{n}@example.com");
        sign_up(&cognito, &name).await;
        unconfirmed.push((name.clone(), code(mailbox, &name)));
    }
    let resend_user = "bench-resend@example.com".to_owned();
    sign_up(&cognito, &resend_user).await;

    let mut resets = Vec::with_capacity(needs.resets);
    for n in 0..needs.resets {
        let name = format!("bench-reset-{n}@example.com");
        signer.confirmed_and_signed_in(&name).await;
        cognito
            .forgot_password(&ClientContext::default(), &name)
            .await
            .expect("a reset code for a bench user");
        resets.push((name.clone(), code(mailbox, &name)));
    }
    let mut sign_outs = Vec::with_capacity(needs.sign_outs);
    for n in 0..needs.sign_outs {
        let name = format!("bench-sign-out-{n}@example.com");
        sign_outs.push(session(&signer.confirmed_and_signed_in(&name).await));
    }

    let mut deletions = Vec::with_capacity(needs.deletions);
    for n in 0..needs.deletions {
        let name = format!("bench-delete-{n}@example.com");
        deletions.push(session(&signer.confirmed_and_signed_in(&name).await));
    }
    // A change of address is the function's own call (after the password), as here.
    let mut verifications = Vec::with_capacity(needs.verifications);
    let mut resends = Vec::with_capacity(needs.resends);
    for n in 0..needs.verifications + needs.resends {
        let name = format!("bench-verify-{n}@example.com");
        let tokens = signer.confirmed_and_signed_in(&name).await;
        let moved = format!("bench-moved-{n}@example.com");
        let internal = tokens.owner().expect("the user the tokens name");
        cognito
            .admin_change_email(&created.pool_id, &internal, &moved)
            .await
            .expect("a new address for a bench user");
        if n < needs.verifications {
            verifications.push((session(&tokens), code(mailbox, &name)));
        } else {
            resends.push(session(&tokens));
        }
    }

    // Accounts an administrator created: their first sign-in is a challenge to set a password.
    let admin = aws_sdk_cognitoidentityprovider::Client::new(admin_sdk);
    let mut challenges = Vec::with_capacity(needs.challenges);
    for n in 0..needs.challenges {
        let name = format!("bench-invited-{n}@example.com");
        let email = aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
            .name("email")
            .value(&name)
            .build()
            .expect("an attribute");
        admin
            .admin_create_user()
            .user_pool_id(&created.pool_id)
            .username(&name)
            .temporary_password(TEMPORARY_PASSWORD)
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .user_attributes(email)
            .send()
            .await
            .expect("an invited bench user");
        match cognito
            .password_sign_in(&ClientContext::default(), &name, TEMPORARY_PASSWORD)
            .await
        {
            Ok(auth::SignIn::Challenge(c)) => challenges.push((c.username, c.session)),
            other => panic!("{name}'s first sign-in: {other:?}"),
        }
    }

    // Two-factor sign-in: users with a secret to confirm, with TOTP on, and with recovery codes.
    // Each user has a secret of their own.
    let limits = tables::Limits::new(
        aws_sdk_dynamodb::Client::new(admin_sdk),
        created.limits_table.clone(),
    );
    let mut enrolments = Vec::with_capacity(needs.enrolments);
    for n in 0..needs.enrolments {
        let name = format!("bench-enrol-{n}@example.com");
        let user = signer.confirmed_and_signed_in(&name).await;
        let secret = cognito
            .associate_software_token(&user.access_token)
            .await
            .expect("an authenticator secret");
        // The set-up the function grants after the password, for this session and its token.
        let session = session(&user);
        let setup_token = format!("bench-setup-{n}");
        limits
            .grant(
                &tables::limits::TOTP_SETUP,
                &session.sub,
                &session.origin_jti,
                &setup_token,
            )
            .await
            .expect("a set-up grant");
        enrolments.push((session, secret, setup_token));
    }
    // The codes are hashed under the run's pepper, read as the functions read it.
    let pepper_env = Env::from_pairs([(
        auth::stored_secret::RECOVERY_CODE_PEPPER.var,
        created.recovery_pepper_arn.as_str(),
    )]);
    let pepper = auth::stored_secret::pepper_from_env(&pepper_env, sdk)
        .await
        .expect("the bench's recovery code pepper is readable");
    let recovery = tables::RecoveryCodes::new(
        aws_sdk_dynamodb::Client::new(admin_sdk),
        created.recovery_table.clone(),
    )
    .peppered(pepper);
    let mut disables = Vec::with_capacity(needs.disables);
    let mut recoveries = Vec::with_capacity(needs.recoveries);
    for n in 0..needs.disables + needs.recoveries {
        let name = format!("bench-two-factor-{n}@example.com");
        let user = signer.confirmed_and_signed_in(&name).await;
        let secret = cognito
            .associate_software_token(&user.access_token)
            .await
            .expect("an authenticator secret");
        // A code of the step before: a code is good once, and the bench's own code for
        // `/mfa/totp/disable`, of the step it runs in, must still be.
        let before = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
        let code = local_cognito::totp::totp(&secret, before);
        cognito
            .verify_software_token(&user.access_token, &code, None)
            .await
            .expect("a first code");
        cognito
            .set_totp(&user.access_token, true)
            .await
            .expect("TOTP on");
        if n < needs.disables {
            disables.push((session(&user), secret));
        } else {
            let codes = recovery.replace(&name).await.expect("recovery codes");
            recoveries.push((name, codes[0].clone()));
        }
    }

    // Passkeys: registrations started with the proof (as the function grants them), each
    // answered by a software authenticator; and users with a passkey to delete.
    let made = test_support::authenticator::Made::by("http://localhost:8080", "localhost");
    let mut passkey_finishes = Vec::with_capacity(needs.passkey_finishes);
    for n in 0..needs.passkey_finishes {
        let name = format!("bench-passkey-{n}@example.com");
        let user = signer.confirmed_and_signed_in(&name).await;
        let options = cognito
            .start_passkey_registration(&user.access_token)
            .await
            .expect("a passkey registration");
        let credential =
            test_support::authenticator::Authenticator::new().register(&options, &made);
        let session = session(&user);
        let token = format!("bench-passkey-{n}");
        limits
            .grant(
                &tables::limits::PASSKEY_SETUP,
                &session.sub,
                &session.origin_jti,
                &token,
            )
            .await
            .expect("a registration grant");
        passkey_finishes.push((session, token, credential));
    }
    let mut passkey_deletions = Vec::with_capacity(needs.passkey_deletions);
    for n in 0..needs.passkey_deletions {
        let name = format!("bench-passkey-gone-{n}@example.com");
        let user = signer.confirmed_and_signed_in(&name).await;
        let options = cognito
            .start_passkey_registration(&user.access_token)
            .await
            .expect("a passkey registration");
        let mut key = test_support::authenticator::Authenticator::new();
        let credential = key.register(&options, &made);
        cognito
            .complete_passkey_registration(&user.access_token, &credential)
            .await
            .expect("a passkey");
        passkey_deletions.push((session(&user), key.id()));
    }

    Seed {
        passkey_finishes,
        passkey_deletions,
        enrolments,
        disables,
        recoveries,
        challenges,
        main: session(&tokens),
        client_id: created.client_id.clone(),
        deletions,
        verifications,
        resends,
        username: username.into(),
        password: PASSWORD.into(),
        cognito_username: tokens.username.expect("the internal user name"),
        refreshes,
        access_token: tokens.access_token,
        unconfirmed,
        resend_user,
        resets,
        sign_outs,
    }
}

/// The user of `tokens` as the authorizer passes them: the access token's `sub` and `username`.
fn session(tokens: &Tokens) -> Session {
    use base64::Engine;
    let payload = tokens.access_token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("JSON claims");
    let text = |name: &str| match &claims[name] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    Session {
        access_token: tokens.access_token.clone(),
        sub: text("sub"),
        username: text("username"),
        origin_jti: text("origin_jti"),
        auth_time: text("auth_time"),
    }
}

fn code(mailbox: &Mailbox, username: &str) -> String {
    mailbox
        .last_code(username)
        .unwrap_or_else(|| panic!("no code in the mailbox for {username}"))
}

async fn sign_up(cognito: &Cognito, username: &str) {
    cognito
        .sign_up(
            &ClientContext::default(),
            username,
            PASSWORD,
            Some(username),
        )
        .await
        .unwrap_or_else(|e| panic!("sign up {username}: {e:?}"));
}

/// Signs users up and in through the Cognito client, recording each session.
struct Signer<'a> {
    cognito: &'a Cognito,
    sessions: &'a sessions::Sessions,
    audit: &'a tables::Audit,
    mailbox: &'a Mailbox,
}

impl Signer<'_> {
    async fn confirmed_and_signed_in(&self, username: &str) -> Tokens {
        sign_up(self.cognito, username).await;
        self.cognito
            .confirm_sign_up(
                &ClientContext::default(),
                username,
                &code(self.mailbox, username),
            )
            .await
            .unwrap_or_else(|e| panic!("confirm {username}: {e:?}"));
        self.signed_in(username).await
    }

    async fn signed_in(&self, username: &str) -> Tokens {
        let context = ClientContext::default();
        let signed_in = self
            .cognito
            .password_sign_in(&context, username, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("sign {username} in: {e:?}"));
        let how = sessions::SignInMethod::Password;
        let (cognito, sessions, audit) = (self.cognito, self.sessions, self.audit);
        match sessions::signed_in(cognito, sessions, audit, signed_in, how, &context).await {
            Ok(auth::SignIn::Tokens(tokens)) => tokens,
            other => panic!("sign {username} in: {other:?}"),
        }
    }
}
