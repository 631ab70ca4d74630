//! The books API, one Lambda for five routes:
//!
//! - `GET /books` (public): newest first, `?limit=` 1–100 (default 20), `?next_token=`,
//!   `?category=`.
//! - `GET /books/{id}` (public).
//! - `POST /books` (authorizer): 201 with the book; `book_exists` (409) for a taken id.
//! - `PUT /books/{id}` (authorizer): its creator or an `admin`; 403 otherwise, 404 if missing.
//! - `DELETE /books/{id}` (authorizer): its creator or an `admin`; 204, 403 or 404.
//!
//! Requests are routed by method and API Gateway resource (`/books`, `/books/{id}`).

pub mod book;
pub mod claims;
pub mod paging;
pub mod store;

use auth::http::InvalidOrigin;
use auth::{ApiError, Cors, JsonObject, RequestMeta, respond};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::book::{Book, BookInput, MAX_CATEGORY_CHARS, is_valid_id, timestamp_now};
use crate::claims::Caller;
use crate::paging::{PageKey, parse_limit};

/// One DynamoDB client, built once at start-up, the table name and the CORS config.
#[derive(Debug, Clone)]
pub struct State {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub table: String,
    pub cors: Cors,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("BOOKS_TABLE is not set")]
    MissingTable,
    #[error(transparent)]
    Origin(#[from] InvalidOrigin),
}

impl State {
    pub fn new(dynamodb: aws_sdk_dynamodb::Client, table: impl Into<String>, cors: Cors) -> Self {
        Self {
            dynamodb,
            table: table.into(),
            cors,
        }
    }

    /// Reads `BOOKS_TABLE` and `ALLOWED_ORIGIN` once and builds the client once.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let table = std::env::var("BOOKS_TABLE")
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::MissingTable)?;
        let cors = Cors::from_env()?;
        let sdk = auth::sdk::load().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        // DescribeTable (in the function's CRUD policy) signs a request over the connection the
        // first request will reuse.
        auth::sdk::prewarm(
            "DynamoDB",
            dynamodb
                .describe_table()
                .table_name(&table)
                .customize()
                .config_override(
                    aws_sdk_dynamodb::Config::builder().retry_config(auth::sdk::no_retries()),
                )
                .send(),
        )
        .await;
        Ok(Self::new(dynamodb, table, cors))
    }
}

/// The API Gateway resources this function serves.
pub const COLLECTION: &str = "/books";
pub const ITEM: &str = "/books/{id}";

#[tracing::instrument(name = "books", skip_all)]
pub async fn handle(state: &State, req: Request) -> Result<Response<Body>, auth::Error> {
    let meta = RequestMeta::of(&req);
    let outcome = route(state, &req, &meta.resource).await;
    Ok(respond(&state.cors, &meta, outcome))
}

async fn route(state: &State, req: &Request, resource: &str) -> Result<Response<Body>, ApiError> {
    match resource_of(req, resource) {
        COLLECTION => match *req.method() {
            Method::GET => list(state, req).await,
            Method::POST => create(state, req).await,
            ref other => Err(ApiError::MethodNotAllowed(other.to_string())),
        },
        ITEM => {
            let id = path_id(req)?;
            match *req.method() {
                Method::GET => get(state, &id).await,
                Method::PUT => update(state, req, &id).await,
                Method::DELETE => delete(state, req, &id).await,
                ref other => Err(ApiError::MethodNotAllowed(other.to_string())),
            }
        }
        _ => Err(ApiError::NotFound("route")),
    }
}

/// The API Gateway resource, from the request context; when a front end leaves it out, from the
/// path and its parameters.
fn resource_of<'a>(req: &Request, resource: &'a str) -> &'a str {
    if resource == COLLECTION || resource == ITEM {
        return resource;
    }
    let path = req.uri().path().trim_end_matches('/');
    let has_id = req
        .path_parameters_ref()
        .is_some_and(|p| p.first("id").is_some());
    match path.rsplit_once('/') {
        Some((parent, _)) if has_id && parent.ends_with(COLLECTION) => ITEM,
        _ if !has_id && path.ends_with(COLLECTION) => COLLECTION,
        _ => resource,
    }
}

/// The `{id}` path parameter. An id no book can have is simply not found.
fn path_id(req: &Request) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first("id"))
        .filter(|id| is_valid_id(id))
        .map(str::to_owned)
        .ok_or(ApiError::NotFound("book"))
}

#[derive(Serialize)]
struct ListAnswer {
    items: Vec<Book>,
    /// Present only when there is another page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

async fn list(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let limit = parse_limit(param("limit"))?;
    let after = param("next_token").map(PageKey::decode).transpose()?;
    let category = param("category")
        .map(|c| {
            let c = c.trim();
            if c.is_empty() || c.chars().count() > MAX_CATEGORY_CHARS {
                return Err(ApiError::InvalidQuery {
                    param: "category",
                    reason: format!("must be 1-{MAX_CATEGORY_CHARS} characters"),
                });
            }
            Ok(c)
        })
        .transpose()?;
    let page = state.list_books(category, limit, after).await?;
    Ok(state.cors.json(
        StatusCode::OK,
        &ListAnswer {
            items: page.items,
            next_token: page.next.map(|k| k.encode()),
        },
    ))
}

async fn get(state: &State, id: &str) -> Result<Response<Body>, ApiError> {
    let book = state.get_book(id).await?;
    Ok(state.cors.json(StatusCode::OK, &book))
}

async fn create(state: &State, req: &Request) -> Result<Response<Body>, ApiError> {
    let caller = Caller::from_request(req)?;
    let body = JsonObject::from_request(req)?;
    let input = BookInput::parse(&body, req.body())?;
    let now = timestamp_now();
    let book = Book {
        id: input.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        name: input.name,
        author: input.author,
        category: input.category,
        price: input.price,
        description: input.description,
        image: input.image,
        created_by: caller.sub,
        created_at: now.clone(),
        updated_at: now,
    };
    state.create_book(&book).await?;
    Ok(state.cors.json(StatusCode::CREATED, &book))
}

async fn update(state: &State, req: &Request, id: &str) -> Result<Response<Body>, ApiError> {
    let caller = Caller::from_request(req)?;
    let body = JsonObject::from_request(req)?;
    let input = BookInput::parse(&body, req.body())?;
    if input.id.as_deref().is_some_and(|body_id| body_id != id) {
        return Err(ApiError::InvalidField {
            field: "id",
            reason: "must match the id in the path, or be left out".into(),
        });
    }
    let book = state
        .update_book(&caller, id, &input, &timestamp_now())
        .await?;
    Ok(state.cors.json(StatusCode::OK, &book))
}

async fn delete(state: &State, req: &Request, id: &str) -> Result<Response<Body>, ApiError> {
    let caller = Caller::from_request(req)?;
    state.delete_book(&caller, id).await?;
    Ok(state.cors.no_content())
}

#[cfg(test)]
mod tests;
