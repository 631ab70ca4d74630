//! The books API, one Lambda for five routes:
//!
//! - `GET /books` (public): newest first, `?limit=` 1–100 (default 20), `?next_token=`,
//!   `?category=`.
//! - `GET /books/{id}` (public).
//! - `POST /books` (authorizer): 201 with the book; `book_exists` (409) for a taken id.
//! - `PUT /books/{id}` (authorizer): its creator or an `admin`; 403 otherwise, 404 if missing.
//! - `DELETE /books/{id}` (authorizer): its creator or an `admin`; 204, 403 or 404.
//!
//! Requests are routed by method and API Gateway resource (`/books`, `/books/{id}`): [`ROUTES`].

mod app;
pub mod input;

use lambda_http::RequestExt;
use platform::{ApiError, Caller, JsonObject, Reply, Request, Route, route};
use serde::Serialize;
use tables::books::{Book, Limit, PageKey, is_valid_id, timestamp_now};
use tables::{Books, Sessions};

use crate::input::MAX_CATEGORY_CHARS;

pub use crate::app::app;

/// What the routes work with, built once ([`app`]).
#[derive(Debug, Clone)]
pub struct State {
    pub books: Books,
    /// Sign-outs and deletions: every protected request is checked against them.
    pub sessions: Sessions,
}

/// The routes of this function, as `template.yaml` routes them to it.
pub static ROUTES: &[Route<State>] = &[
    route!(GET "/books" => list),
    route!(POST "/books" => create),
    route!(GET "/books/{id}" => get),
    route!(PUT "/books/{id}" => update),
    route!(DELETE "/books/{id}" => delete),
];

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

#[tracing::instrument(name = "list_books", skip_all)]
async fn list(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let limit = Limit::parse(param("limit"))?;
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
    let page = state.books.list_books(category, limit, after).await?;
    Reply::ok(&ListAnswer {
        items: page.items,
        next_token: page.next.map(|k| k.encode()).transpose()?,
    })
}

#[tracing::instrument(name = "get_book", skip_all)]
async fn get(state: &State, req: &Request) -> Result<Reply, ApiError> {
    Reply::ok(&state.books.get_book(&path_id(req)?).await?)
}

#[tracing::instrument(name = "create_book", skip_all)]
async fn create(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let caller = Caller::of(req)?;
    let body = JsonObject::from_request(req)?;
    let input = input::parse(&body, req.body())?;
    let now = timestamp_now()?;
    let book = Book {
        id: input.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        name: input.name,
        author: input.author,
        category: input.category,
        price: input.price,
        description: input.description,
        image: input.image,
        created_by: caller.sub().to_owned(),
        created_at: now.clone(),
        updated_at: now,
    };
    state.books.create_book(&book).await?;
    Reply::created(&book)
}

#[tracing::instrument(name = "update_book", skip_all)]
async fn update(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let id = &path_id(req)?;
    let caller = Caller::of(req)?;
    let body = JsonObject::from_request(req)?;
    let input = input::parse(&body, req.body())?;
    if input.id.as_deref().is_some_and(|body_id| body_id != id) {
        return Err(ApiError::InvalidField {
            field: "id",
            reason: "must match the id in the path, or be left out".into(),
        });
    }
    let book = state
        .books
        .update_book(caller, id, &input, &timestamp_now()?)
        .await?;
    Reply::ok(&book)
}

#[tracing::instrument(name = "delete_book", skip_all)]
async fn delete(state: &State, req: &Request) -> Result<Reply, ApiError> {
    let id = path_id(req)?;
    let caller = Caller::of(req)?;
    state.books.delete_book(caller, &id).await?;
    Ok(Reply::no_content())
}

#[cfg(test)]
mod tests;
