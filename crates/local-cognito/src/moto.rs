//! The pass-through to moto: a call passed on as it came (or rewritten), and moto's answer read
//! in one place, once: its JSON when moto answered, its refusal as it came when it did not.
//! The admin client talks to the same moto, for what the layer does over moto's admin
//! operations.

use aws_config::SdkConfig;
use aws_sdk_cognitoidentityprovider as cognito;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::protocol::{Call, Error, Target};

/// moto, over HTTP as the SDK calls it, and through its admin operations.
pub struct Moto {
    endpoint: String,
    http: HttpClient<HttpConnector, Full<Bytes>>,
    /// moto's Cognito, called with the SDK: the admin operations, and the user's own ones
    /// (GetUser, AssociateSoftwareToken, …) on the user's access token.
    pub admin: cognito::Client,
}

impl Moto {
    /// moto at `endpoint`, which `sdk` points at too.
    pub fn new(endpoint: &str, sdk: &SdkConfig) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            admin: cognito::Client::new(sdk),
        }
    }

    /// Passes `call` on to moto: moto's JSON answer, or its refusal as [`Error::Moto`].
    /// GetUser on `access_token`, as moto knows its user (it checks the token).
    pub async fn user_of(
        &self,
        access_token: &str,
    ) -> Result<cognito::operation::get_user::GetUserOutput, Error> {
        self.admin
            .get_user()
            .access_token(access_token)
            .send()
            .await
            .map_err(Error::admin)
    }

    /// Calls moto's `target` with `body` itself, with the headers of the call being answered:
    /// what the layer asks moto on a caller's behalf.
    pub async fn invoke(
        &self,
        headers: &HeaderMap,
        target: Target,
        name: &'static str,
        body: &Value,
    ) -> Result<Value, Error> {
        let mut headers = headers.clone();
        let value = format!("AWSCognitoIdentityProviderService.{name}");
        let value = http::HeaderValue::from_str(&value)
            .map_err(|_| Error::internal("an operation name that is no header value"))?;
        headers.insert("x-amz-target", value);
        let call = Call::new(target, headers, Bytes::from(body.to_string()))?;
        self.call(&call).await
    }

    pub async fn call(&self, call: &Call) -> Result<Value, Error> {
        let res = self.send(&call.headers, call.body.clone()).await?;
        read(res).await
    }

    /// Passes a call that is not Cognito's on to moto as it came, and moto's answer back as it
    /// is.
    pub async fn relay(&self, headers: &HeaderMap, body: Bytes) -> Response {
        match self.send(headers, body).await {
            Ok(res) => res,
            Err(err) => err.into_response(),
        }
    }

    async fn send(&self, headers: &HeaderMap, body: Bytes) -> Result<Response, Error> {
        let mut req = http::Request::post(format!("{}/", self.endpoint));
        for (name, value) in headers {
            // hyper sets the length of the body it sends, which a rewritten call changes.
            if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                req = req.header(name, value);
            }
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| Error::internal(format!("the call could not be passed on: {e}")))?;
        let res = self
            .http
            .request(req)
            .await
            .map_err(|e| Error::internal(format!("moto is unreachable: {e}")))?;
        Ok(res.map(Body::new))
    }
}

/// The one reader of moto's answers: the body read once and, when moto answered, parsed once.
async fn read(res: Response) -> Result<Value, Error> {
    let (parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| Error::internal(format!("moto's answer could not be read: {e}")))?
        .to_bytes();
    if !parts.status.is_success() {
        return Err(Error::Moto(Box::new(Response::from_parts(
            parts,
            Body::from(bytes),
        ))));
    }
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|_| Error::internal("moto's answer is not JSON"))
}
