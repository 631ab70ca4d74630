//! The one request boundary: a function's route table, and [`Api::serve`], which turns every
//! request into exactly one response and one log line.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::caller::Caller;
use crate::{ApiError, Cors, Reply, RequestMeta};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a handler's future resolves to.
pub type Outcome = Result<Reply, ApiError>;
/// A handler's future, borrowing the state and the request.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;
/// A handler: `async fn(&State, &Request) -> Result<Reply, ApiError>`, boxed by [`route!`].
pub type Handler<S> = for<'a> fn(&'a S, &'a Request) -> HandlerFuture<'a>;

/// One row of a function's route table: an HTTP method on an API Gateway resource
/// (`/books/{id}`), as `template.yaml` routes it to the function.
pub struct Route<S: 'static> {
    pub method: Method,
    pub resource: &'static str,
    pub handler: Handler<S>,
    /// The Cognito group a caller must be in, now, for the handler to run: checked here, never
    /// by a handler ([`Api::with_membership`]).
    pub group: Option<&'static str>,
}

/// A row of a route table: `route!(POST "/login" => login)`, where `login` is an
/// `async fn(&State, &Request) -> Result<Reply, ApiError>`.
#[macro_export]
macro_rules! route {
    ($method:ident $resource:literal => $handler:path) => {
        $crate::Route {
            method: $crate::http::Method::$method,
            resource: $resource,
            handler: |state, req| ::std::boxed::Box::pin($handler(state, req)),
            group: None,
        }
    };
    ($method:ident $resource:literal => $handler:path, group $group:literal) => {
        $crate::Route {
            method: $crate::http::Method::$method,
            resource: $resource,
            handler: |state, req| ::std::boxed::Box::pin($handler(state, req)),
            group: Some($group),
        }
    };
}

/// A function: its state (clients and settings, built once), its route table and its CORS
/// configuration.
pub struct Api<S: 'static> {
    cors: Cors,
    state: S,
    routes: &'static [Route<S>],
    protection: Option<Protection>,
    membership: Option<Arc<dyn Membership>>,
}

/// Who is in a group now. A token names the groups its user was in when it was issued; a
/// route that needs a group asks this too, so that a user taken out of it loses the route at
/// once, not when their token expires.
pub trait Membership: Send + Sync {
    /// Whether `caller` is in `group` now; a 5xx when that cannot be told (the request is
    /// refused: the check fails closed).
    fn is_member<'a>(
        &'a self,
        caller: &'a Caller,
        group: &'a str,
    ) -> BoxFuture<'a, Result<bool, ApiError>>;
}

/// What a function behind the authorizer checks of every caller, beyond the authorizer.
struct Protection {
    /// The app client whose tokens the API takes. API Gateway's Cognito authorizer checks a
    /// token's pool, signature and expiry, but not its audience: a token another app client of
    /// the same pool was given would pass it.
    audience: String,
    revocations: Arc<dyn Revocations>,
}

/// Sign-outs and deletions that end tokens before they expire. [`Api::serve`] asks it about
/// every request that carries the authorizer's claims (every protected route), before the
/// handler runs.
pub trait Revocations: Send + Sync {
    /// `Ok` when the token may be used, with what the check knows of its session;
    /// [`ApiError::TokenRevoked`] when its session has ended; a 5xx when that cannot be told
    /// (the request is refused: the check fails closed).
    fn check<'a>(&'a self, caller: &'a Caller) -> BoxFuture<'a, Result<LiveSession, ApiError>>;
}

/// What a check knows of a live session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveSession {
    /// When the session signed in, as the API recorded it (seconds since the epoch).
    pub signed_in_at: Option<u64>,
}

impl<S: Sync + 'static> Api<S> {
    pub fn new(cors: Cors, state: S, routes: &'static [Route<S>]) -> Self {
        Self {
            cors,
            state,
            routes,
            protection: None,
            membership: None,
        }
    }

    /// Checks the routes that need a group against `membership`, besides the token's claim. A
    /// function with such routes and no membership refuses them all.
    pub fn with_membership(mut self, membership: Arc<dyn Membership>) -> Self {
        self.membership = Some(membership);
        self
    }

    /// A function behind the authorizer: on every protected route, takes only tokens issued to
    /// the app client `audience` that name their session (`origin_jti`) and its sign-in
    /// (`auth_time`), and refuses those `revocations` says have ended. A function without it
    /// refuses every request that carries claims.
    pub fn protected(mut self, audience: &str, revocations: Arc<dyn Revocations>) -> Self {
        self.protection = Some(Protection {
            audience: audience.to_owned(),
            revocations,
        });
        self
    }

    /// Routes `req` to its handler and turns the outcome into the response. The authorizer's
    /// claims, on a protected route, are read here once: the [`Caller`] is checked against the
    /// revocations and handed to the handler in the request's extensions.
    pub async fn serve(&self, mut req: Request) -> Response<Body> {
        let meta = RequestMeta::of(&req);
        let outcome = match self.find(&req, &meta.resource) {
            Ok(route) => match self.admit(&mut req, route.group).await {
                Ok(()) => (route.handler)(&self.state, &req).await,
                Err(refused) => Err(refused),
            },
            Err(refused) => Err(refused),
        };
        self.respond(&meta, outcome)
    }

    /// Reads the caller of a request that carries the authorizer's claims (a protected route),
    /// checks it once, and hands it on; a public route has none. Every check fails closed: a
    /// token of another app client, one that does not name its session or sign-in (so that no
    /// sign-out could be told to cover it), or a function not set up to check callers, is the
    /// same `401 unauthorized` as a bad token.
    async fn admit(&self, req: &mut Request, group: Option<&str>) -> Result<(), ApiError> {
        let Ok(caller) = Caller::parse(req) else {
            // A route that needs a group is never public.
            return match group {
                Some(_) => Err(ApiError::Unauthorized),
                None => Ok(()),
            };
        };
        let Some(protection) = &self.protection else {
            return Err(ApiError::Unauthorized);
        };
        let complete = caller.origin_jti().is_some() && caller.auth_time().is_some();
        if caller.client_id() != Some(protection.audience.as_str()) || !complete {
            return Err(ApiError::Unauthorized);
        }
        let live = protection.revocations.check(&caller).await?;
        if let Some(group) = group {
            let Some(membership) = &self.membership else {
                return Err(ApiError::Forbidden(NOT_IN_GROUP));
            };
            if !caller.is_in(group) || !membership.is_member(&caller, group).await? {
                return Err(ApiError::Forbidden(NOT_IN_GROUP));
            }
        }
        req.extensions_mut().insert(caller.in_session(live));
        Ok(())
    }

    /// The answer to a request refused before routing (a body the event cannot carry).
    pub fn refuse(&self, req: &Request, err: ApiError) -> Response<Body> {
        self.respond(&RequestMeta::of(req), Err(err))
    }

    /// The handler for the request's method on its resource. A resource the table does not
    /// have is 404, a method it does not have there is 405. An event without a resource (a
    /// direct invocation) is matched by the tail of its path.
    fn find(&self, req: &Request, resource: &str) -> Result<&Route<S>, ApiError> {
        let by_name = self.routes.iter().any(|r| r.resource == resource);
        let path = req.uri().path();
        let mut rows = self.routes.iter().filter(|r| {
            if by_name {
                r.resource == resource
            } else {
                path_ends_with(path, r.resource)
            }
        });
        let mut known = false;
        for row in rows.by_ref() {
            known = true;
            if row.method == req.method() {
                return Ok(row);
            }
        }
        if known {
            Err(ApiError::MethodNotAllowed(req.method().to_string()))
        } else {
            Err(ApiError::NotFound("route"))
        }
    }

    /// The response for `outcome`, JSON with the CORS headers, and the request's one log line:
    /// `info!` for a success, `warn!` for a 4xx, `error!` with the cause for a 5xx.
    fn respond(&self, meta: &RequestMeta, outcome: Result<Reply, ApiError>) -> Response<Body> {
        let (status, body, retry_after) = match outcome {
            Ok(reply) => {
                log(meta, reply.status, None, reply.note);
                (reply.status, reply.body, None)
            }
            Err(err) => {
                log(meta, err.status(), Some(&err), None);
                let body = error_body(&err, &meta.request_id);
                (err.status(), Some(body), err.retry_after())
            }
        };
        let mut res = Response::new(body.map_or(Body::Empty, Body::from));
        *res.status_mut() = status;
        let headers = res.headers_mut();
        if status != StatusCode::NO_CONTENT {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self.cors.apply(headers);
        if let Some(secs) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The refusal of a caller not in a route's group.
pub const NOT_IN_GROUP: &str = "this route is for the members of a group the caller is not in";

/// Whether `path`'s last segments match `resource` (`/Prod/books/42` ends with `/books/{id}`).
fn path_ends_with(path: &str, resource: &str) -> bool {
    let mut path = path.trim_end_matches('/').rsplit('/');
    resource.trim_matches('/').rsplit('/').all(|want| {
        path.next().is_some_and(|seg| {
            if want.starts_with('{') {
                !seg.is_empty()
            } else {
                seg == want
            }
        })
    })
}

/// Our JSON error shape: `{"error":{"code","message"},"request_id"}`.
fn error_body(err: &ApiError, request_id: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Shape<'a> {
        error: Inner<'a>,
        request_id: &'a str,
    }
    #[derive(Serialize)]
    struct Inner<'a> {
        code: &'a str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        window_seconds: Option<u64>,
    }
    let shape = Shape {
        error: Inner {
            code: err.code(),
            message: err.to_string(),
            window_seconds: err.window_seconds(),
        },
        request_id,
    };
    // Strings only: serialising cannot fail.
    serde_json::to_vec(&shape).unwrap_or_default()
}

/// The request's one log line: route, status, error code, and for a 5xx its cause. Never the
/// body, a header or a token.
fn log(meta: &RequestMeta, status: StatusCode, err: Option<&ApiError>, note: Option<&str>) {
    let status = status.as_u16();
    let code = err.map(ApiError::code);
    let (request_id, method, route) = (&meta.request_id, &meta.method, &meta.resource);
    match err {
        None => tracing::info!(request_id, method, route, status, note, "request succeeded"),
        Some(err) if err.is_server_error() => {
            let cause = err.cause().map(tracing::field::display);
            tracing::error!(
                request_id,
                method,
                route,
                status,
                code,
                cause,
                "request failed"
            )
        }
        Some(_) => tracing::warn!(request_id, method, route, status, code, "request refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    struct State;

    async fn hello(_: &State, _: &Request) -> Result<Reply, ApiError> {
        Reply::ok(&json!({"hello": "world"}))
    }

    async fn busy(_: &State, _: &Request) -> Result<Reply, ApiError> {
        Err(ApiError::TooManyRequests { retry_after: 3 })
    }

    async fn gone(_: &State, _: &Request) -> Result<Reply, ApiError> {
        Ok(Reply::no_content())
    }

    async fn broken(_: &State, _: &Request) -> Result<Reply, ApiError> {
        Err(ApiError::unavailable(
            "Cognito SignUp: InternalErrorException",
        ))
    }

    static ROUTES: &[Route<State>] = &[
        route!(GET "/things" => hello),
        route!(POST "/things" => busy),
        route!(DELETE "/things/{id}" => gone),
        route!(GET "/broken" => broken),
    ];

    fn api() -> Api<State> {
        Api::new(Cors::default(), State, ROUTES)
    }

    fn request(method: &str, resource: Option<&str>, path: &str) -> Request {
        let mut event = json!({
            "path": path, "httpMethod": method, "headers": {},
            "requestContext": {"httpMethod": method, "requestId": "req-1", "stage": "Prod",
                "accountId": "1", "apiId": "a", "identity": {}},
            "body": null, "isBase64Encoded": false,
        });
        if let Some(resource) = resource {
            event["resource"] = json!(resource);
            event["requestContext"]["resourcePath"] = json!(resource);
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    /// Every session is live.
    struct Live;

    impl Revocations for Live {
        fn check<'a>(&'a self, _: &'a Caller) -> BoxFuture<'a, Result<LiveSession, ApiError>> {
            Box::pin(async { Ok(LiveSession::default()) })
        }
    }

    /// The users (by `sub`) in the group now, or a membership that cannot be told.
    struct Members(Result<&'static [&'static str], ()>);

    impl Membership for Members {
        fn is_member<'a>(
            &'a self,
            caller: &'a Caller,
            group: &'a str,
        ) -> BoxFuture<'a, Result<bool, ApiError>> {
            Box::pin(async move {
                assert_eq!(group, "admin");
                match self.0 {
                    Ok(subs) => Ok(subs.contains(&caller.sub())),
                    Err(()) => Err(ApiError::unavailable(
                        "Cognito AdminListGroupsForUser: down",
                    )),
                }
            })
        }
    }

    static GROUPED: &[Route<State>] = &[
        route!(GET "/admin" => hello, group "admin"),
        route!(GET "/open" => hello),
    ];

    /// A request to `resource` with the authorizer's claims of `sub` in `groups` (`None`: no
    /// claims at all, a public request).
    fn claimed(resource: &str, caller: Option<(&str, &str)>) -> Request {
        let mut event = json!({
            "resource": resource, "path": resource, "httpMethod": "GET", "headers": {},
            "requestContext": {"httpMethod": "GET", "requestId": "req-1", "stage": "Prod",
                "accountId": "1", "apiId": "a", "identity": {}, "resourcePath": resource},
            "body": null, "isBase64Encoded": false,
        });
        if let Some((sub, groups)) = caller {
            event["requestContext"]["authorizer"] = json!({"claims": {
                "sub": sub, "username": sub, "token_use": "access", "client_id": "app",
                "origin_jti": "jti", "auth_time": "1", "cognito:groups": groups,
            }});
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[tokio::test]
    async fn a_groups_route_takes_a_member_by_the_token_and_now_and_refuses_the_rest() {
        let api = |members| {
            Api::new(Cors::default(), State, GROUPED)
                .protected("app", Arc::new(Live))
                .with_membership(Arc::new(Members(members)))
        };
        let admins: &'static [&'static str] = &["alice"];
        let cases = [
            // In the group by the token and now.
            (Ok(admins), Some(("alice", "admin")), 200),
            // Taken out of the group since the token was issued.
            (Ok(&[][..]), Some(("alice", "admin")), 403),
            // Put in since: the token does not say so yet (a new sign-in will).
            (Ok(admins), Some(("alice", "readers")), 403),
            // Another user whose token claims the group: not a member.
            (Ok(admins), Some(("mallory", "admin")), 403),
            // No token at all.
            (Ok(admins), None, 401),
        ];
        for (members, caller, status) in cases {
            let res = api(members).serve(claimed("/admin", caller)).await;
            assert_eq!(res.status().as_u16(), status, "{caller:?}: {}", body(&res));
            if status == 403 {
                assert_eq!(body(&res)["error"]["code"], "forbidden");
            }
        }
        // A membership that cannot be told refuses (a 5xx), and never runs the handler.
        let res = api(Err(()))
            .serve(claimed("/admin", Some(("alice", "admin"))))
            .await;
        assert_eq!(res.status().as_u16(), 503);
        // A route without a group is not asked about groups.
        let res = api(Ok(&[][..]))
            .serve(claimed("/open", Some(("bob", ""))))
            .await;
        assert_eq!(res.status().as_u16(), 200);
    }

    #[tokio::test]
    async fn without_a_membership_a_groups_route_is_refused_to_everyone() {
        let api = Api::new(Cors::default(), State, GROUPED).protected("app", Arc::new(Live));
        let res = api.serve(claimed("/admin", Some(("alice", "admin")))).await;
        assert_eq!(res.status().as_u16(), 403);
        let res = api.serve(claimed("/open", Some(("alice", "admin")))).await;
        assert_eq!(res.status().as_u16(), 200);
    }

    fn header<'a>(res: &'a Response<Body>, name: &str) -> Option<&'a str> {
        res.headers().get(name).map(|v| v.to_str().unwrap())
    }

    fn body(res: &Response<Body>) -> Value {
        serde_json::from_slice(res.body()).unwrap()
    }

    #[tokio::test]
    async fn a_reply_becomes_json_with_cors() {
        let res = api()
            .serve(request("GET", Some("/things"), "/things"))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), Some("application/json"));
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(body(&res), json!({"hello": "world"}));
    }

    #[tokio::test]
    async fn an_error_has_the_one_json_shape_with_cors_and_retry_after() {
        let res = api()
            .serve(request("POST", Some("/things"), "/things"))
            .await;
        assert_eq!(res.status(), 429);
        assert_eq!(header(&res, "retry-after"), Some("3"));
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        let body = body(&res);
        assert_eq!(body["error"]["code"], "too_many_requests");
        assert!(body["error"]["message"].is_string());
        assert_eq!(body["request_id"], "req-1");
    }

    #[tokio::test]
    async fn a_server_errors_body_says_nothing_of_its_cause() {
        let res = api()
            .serve(request("GET", Some("/broken"), "/broken"))
            .await;
        assert_eq!(res.status(), 503);
        let text = String::from_utf8_lossy(res.body()).into_owned();
        assert!(!text.contains("Exception"), "{text}");
        assert!(!text.contains("Cognito"), "{text}");
    }

    #[tokio::test]
    async fn no_content_has_no_body_and_still_carries_cors() {
        let res = api()
            .serve(request("DELETE", Some("/things/{id}"), "/things/7"))
            .await;
        assert_eq!(res.status(), 204);
        assert!(res.body().is_empty());
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    }

    #[tokio::test]
    async fn unknown_resources_are_404_and_unknown_methods_405_from_the_table() {
        let res = api()
            .serve(request("GET", Some("/nothing"), "/nothing"))
            .await;
        assert_eq!(res.status(), 404);
        assert_eq!(body(&res)["error"]["code"], "not_found");
        let res = api()
            .serve(request("PUT", Some("/things"), "/things"))
            .await;
        assert_eq!(res.status(), 405);
        assert_eq!(body(&res)["error"]["code"], "method_not_allowed");
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    }

    #[tokio::test]
    async fn an_event_without_a_resource_is_routed_by_the_tail_of_its_path() {
        let res = api().serve(request("DELETE", None, "/Prod/things/7")).await;
        assert_eq!(res.status(), 204);
        let res = api().serve(request("GET", None, "/Prod/things/")).await;
        assert_eq!(res.status(), 200);
        let res = api().serve(request("GET", None, "/Prod/other")).await;
        assert_eq!(res.status(), 404);
    }

    /// Log lines written while `f` runs, on this thread. The subscriber is the test binary's
    /// global one, writing to a buffer of the capturing thread's own: a thread-scoped
    /// subscriber (`set_default`) loses lines when another test thread registers the same
    /// callsite while no subscriber is in scope, and tracing caches that callsite as off.
    async fn logged<F: std::future::Future>(f: F) -> (F::Output, Vec<String>) {
        use std::cell::RefCell;
        thread_local! {
            static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
        }
        struct ThisThread;
        impl std::io::Write for ThisThread {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                CAPTURED.with(|c| {
                    if let Some(lines) = c.borrow_mut().as_mut() {
                        lines.extend_from_slice(buf);
                    }
                });
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThisThread)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
        let out = f.await;
        let bytes = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap();
        (out, text.lines().map(str::to_owned).collect())
    }

    #[tokio::test]
    async fn each_request_is_logged_once_with_its_route_status_code_and_for_a_5xx_its_cause() {
        let api = api();
        let (_, lines) = logged(api.serve(request("GET", Some("/things"), "/things"))).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("INFO") && lines[0].contains("route=\"/things\""));
        assert!(lines[0].contains("status=200"), "{lines:?}");

        let (_, lines) = logged(api.serve(request("POST", Some("/things"), "/things"))).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("WARN") && lines[0].contains("code=\"too_many_requests\""));

        let (res, lines) = logged(api.serve(request("GET", Some("/broken"), "/broken"))).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("ERROR") && lines[0].contains("status=503"));
        assert!(
            lines[0].contains("Cognito SignUp: InternalErrorException"),
            "{lines:?}"
        );
        assert!(!String::from_utf8_lossy(res.body()).contains("InternalErrorException"));
    }

    struct Open;
    impl Revocations for Open {
        fn check<'a>(&'a self, _: &'a Caller) -> BoxFuture<'a, Result<LiveSession, ApiError>> {
            Box::pin(async { Ok(LiveSession::default()) })
        }
    }

    fn with_claims(claims: Value) -> Request {
        let mut req = request("GET", Some("/things"), "/things");
        let event = json!({
            "path": "/things", "httpMethod": "GET", "headers": {}, "resource": "/things",
            "requestContext": {"httpMethod": "GET", "requestId": "req-1", "stage": "Prod",
                "accountId": "1", "apiId": "a", "identity": {}, "resourcePath": "/things",
                "authorizer": {"claims": claims}},
            "body": null, "isBase64Encoded": false,
        });
        req = lambda_http::request::from_str(&event.to_string()).unwrap_or(req);
        req
    }

    #[tokio::test]
    async fn a_protected_route_takes_only_tokens_of_its_client_that_name_their_session() {
        let api = api().protected("our-client", Arc::new(Open));
        let good = json!({"sub": "s", "token_use": "access", "client_id": "our-client",
                          "origin_jti": "j", "auth_time": "1700000000"});
        assert_eq!(api.serve(with_claims(good.clone())).await.status(), 200);
        let mut id = good.clone();
        id["token_use"] = json!("id");
        id["aud"] = json!("our-client");
        assert_eq!(api.serve(with_claims(id.clone())).await.status(), 200);
        let mut refused = Vec::new();
        let mut other = good.clone();
        other["client_id"] = json!("another-client-of-the-pool");
        refused.push(other);
        let mut id_of_other = id.clone();
        id_of_other["aud"] = json!("another-client-of-the-pool");
        refused.push(id_of_other);
        // An id token naming the client only where an access token would (and the reverse).
        let mut swapped = id.clone();
        swapped.as_object_mut().unwrap().remove("aud");
        swapped["client_id"] = json!("our-client");
        refused.push(swapped);
        for missing in ["origin_jti", "auth_time"] {
            let mut partial = good.clone();
            partial.as_object_mut().unwrap().remove(missing);
            refused.push(partial);
        }
        for claims in refused {
            let res = api.serve(with_claims(claims.clone())).await;
            assert_eq!(res.status(), 401, "{claims}");
            assert_eq!(body(&res)["error"]["code"], "unauthorized");
        }
        // A function that was not set up to check callers refuses them all.
        assert_eq!(
            Api::new(Cors::default(), State, ROUTES)
                .serve(with_claims(good))
                .await
                .status(),
            401
        );
    }

    #[test]
    fn path_tails_match_resources_segment_by_segment() {
        assert!(path_ends_with("/books", "/books"));
        assert!(path_ends_with("/Prod/books/", "/books"));
        assert!(path_ends_with("/Prod/books/1", "/books/{id}"));
        assert!(!path_ends_with("/books", "/books/{id}"));
        assert!(!path_ends_with("/books/1", "/books"));
        assert!(!path_ends_with("/mybooks", "/books"));
    }
}
