//! The books table: one DynamoDB call per books route, and `DELETE /me`'s deletion of a user's
//! books. Ownership is checked inside the write's condition, never by a read before it, so no
//! other write can slip in between.

pub mod book;
mod owners;
pub mod paging;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use platform::sdk::{SdkSettings, no_retries};
use platform::{ApiError, Caller};

pub use self::book::{
    Book, BookInput, CATALOG, MAX_ID_CHARS, Optional, Price, is_valid_id, timestamp_now,
};
pub use self::paging::{Limit, PageKey};
use crate::error::failure;

/// The Cognito group whose members may change and delete any book.
pub const ADMIN_GROUP: &str = "admin";

/// `POST /books` with an id that is taken.
pub const BOOK_EXISTS: ApiError = ApiError::Conflict {
    code: "book_exists",
    message: "a book with this id already exists",
};

/// `BOOKS_TABLE`, read once at start-up.
pub fn table_from_env(env: &platform::Env) -> Result<String, platform::ConfigError> {
    Ok(env.require(&["BOOKS_TABLE"])?.to_owned())
}

/// The books table: one DynamoDB client, built once at start-up, and the table's name.
#[derive(Debug, Clone)]
pub struct Books {
    dynamodb: Client,
    table: String,
}

impl Books {
    pub fn new(dynamodb: Client, table: impl Into<String>) -> Self {
        Self {
            dynamodb,
            table: table.into(),
        }
    }

    /// DescribeTable (in the function's policy) signs a request over the connection the first
    /// request will reuse.
    pub async fn prewarm(&self, settings: &SdkSettings) {
        let call = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .customize()
            .config_override(aws_sdk_dynamodb::Config::builder().retry_config(no_retries()))
            .send();
        platform::sdk::prewarm(settings, "DynamoDB", call).await;
    }
}

/// The index that lists the whole catalogue newest first: partition `catalog` (always
/// `"books"`), sort `created_at`.
pub const BY_CREATED: &str = "by_created";
/// The sparse index of books with a category, newest first: partition `category`, sort
/// `created_at`.
pub const BY_CATEGORY: &str = "by_category";
/// The index of a user's books (`created_by`), keys only.
pub const BY_OWNER: &str = "by_owner";

fn read_book(item: &HashMap<String, AttributeValue>) -> Result<Book, ApiError> {
    Book::from_item(item).map_err(|problem| {
        ApiError::internal(format_args!("a stored item is not a book: {problem}"))
    })
}

fn key(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("id".to_owned(), AttributeValue::S(id.to_owned()))])
}

/// The condition a change or delete by `caller` must meet: the book exists and, unless the
/// caller is an admin, the caller created it.
fn change_condition(caller: &Caller) -> (&'static str, Option<AttributeValue>) {
    if caller.is_in(ADMIN_GROUP) {
        ("attribute_exists(id)", None)
    } else {
        (
            "attribute_exists(id) AND created_by = :caller",
            Some(AttributeValue::S(caller.sub().to_owned())),
        )
    }
}

/// Why a conditional change failed: with the stored item handed back (ALL_OLD), the book
/// exists and the caller does not own it; without, there is no such book.
fn refused_change(old_item: Option<&HashMap<String, AttributeValue>>) -> ApiError {
    match old_item {
        Some(_) => ApiError::Forbidden("only the book's creator or an admin may change it"),
        None => ApiError::NotFound("book"),
    }
}

/// A page of books and the token of the next one, if there is more.
pub struct Page {
    pub items: Vec<Book>,
    pub next: Option<PageKey>,
}

impl Books {
    pub async fn get_book(&self, id: &str) -> Result<Book, ApiError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("DynamoDB GetItem (books)", e))?;
        out.item()
            .map(read_book)
            .unwrap_or(Err(ApiError::NotFound("book")))
    }

    /// Writes a new book; an existing id is `book_exists`, never an overwrite.
    pub async fn create_book(&self, book: &Book) -> Result<(), ApiError> {
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(book.to_item()))
            .condition_expression("attribute_not_exists(id)")
            .customize()
            // A retry after a lost answer would find this request's own book and report
            // book_exists for it, as SignUp would report username_exists.
            .config_override(aws_sdk_dynamodb::Config::builder().retry_config(no_retries()))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => BOOK_EXISTS,
                _ => failure("DynamoDB PutItem (books)", e),
            })?;
        Ok(())
    }

    /// Replaces a book's writable fields, keeping its id, owner and `created_at`. Optional fields
    /// absent from `input` are removed.
    pub async fn update_book(
        &self,
        caller: &Caller,
        id: &str,
        input: &BookInput,
        updated_at: &str,
    ) -> Result<Book, ApiError> {
        let (condition, caller_value) = change_condition(caller);
        let mut set = vec![
            "#name = :name",
            "author = :author",
            "updated_at = :updated_at",
        ];
        let mut remove = Vec::new();
        let mut values = HashMap::from([
            (":name".to_owned(), AttributeValue::S(input.name.clone())),
            (
                ":author".to_owned(),
                AttributeValue::S(input.author.clone()),
            ),
            (
                ":updated_at".to_owned(),
                AttributeValue::S(updated_at.to_owned()),
            ),
        ]);
        for (attr, value) in input.optional_attributes() {
            match value {
                Some(value) => {
                    set.push(attr.assignment());
                    values.insert(attr.placeholder().to_owned(), value);
                }
                None => remove.push(attr.name()),
            }
        }
        if let Some(sub) = caller_value {
            values.insert(":caller".to_owned(), sub);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let out = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .update_expression(expression)
            .condition_expression(condition)
            // `name` is a DynamoDB reserved word.
            .expression_attribute_names("#name", "name")
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    refused_change(c.item())
                }
                _ => failure("DynamoDB UpdateItem (books)", e),
            })?;
        out.attributes().map(read_book).unwrap_or_else(|| {
            Err(ApiError::unavailable(
                "DynamoDB UpdateItem: no attributes returned",
            ))
        })
    }

    /// Deletes a book under the same condition as an update. A retry after a lost answer finds
    /// the book gone and answers 404: the book is gone either way.
    pub async fn delete_book(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let (condition, caller_value) = change_condition(caller);
        self.dynamodb
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(id)))
            .condition_expression(condition)
            .set_expression_attribute_values(
                caller_value.map(|sub| HashMap::from([(":caller".to_owned(), sub)])),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                    refused_change(c.item())
                }
                _ => failure("DynamoDB DeleteItem (books)", e),
            })?;
        Ok(())
    }

    /// Deletes every book `owner` created (the `by_owner` index), when their account is deleted;
    /// returns how many. Each delete is conditional on the owner, so a book another user has
    /// since taken over is left alone.
    pub async fn delete_owned_by(&self, owner: &str) -> Result<usize, ApiError> {
        let mut deleted = 0;
        let mut items = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(BY_OWNER)
            .key_condition_expression("created_by = :owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items
            .try_next()
            .await
            .map_err(|e| failure("DynamoDB Query (books)", e))?
        {
            let Some(AttributeValue::S(id)) = item.get("id") else {
                continue;
            };
            let done = self
                .dynamodb
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(id)))
                .condition_expression("created_by = :owner")
                .expression_attribute_values(":owner", AttributeValue::S(owner.to_owned()))
                .send()
                .await;
            match done {
                Ok(_) => deleted += 1,
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(DeleteItemError::ConditionalCheckFailedException(_))
                    ) => {}
                Err(e) => return Err(failure("DynamoDB DeleteItem (books)", e)),
            }
        }
        Ok(deleted)
    }

    /// Newest first, from `by_created`, or from `by_category` when a category is given. One
    /// more item than asked is read, so the token is only handed out when there is more.
    pub async fn list_books(
        &self,
        category: Option<&str>,
        limit: Limit,
        after: Option<PageKey>,
    ) -> Result<Page, ApiError> {
        let (index, partition_attr, partition) = match category {
            Some(category) => (BY_CATEGORY, "category", category),
            None => (BY_CREATED, "catalog", CATALOG),
        };
        let start = after.map(|after| {
            HashMap::from([
                ("id".to_owned(), AttributeValue::S(after.id)),
                ("created_at".to_owned(), AttributeValue::S(after.created_at)),
                (
                    partition_attr.to_owned(),
                    AttributeValue::S(partition.to_owned()),
                ),
            ])
        });
        let out = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition_attr)
            .expression_attribute_values(":p", AttributeValue::S(partition.to_owned()))
            .scan_index_forward(false)
            // One more than asked: the token is handed out only when there is more.
            .limit(limit.with_lookahead())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| failure("DynamoDB Query (books)", e))?;
        let mut items = out
            .items()
            .iter()
            .map(read_book)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit.get() {
            items.truncate(limit.get());
            items.last().map(|last| PageKey {
                id: last.id.clone(),
                created_at: last.created_at.clone(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
