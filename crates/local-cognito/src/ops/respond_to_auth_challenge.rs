//! RespondToAuthChallenge. Every challenge's session passed through the layer, bound to the
//! user and the challenge it was issued for: a session the layer did not issue, one answered
//! already, one older than the client's AuthSessionValidity, or one answered for another user
//! (`ChallengeResponses.USERNAME`, compared as the internal user name, whatever alias it is
//! given as) or as another challenge (`ChallengeName`) is an invalid session,
//! `NotAuthorizedException`. Cognito's session is an opaque token it issues for one user's next
//! step in one sign-in, and it refuses any session it will not take with "Invalid session for
//! the user" (aws-amplify/amplify-js#5834, aws-amplify/amplify-js#6461); no answer of Cognito's
//! signs in a user other than the one the session is for.
//!
//! The session is claimed before anything is checked or moto called, so that of answers sent
//! at once only the first is checked and the others are refused. MFA_SETUP (the layer's own)
//! ends with the tokens it held; a SOFTWARE_TOKEN_MFA code is checked against the user's own
//! secret and spent ([`mfa::code_for_moto`]), moto getting a code of its one secret instead,
//! and a wrong one counts against the session; any other answer moto checks.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::directory::App;
use crate::protocol::{Call, Error, ErrorType, required_parameter};
use crate::sessions::Binding;
use crate::{mfa, ops};

use super::user_auth;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    client_id: String,
    challenge_name: String,
    session: Option<String>,
    #[serde(default)]
    challenge_responses: ChallengeResponses,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct ChallengeResponses {
    username: Option<String>,
    secret_hash: Option<String>,
    software_token_mfa_code: Option<String>,
    answer: Option<String>,
    password: Option<String>,
    email_otp_code: Option<String>,
    credential: Option<String>,
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    if req.challenge_name == "PASSWORD_VERIFIER" {
        return Err(user_auth::refuse_srp());
    }
    let responses = &req.challenge_responses;
    let username = required_parameter("USERNAME", responses.username.as_deref())?;
    let code = match req.challenge_name.as_str() {
        "SOFTWARE_TOKEN_MFA" => Some(required_parameter(
            "SOFTWARE_TOKEN_MFA_CODE",
            responses.software_token_mfa_code.as_deref(),
        )?),
        _ => None,
    };
    let hash = responses.secret_hash.as_deref();
    let app = layer
        .directory
        .client(&req.client_id, username, hash)
        .await?;
    let Some(session) = req.session.as_deref() else {
        return Err(Error::invalid_session());
    };
    let bound = layer
        .sessions
        .binding(session)
        .ok_or_else(Error::invalid_session)?;
    let answer = Binding {
        username: internal_name(layer, &app, username, &bound).await?,
        challenge: req.challenge_name.clone(),
    };
    let claim = (layer.sessions).claim(session, &answer, layer.clock.now())?;
    if user_auth::CHALLENGES.contains(&req.challenge_name.as_str()) {
        let choice = user_auth::Answer {
            client_id: &req.client_id,
            challenge: &req.challenge_name,
            session,
            username: &answer.username,
            answer: responses.answer.as_deref(),
            password: responses.password.as_deref(),
            email_otp_code: responses.email_otp_code.as_deref(),
            credential: responses.credential.as_deref(),
        };
        return user_auth::answer(layer, call, &app, claim, choice).await;
    }
    if req.challenge_name == "MFA_SETUP" {
        let Some(setup) = layer.setups.get(session) else {
            return Err(Error::invalid_session());
        };
        if !setup.verified {
            return Err(Error::new(
                ErrorType::EnableSoftwareTokenMfa,
                "Software token MFA has not been set up.",
            ));
        }
        layer.setups.close(session);
        claim.answered();
        let done = json!({"AuthenticationResult": setup.result, "ChallengeParameters": {}});
        return Ok(ops::signed_in(layer, &app, done, Some(&answer.username)));
    }
    let mut for_moto = None;
    if let Some(code) = code {
        match mfa::code_for_moto(layer, &app.pool_id, &answer.username, code) {
            Ok(Some(moto_code)) => {
                for_moto = Some(call.rewritten(|json| {
                    json["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"] = json!(moto_code);
                }));
            }
            Ok(None) => {}
            Err(err) => {
                claim.wrong_code();
                return Err(err);
            }
        }
    }
    let out = layer.moto.call(for_moto.as_ref().unwrap_or(call)).await?;
    claim.answered();
    Ok(ops::signed_in(layer, &app, out, Some(&answer.username)))
}

/// The internal user name `given` (`ChallengeResponses.USERNAME`) names: the session's user
/// when it is their internal name, as Cognito hands it out (`USER_ID_FOR_SRP`); else whoever
/// the pool finds under it (an alias: the e-mail address). Nobody: an invalid session.
async fn internal_name(
    layer: &Layer,
    app: &App,
    given: &str,
    bound: &Binding,
) -> Result<String, Error> {
    if given == bound.username {
        return Ok(given.to_owned());
    }
    let user = layer.directory.user(app, given).await?;
    user.map(|u| u.username).ok_or_else(Error::invalid_session)
}
