//! One file per operation, each with its typed request and one `handle(layer, call)` that
//! answers it with JSON or a Cognito error; [`dispatch`] picks it by the call's [`Target`].
//! What several operations share is here: the caller an access token names, a sign-in's
//! answer noted, a code sent.

use serde_json::{Value, json};

use crate::Layer;
use crate::codes::Purpose;
use crate::directory::{App, User};
use crate::mailbox::{Message, rfc3339};
use crate::protocol::{Attribute, Call, Error, ErrorType, code_delivery};
use crate::sessions::{Binding, Claim, Setup};
use crate::tokens::{Claims, Family};

/// Every operation the layer answers itself, by its [`Target`] variant (the operation's name,
/// which is all that parsing it needs) and the file that answers it: the enum, the modules and
/// [`dispatch`] all come from this one list, so adding an operation is its file and one line
/// here. Any other operation is [`Target::Other`], which moto answers ([`other`]).
macro_rules! operations {
    ($($target:ident => $file:ident),* $(,)?) => {
        $(mod $file;)*
        mod other;

        /// The operation a call names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
        pub enum Target {
            $($target,)*
            /// Any other Cognito operation: moto answers it, after the access-token check when
            /// it takes one.
            #[serde(other)]
            Other,
        }

        /// Answers `call` with its operation's handler.
        pub async fn dispatch(layer: &Layer, call: &Call) -> Result<Value, Error> {
            match call.target {
                $(Target::$target => $file::handle(layer, call).await,)*
                Target::Other => other::handle(layer, call).await,
            }
        }
    };
}

pub mod user_auth;

operations! {
    AdminDeleteSoftwareToken => admin_delete_software_token,
    AdminDeleteUser => admin_delete_user,
    AdminDisableUser => admin_disable_user,
    AdminInitiateAuth => admin_initiate_auth,
    AdminRemoveUserFromGroup => admin_remove_user_from_group,
    AdminResetUserPassword => admin_reset_user_password,
    AdminRespondToAuthChallenge => admin_respond_to_auth_challenge,
    AdminUpdateUserAttributes => admin_update_user_attributes,
    AdminUserGlobalSignOut => admin_user_global_sign_out,
    AssociateSoftwareToken => associate_software_token,
    CompleteWebAuthnRegistration => complete_web_authn_registration,
    ConfirmForgotPassword => confirm_forgot_password,
    ConfirmSignUp => confirm_sign_up,
    CreateUserPoolClient => create_user_pool_client,
    DeleteUser => delete_user,
    DeleteWebAuthnCredential => delete_web_authn_credential,
    ForgotPassword => forgot_password,
    GetTokensFromRefreshToken => get_tokens_from_refresh_token,
    GetUserAttributeVerificationCode => get_user_attribute_verification_code,
    GetUserAuthFactors => get_user_auth_factors,
    GetUserPoolMfaConfig => get_user_pool_mfa_config,
    GlobalSignOut => global_sign_out,
    InitiateAuth => initiate_auth,
    ListUsers => list_users,
    ListWebAuthnCredentials => list_web_authn_credentials,
    ResendConfirmationCode => resend_confirmation_code,
    RespondToAuthChallenge => respond_to_auth_challenge,
    RevokeToken => revoke_token,
    SetUserPoolMfaConfig => set_user_pool_mfa_config,
    SignUp => sign_up,
    StartWebAuthnRegistration => start_web_authn_registration,
    UpdateUserAttributes => update_user_attributes,
    UpdateUserPoolClient => update_user_pool_client,
    VerifySoftwareToken => verify_software_token,
    VerifyUserAttribute => verify_user_attribute,
}

/// What a call an app client makes about a user by name carries: the client, the user name, and
/// the SECRET_HASH of that name. An operation's request takes it with `#[serde(flatten)]`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ByName {
    client_id: String,
    username: String,
    secret_hash: Option<String>,
}

impl ByName {
    /// The app client, its SECRET_HASH checked over the user name as Cognito checks it.
    async fn client(&self, layer: &Layer) -> Result<App, Error> {
        let hash = self.secret_hash.as_deref();
        layer
            .directory
            .client(&self.client_id, &self.username, hash)
            .await
    }

    /// The app client, checked, and the user it names, if there is one.
    async fn client_and_user(&self, layer: &Layer) -> Result<(App, Option<User>), Error> {
        let app = self.client(layer).await?;
        let user = layer.directory.user(&app, &self.username).await?;
        Ok((app, user))
    }
}

/// An app client's `RefreshTokenRotation`, as CreateUserPoolClient and UpdateUserPoolClient take
/// it: checked as Cognito checks it (`Feature` ENABLED or DISABLED, `RetryGracePeriodSeconds`
/// 0 to 60), which moto does not.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Rotation {
    feature: String,
    retry_grace_period_seconds: Option<i64>,
}

impl Rotation {
    /// `InvalidParameterException` for a setting Cognito's model does not allow, worded as its
    /// validation errors are.
    fn check(&self) -> Result<(), Error> {
        let invalid = |value: &dyn std::fmt::Display, member: &str, constraint: &str| {
            Err(Error::invalid_parameter(format!(
                "1 validation error detected: Value '{value}' at 'refreshTokenRotation.{member}' \
                 failed to satisfy constraint: {constraint}"
            )))
        };
        if !matches!(self.feature.as_str(), "ENABLED" | "DISABLED") {
            let set = "Member must satisfy enum value set: [ENABLED, DISABLED]";
            return invalid(&self.feature, "feature", set);
        }
        match self.retry_grace_period_seconds {
            Some(s) if s < 0 => invalid(
                &s,
                "retryGracePeriodSeconds",
                "Member must have value greater than or equal to 0",
            ),
            Some(s) if s > 60 => invalid(
                &s,
                "retryGracePeriodSeconds",
                "Member must have value less than or equal to 60",
            ),
            _ => Ok(()),
        }
    }
}

/// What an administrator's call about a user by name carries (with IAM, no app client): the
/// pool and the user name, which may be an alias.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AdminByName {
    user_pool_id: String,
    username: String,
}

impl AdminByName {
    /// The user the call names, if there is one.
    pub(crate) async fn user(&self, layer: &Layer) -> Result<Option<User>, Error> {
        layer
            .directory
            .user_in(&self.user_pool_id, &self.username)
            .await
    }
}

/// The user a call the trail records names ([`crate::trail`]), read before the call runs: a
/// deleted user is gone after it.
pub(crate) async fn trailed_user(layer: &Layer, call: &Call) -> Option<crate::trail::Subject> {
    let req: AdminByName = call.request().ok()?;
    let user = req.user(layer).await.ok()??;
    Some(crate::trail::Subject {
        username: user.username,
        sub: user.sub,
    })
}

/// An administrator's call that ends every session of a user (AdminDeleteUser,
/// AdminUserGlobalSignOut): moto answers it (an unknown user too), then the layer revokes every
/// token family of the user it has seen issued, so that their refresh tokens and the access
/// tokens issued from them are refused (`NotAuthorizedException`), as Cognito refuses them.
async fn ending_sessions(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: AdminByName = call.request()?;
    let user = req.user(layer).await?;
    let out = layer.moto.call(call).await?;
    if let Some(user) = user {
        layer.tokens.revoke_user(&user.username);
    }
    Ok(out)
}

/// The user `access_token` belongs to, as moto knows it, and the app client it was issued to;
/// refused when its family is revoked.
async fn caller(layer: &Layer, access_token: &str) -> Result<(App, User), Error> {
    let refused = || Error::not_authorized("Invalid Access Token");
    let claims = Claims::of(access_token).ok_or_else(refused)?;
    if let Some(jti) = &claims.origin_jti
        && layer.tokens.is_revoked(jti)
    {
        return Err(Error::not_authorized("Access Token has been revoked"));
    }
    let app = layer
        .directory
        .app(&claims.client_id.ok_or_else(refused)?)
        .await?;
    // A user deleted behind the layer's back (AdminDeleteUser straight to moto): moto answers
    // UserNotFoundException for their token, Cognito NotAuthorizedException.
    let out = layer
        .moto
        .user_of(access_token)
        .await
        .map_err(|e| match e.kind() {
            Some(ErrorType::Reported(t)) if t == "UserNotFoundException" => {
                Error::not_authorized("User does not exist.")
            }
            _ => e,
        })?;
    let user = layer.directory.user(&app, out.username()).await?;
    Ok((app, user.ok_or_else(refused)?))
}

/// An MFA_SETUP challenge's `session`, claimed (AssociateSoftwareToken and VerifySoftwareToken
/// take it), and the set-up it holds; any other session is an invalid one.
fn setup_session<'a>(layer: &'a Layer, session: &str) -> Result<(Claim<'a>, Setup), Error> {
    let setup = layer
        .setups
        .get(session)
        .ok_or_else(Error::invalid_session)?;
    let bound = layer
        .sessions
        .binding(session)
        .ok_or_else(Error::invalid_session)?;
    let expected = Binding {
        challenge: "MFA_SETUP".to_owned(),
        ..bound
    };
    let claim = (layer.sessions).claim(session, &expected, layer.clock.now())?;
    Ok((claim, setup))
}

/// A sign-in's answer (InitiateAuth, RespondToAuthChallenge), noted: a challenge's session,
/// bound to the internal user name `username` and the challenge, good for `app`'s
/// AuthSessionValidity, with the user named as Cognito names them (`USER_ID_FOR_SRP`); or the
/// refresh token's family.
fn signed_in(layer: &Layer, app: &App, mut out: Value, username: Option<&str>) -> Value {
    let text = |key: &str| out.get(key).and_then(Value::as_str).map(str::to_owned);
    if let (Some(session), Some(challenge)) = (text("Session"), text("ChallengeName")) {
        let params = &out["ChallengeParameters"];
        let named =
            (params.get("USER_ID_FOR_SRP").or(params.get("USERNAME"))).and_then(Value::as_str);
        let binding = Binding {
            username: username.or(named).unwrap_or_default().to_owned(),
            challenge,
        };
        let (now, validity) = (layer.clock.now(), app.session_validity);
        if !binding.username.is_empty() {
            out["ChallengeParameters"]["USER_ID_FOR_SRP"] = json!(binding.username);
        }
        layer.sessions.issued(&session, binding, now, validity);
        return out;
    }
    let result = &out["AuthenticationResult"];
    let refresh = result.get("RefreshToken").and_then(Value::as_str);
    let id = result
        .get("IdToken")
        .and_then(Value::as_str)
        .and_then(Claims::of);
    if let (Some(refresh), Some(id)) = (refresh, id) {
        let family = Family {
            username: id.cognito_username.unwrap_or_default(),
            client_id: id.aud.unwrap_or_default(),
            origin_jti: id.origin_jti.unwrap_or_default(),
            moto_token: refresh.to_owned(),
        };
        layer.tokens.issued(refresh, family);
    }
    out
}

/// Writes `attributes` of `user`, as UpdateUserAttributes and AdminUpdateUserAttributes do: a
/// new e-mail address, where the pool wants it verified first
/// (AttributesRequireVerificationBeforeUpdate), waits for its code while the old one stays;
/// otherwise it replaces the old one at once, unverified. Either way a code is sent to it.
/// The `CodeDeliveryDetails` of the codes sent.
async fn update_attributes(
    layer: &Layer,
    app: &App,
    user: &User,
    attributes: &[Attribute],
) -> Result<Vec<Value>, Error> {
    let given = (attributes.iter()).filter_map(|a| Some((a.name.as_str(), a.value.as_deref()?)));
    let mut now = Vec::new();
    let mut deliveries = Vec::new();
    for (name, value) in given {
        if name != "email" {
            now.push((name, value));
            continue;
        }
        if user.email.as_deref() == Some(value) {
            continue;
        }
        if app.verify_before_update.iter().any(|a| a == "email") {
            layer.directory.hold_email(app, &user.username, value);
        } else {
            now.extend([("email", value), ("email_verified", "false")]);
        }
        let purpose = Purpose::VerifyEmail;
        send_code(layer, app, &user.username, purpose, "verify_email", value)?;
        deliveries.push(code_delivery(value));
    }
    if !now.is_empty() {
        layer
            .directory
            .set_attributes(app, &user.username, &now)
            .await?;
    }
    Ok(deliveries)
}

/// A new code for the internal user name `user`, which supersedes the last, sent to `to` as
/// `kind` (the [`Message`]'s).
fn send_code(
    layer: &Layer,
    app: &App,
    user: &str,
    purpose: Purpose,
    kind: &'static str,
    to: &str,
) -> Result<(), Error> {
    let now = layer.clock.now();
    let code = layer.codes.issue(&app.pool_id, user, purpose, now)?;
    layer.mailbox.deliver(Message {
        to: to.to_owned(),
        username: user.to_owned(),
        kind,
        code,
        sent_at: rfc3339(now),
        subject: None,
        body: None,
    });
    Ok(())
}

/// A code sent to a user that does not exist: with PreventUserExistenceErrors, the answer of a
/// code sent (to nowhere); without, `UserNotFoundException`.
fn unknown_user_delivery(app: &App, username: &str) -> Result<Value, Error> {
    if app.prevent_user_existence_errors {
        Ok(json!({"CodeDeliveryDetails": code_delivery(&format!("{username}@example.com"))}))
    } else {
        Err(app.unknown_user(Error::code_mismatch()))
    }
}
