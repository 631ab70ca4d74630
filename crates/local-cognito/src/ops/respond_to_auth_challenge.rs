//! RespondToAuthChallenge. Every challenge's session passed through the layer: one it did not
//! issue, one answered already or one older than the client's AuthSessionValidity is an invalid
//! session. MFA_SETUP (the layer's own) ends with the tokens it held; a SOFTWARE_TOKEN_MFA code
//! is checked against the user's own secret and moto gets a code of its one secret instead;
//! any other answer moto checks.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Layer;
use crate::protocol::{Call, Error, ErrorType, required_parameter};
use crate::{mfa, ops};

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
}

pub async fn handle(layer: &Layer, call: &Call) -> Result<Value, Error> {
    let req: Request = call.request()?;
    let responses = &req.challenge_responses;
    let username = required_parameter("USERNAME", responses.username.as_deref())?;
    let hash = responses.secret_hash.as_deref();
    let app = layer
        .directory
        .client(&req.client_id, username, hash)
        .await?;
    let Some(session) = req.session.as_deref() else {
        return Err(Error::invalid_session());
    };
    layer
        .sessions
        .check(session, layer.clock.now(), app.session_validity)?;
    if req.challenge_name == "MFA_SETUP"
        && let Some(setup) = layer.setups.get(session)
    {
        if !setup.verified {
            return Err(Error::new(
                ErrorType::EnableSoftwareTokenMfa,
                "Software token MFA has not been set up.",
            ));
        }
        layer.setups.close(session);
        layer.sessions.answered(session);
        let done = json!({"AuthenticationResult": setup.result, "ChallengeParameters": {}});
        return Ok(ops::signed_in(layer, done, Some(username)));
    }
    let mut for_moto = None;
    if req.challenge_name == "SOFTWARE_TOKEN_MFA" {
        let code = required_parameter(
            "SOFTWARE_TOKEN_MFA_CODE",
            responses.software_token_mfa_code.as_deref(),
        )?;
        if let Some(moto_code) = mfa::code_for_moto(layer, &app.pool_id, username, code)? {
            for_moto = Some(call.rewritten(|json| {
                json["ChallengeResponses"]["SOFTWARE_TOKEN_MFA_CODE"] = json!(moto_code);
            }));
        }
    }
    let out = layer.moto.call(for_moto.as_ref().unwrap_or(call)).await?;
    layer.sessions.answered(session);
    Ok(ops::signed_in(layer, out, Some(username)))
}
