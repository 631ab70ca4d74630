//! The books' owners after a user pool is restored from an export: the one write of the books
//! table that only the restore (functions/backup's `restore`, run by an operator) makes, kept
//! apart from the calls the books function makes.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use platform::ApiError;

use super::{Books, key};
use crate::error::failure;

impl Books {
    /// Gives each book of an owner in `owners` (old sub → new sub) to the new one: a user pool
    /// restored from an export gives every user a new `sub`. Reads the whole table (a Scan of
    /// ids and owners); each change is conditional on the old owner. Returns how many moved.
    pub async fn reassign_owners(
        &self,
        owners: &HashMap<String, String>,
    ) -> Result<usize, ApiError> {
        let mut moved = 0;
        let mut items = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .projection_expression("id, created_by")
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items
            .try_next()
            .await
            .map_err(|e| failure("DynamoDB Scan (books)", e))?
        {
            let (Some(AttributeValue::S(id)), Some(AttributeValue::S(old))) =
                (item.get("id"), item.get("created_by"))
            else {
                continue;
            };
            let Some(new) = owners.get(old) else {
                continue;
            };
            let done = self
                .dynamodb
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(id)))
                .update_expression("SET created_by = :new")
                .condition_expression("created_by = :old")
                .expression_attribute_values(":new", AttributeValue::S(new.clone()))
                .expression_attribute_values(":old", AttributeValue::S(old.clone()))
                .send()
                .await;
            match done {
                Ok(_) => moved += 1,
                // Moved already (a restore run again), or deleted meanwhile.
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(UpdateItemError::ConditionalCheckFailedException(_))
                    ) => {}
                Err(e) => return Err(failure("DynamoDB UpdateItem (books)", e)),
            }
        }
        Ok(moved)
    }
}
