//! The gateway: each HTTP request becomes the API Gateway REST proxy event AWS would send, goes
//! through lambda_http's own conversion into the function's handler, and the handler's answer
//! comes back through lambda_http's response conversion. Around that, what API Gateway itself
//! does: route matching, the Cognito authorizer, CORS preflight mocks, stage prefixes, and its
//! own error answers with the template's gateway-response headers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::response::Response as AxumResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambda_http::request::LambdaRequest;
use lambda_http::{BoxFuture, Context, LambdaEvent};
use platform::Api;
use serde_json::{Map, Value, json};

use crate::authorizer::{Authorizer, Required};
use crate::stream::EventLog;
use crate::template::{Route, RouteAuth, Template};
use local_cognito::Mailbox;

/// A function, as the Lambda runtime calls it: the raw event in, the proxy response out.
pub type HandlerFn = Arc<
    dyn Fn(
            LambdaEvent<LambdaRequest>,
        ) -> BoxFuture<'static, Result<ApiGatewayProxyResponse, lambda_http::Error>>
        + Send
        + Sync,
>;

/// A function's [`Api`] as a [`HandlerFn`], through [`platform::lambda::invoke`]: the entry
/// path each function's `main.rs` runs. Only here is lambda_http's answer turned into the
/// REST proxy response type (through JSON, as Lambda would send it to API Gateway).
pub fn handler<S: Send + Sync + 'static>(api: Api<S>) -> HandlerFn {
    let api = Arc::new(api);
    Arc::new(move |event| {
        let api = api.clone();
        Box::pin(async move {
            let Ok(response) = platform::lambda::invoke(&api, event).await;
            Ok(serde_json::from_value(serde_json::to_value(response)?)?)
        })
    })
}

/// Where the local API serves [`OPENAPI`].
pub const OPENAPI_PATH: &str = "/openapi.yaml";
/// The API's contract, the repository's `openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../openapi.yaml");

/// API Gateway's limit on a request payload.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

pub struct Gateway {
    template: Template,
    handlers: HashMap<String, HandlerFn>,
    authorizer: Option<Arc<Authorizer>>,
    mailbox: Option<Arc<Mailbox>>,
    events: Option<(Arc<EventLog>, crate::stream::Reader)>,
    /// The operator's actions outside the API, delivered to the operator function.
    trail: Option<crate::trail::Delivery>,
}

/// Where the local API serves the local Cognito's mailbox: not a route of the template, and
/// never part of the deployed stack.
pub const MAILBOX_PATH: &str = "/_local/mailbox";
/// Where the local API serves the auth events the audit stream delivered (newest first):
/// never part of the deployed stack, where they go to the event bus.
pub const EVENTS_PATH: &str = "/_local/events";

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("template routes to binaries with no handler: {0:?}")]
    Unhandled(Vec<String>),
    #[error("routes need the Cognito authorizer, but none is configured")]
    NoAuthorizer,
}

impl Gateway {
    /// Every routed binary must have a handler. The authorizer is needed when a route is
    /// protected.
    pub fn new(
        template: Template,
        handlers: HashMap<String, HandlerFn>,
        authorizer: Option<Arc<Authorizer>>,
    ) -> Result<Self, GatewayError> {
        let missing: Vec<String> = template
            .binaries()
            .into_iter()
            .filter(|b| !handlers.contains_key(*b))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(GatewayError::Unhandled(missing));
        }
        let protected = template.routes.iter().any(|r| r.auth != RouteAuth::Public);
        if protected && authorizer.is_none() {
            return Err(GatewayError::NoAuthorizer);
        }
        Ok(Self {
            template,
            handlers,
            authorizer,
            mailbox: None,
            events: None,
            trail: None,
        })
    }

    /// Serves `mailbox` at [`MAILBOX_PATH`].
    pub fn with_mailbox(mut self, mailbox: Arc<Mailbox>) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    /// Serves `log` at [`EVENTS_PATH`], for as long as `reader` fills it.
    pub fn with_events(mut self, log: Arc<EventLog>, reader: crate::stream::Reader) -> Self {
        self.events = Some((log, reader));
        self
    }

    /// Hands the local Cognito's trail to the operator function while the gateway lives.
    pub fn with_trail(mut self, delivery: crate::trail::Delivery) -> Self {
        self.trail = Some(delivery);
        self
    }

    /// The events the audit stream delivered, when this run reads it.
    pub fn events(&self) -> Option<&Arc<EventLog>> {
        self.events.as_ref().map(|(log, _)| log)
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The axum app: every request goes through [`Gateway::serve`].
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new()
            .fallback(
                |State(gw): State<Arc<Gateway>>,
                 ConnectInfo(peer): ConnectInfo<SocketAddr>,
                 req: http::Request<AxumBody>| async move { gw.serve(req, peer).await },
            )
            .with_state(self)
    }

    /// Serves one request and logs one line: method, path, status, latency.
    pub async fn serve(&self, req: http::Request<AxumBody>, peer: SocketAddr) -> AxumResponse {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let res = self.answer(req, peer).await;
        tracing::info!(
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            latency_ms = format!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            "request"
        );
        res
    }

    async fn answer(&self, req: http::Request<AxumBody>, peer: SocketAddr) -> AxumResponse {
        let (parts, body) = req.into_parts();
        let path = self.strip_stage(parts.uri.path()).to_owned();
        if parts.method == Method::GET && path == OPENAPI_PATH {
            return self.openapi();
        }
        if let (Some(mailbox), true) = (&self.mailbox, path == MAILBOX_PATH) {
            return self.mailbox(mailbox, &parts);
        }
        if let (Some((log, _)), true) = (&self.events, path == EVENTS_PATH) {
            return self.local_list(&parts, |username| {
                serde_json::to_string(&log.events(username)).unwrap_or_default()
            });
        }

        let candidates: Vec<(&Route, HashMap<String, String>)> = self
            .template
            .routes
            .iter()
            .filter_map(|r| match_path(&r.path, &path).map(|params| (r, params)))
            .collect();
        if candidates.is_empty() {
            return self.gateway_error(StatusCode::FORBIDDEN, "Missing Authentication Token");
        }
        if parts.method == Method::OPTIONS && !candidates.iter().any(|(r, _)| r.method == "OPTIONS")
        {
            return self.preflight();
        }
        let Some((route, path_params)) = best_match(candidates, &parts.method) else {
            return self.gateway_error(StatusCode::FORBIDDEN, "Missing Authentication Token");
        };

        let claims = match &route.auth {
            RouteAuth::Public => None,
            RouteAuth::Cognito { scopes } => {
                let required = if scopes.is_empty() {
                    Required::IdToken
                } else {
                    Required::AccessToken {
                        scopes: scopes.clone(),
                    }
                };
                let header = parts
                    .headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                let Some(authorizer) = &self.authorizer else {
                    // Gateway::new refuses protected routes without an authorizer.
                    return self.gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized");
                };
                match authorizer.authorize(header, &required).await {
                    Ok(claims) => Some(claims),
                    Err(why) => {
                        tracing::warn!(route = %route.path, reason = %why, "authorizer refused the token");
                        return self.gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized");
                    }
                }
            }
        };

        let body = match axum::body::to_bytes(body, MAX_PAYLOAD).await {
            Ok(body) => body,
            Err(_) => return self.gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long"),
        };
        let request_id = new_request_id();
        let event = match self.event(
            route,
            &parts,
            &path,
            path_params,
            body,
            claims,
            &request_id,
            peer,
        ) {
            Ok(event) => event,
            Err(e) => {
                tracing::error!(error = %e, "could not build the proxy event");
                return self.gateway_error(StatusCode::BAD_REQUEST, "Bad Request");
            }
        };
        let Some(handler) = self.handlers.get(&route.binary).cloned() else {
            // Gateway::new refuses a template that routes to a binary with no handler.
            return self.gateway_error(StatusCode::BAD_GATEWAY, "Internal server error");
        };
        // The handler runs in its own task, so that a panic is a 502, as in Lambda.
        let invoked = tokio::spawn(invoke(handler, event, request_id)).await;
        match invoked {
            Ok(Ok(res)) => res,
            Ok(Err(e)) => {
                tracing::error!(function = %route.function, error = %e, "function returned an error");
                self.gateway_error(StatusCode::BAD_GATEWAY, "Internal server error")
            }
            Err(e) => {
                tracing::error!(function = %route.function, error = %e, "function panicked");
                self.gateway_error(StatusCode::BAD_GATEWAY, "Internal server error")
            }
        }
    }

    /// `/Prod/login` and `/login` are the same route.
    fn strip_stage<'a>(&self, path: &'a str) -> &'a str {
        let stage = &self.template.stage;
        match path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(stage.as_str()))
        {
            Some("") => "/",
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        }
    }

    /// The API's contract, `openapi.yaml`, with the template's CORS headers. Served by the
    /// gateway itself, like a preflight: it is no route of template.yaml and reaches no function.
    fn openapi(&self) -> AxumResponse {
        let mut res = AxumResponse::new(AxumBody::from(OPENAPI));
        add_headers(res.headers_mut(), &self.template.gateway_4xx_headers);
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        res
    }

    /// The local mailbox, newest first (`?username=` filters), with the CORS headers so that
    /// the demo page can show it.
    fn mailbox(&self, mailbox: &Mailbox, parts: &http::request::Parts) -> AxumResponse {
        self.local_list(parts, |username| {
            serde_json::to_string(&mailbox.messages(username)).unwrap_or_default()
        })
    }

    /// A list of this local run's (`?username=` filters), as JSON with the CORS headers, to
    /// `GET` only.
    fn local_list(
        &self,
        parts: &http::request::Parts,
        list: impl FnOnce(Option<&str>) -> String,
    ) -> AxumResponse {
        if parts.method == Method::OPTIONS {
            return self.preflight();
        }
        if parts.method != Method::GET {
            return self.gateway_error(StatusCode::FORBIDDEN, "Missing Authentication Token");
        }
        let username = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "username")
                .map(|(_, v)| v.into_owned())
        });
        let mut res = AxumResponse::new(AxumBody::from(list(username.as_deref())));
        add_headers(res.headers_mut(), &self.template.gateway_4xx_headers);
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }

    /// The MOCK integration SAM adds for `OPTIONS`: 200, the template's CORS headers, no auth.
    fn preflight(&self) -> AxumResponse {
        let mut res = AxumResponse::new(AxumBody::empty());
        add_headers(res.headers_mut(), &self.template.preflight_headers);
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }

    /// An answer of API Gateway's own, with the DEFAULT_4XX / DEFAULT_5XX headers.
    fn gateway_error(&self, status: StatusCode, message: &str) -> AxumResponse {
        let body = json!({ "message": message }).to_string();
        let mut res = AxumResponse::new(AxumBody::from(body));
        *res.status_mut() = status;
        res.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(error_type(status)),
        );
        let headers = if status.is_server_error() {
            &self.template.gateway_5xx_headers
        } else {
            &self.template.gateway_4xx_headers
        };
        add_headers(res.headers_mut(), headers);
        res
    }

    /// The REST proxy event API Gateway sends for this request.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        route: &Route,
        parts: &http::request::Parts,
        path: &str,
        path_params: HashMap<String, String>,
        body: Bytes,
        claims: Option<Map<String, Value>>,
        request_id: &str,
        peer: SocketAddr,
    ) -> Result<ApiGatewayProxyRequest, serde_json::Error> {
        let (headers, multi_headers) =
            single_and_multi(parts.headers.iter().map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            }));
        let (query, multi_query) = single_and_multi(
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
        let (body, is_base64) = if body.is_empty() {
            (Value::Null, false)
        } else {
            match std::str::from_utf8(&body) {
                Ok(text) => (Value::String(text.to_owned()), false),
                Err(_) => (Value::String(B64.encode(&body)), true),
            }
        };
        let stage = &self.template.stage;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let none_if_empty = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        };
        let event = json!({
            "resource": route.path,
            "path": path,
            "httpMethod": parts.method.as_str(),
            "headers": none_if_empty(headers),
            "multiValueHeaders": none_if_empty(multi_headers),
            "queryStringParameters": none_if_empty(query),
            "multiValueQueryStringParameters": none_if_empty(multi_query),
            "pathParameters": if path_params.is_empty() { Value::Null } else { json!(path_params) },
            "stageVariables": null,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "resourceId": "local",
                "resourcePath": route.path,
                "httpMethod": parts.method.as_str(),
                "requestId": request_id,
                "extendedRequestId": request_id,
                "path": format!("/{stage}{path}"),
                "stage": stage,
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": now.as_millis() as u64,
                "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
                "identity": {
                    "sourceIp": peer.ip().to_string(),
                    "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()),
                },
                "authorizer": claims.map(|c| json!({ "claims": c })),
            },
            "body": body,
            "isBase64Encoded": is_base64,
        });
        serde_json::from_value(event)
    }
}

/// The single-value form API Gateway sends (the last value of each name) and the multi-value
/// form (all of them, in order).
fn single_and_multi(
    pairs: impl Iterator<Item = (String, String)>,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut multi: Map<String, Value> = Map::new();
    let mut single = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::String(value.clone()));
        if let Value::Array(values) = multi
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(Value::String(value));
        }
    }
    (single, multi)
}

/// Runs the function exactly as its `main.rs` does (`platform::lambda`, then lambda_http's
/// `Adapter` into an `http::Request`), the answer back into a REST proxy response.
async fn invoke(
    handler: HandlerFn,
    event: ApiGatewayProxyRequest,
    request_id: String,
) -> Result<AxumResponse, lambda_http::Error> {
    let mut context = Context::default();
    context.request_id = request_id;
    let lambda_response = handler(LambdaEvent::new(
        LambdaRequest::ApiGatewayV1(event),
        context,
    ))
    .await?;
    to_http(lambda_response)
}

/// API Gateway's answer from a REST proxy response.
fn to_http(proxy: ApiGatewayProxyResponse) -> Result<AxumResponse, lambda_http::Error> {
    let body: Vec<u8> = match proxy.body {
        None => Vec::new(),
        Some(body) if proxy.is_base64_encoded => B64.decode(&*body)?,
        Some(body) => body.to_vec(),
    };
    let mut res = AxumResponse::new(AxumBody::from(body));
    *res.status_mut() = StatusCode::from_u16(u16::try_from(proxy.status_code)?)?;
    for (name, value) in proxy.headers.iter().chain(proxy.multi_value_headers.iter()) {
        res.headers_mut().append(name.clone(), value.clone());
    }
    Ok(res)
}

/// Matches a path against a resource template (`/books/{id}`, `/{proxy+}`), returning the
/// path parameters.
pub fn match_path(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let tpl: Vec<&str> = template.trim_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, t) in tpl.iter().enumerate() {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix("+}")) {
            let rest = segs.get(i..)?.join("/");
            if rest.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), percent_decode(&rest));
            return Some(params);
        }
        let seg = segs.get(i)?;
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            if seg.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), percent_decode(seg));
        } else if t != seg {
            return None;
        }
    }
    (tpl.len() == segs.len()).then_some(params)
}

/// Among the routes whose path matches, the one for `method`: literal paths before templated
/// ones, an exact method before `ANY`.
fn best_match<'a>(
    mut candidates: Vec<(&'a Route, HashMap<String, String>)>,
    method: &Method,
) -> Option<(&'a Route, HashMap<String, String>)> {
    candidates.retain(|(r, _)| r.method == method.as_str() || r.method == "ANY");
    candidates.sort_by_key(|(r, params)| (params.len(), r.method == "ANY"));
    candidates.into_iter().next()
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn add_headers(headers: &mut HeaderMap, pairs: &[(String, String)]) {
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
}

fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UnauthorizedException",
        403 => "MissingAuthenticationTokenException",
        413 => "RequestTooLarge",
        _ if status.is_server_error() => "InternalServerErrorException",
        _ => "BadRequestException",
    }
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates_and_capture_decoded_parameters() {
        assert_eq!(match_path("/login", "/login"), Some(HashMap::new()));
        assert_eq!(match_path("/login", "/login/"), Some(HashMap::new()));
        assert_eq!(match_path("/login", "/logins"), None);
        assert_eq!(match_path("/books", "/books/1"), None);
        assert_eq!(
            match_path("/books/{id}", "/books/a%20b"),
            Some(HashMap::from([("id".to_owned(), "a b".to_owned())]))
        );
        assert_eq!(match_path("/books/{id}", "/books"), None);
        assert_eq!(match_path("/books/{id}", "/books/1/2"), None);
        assert_eq!(
            match_path("/files/{path+}", "/files/a/b"),
            Some(HashMap::from([("path".to_owned(), "a/b".to_owned())]))
        );
    }

    #[test]
    fn request_ids_are_unique() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
