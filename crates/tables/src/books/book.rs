//! A book: the JSON it is answered as and the DynamoDB item it is stored as, and the fields a
//! client writes. Every conversion is written out by hand: eleven attributes, one of them a
//! Number that must never pass through a float. The books function validates request bodies
//! into a [`BookInput`].

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;
use platform::ApiError;
use serde::{Serialize, Serializer};

/// The longest book id.
pub const MAX_ID_CHARS: usize = 64;
/// The highest price accepted, in cents: 1,000,000.00.
pub const MAX_PRICE_CENTS: u64 = 100_000_000;

/// The value of the `catalog` attribute every book carries: the partition key of the
/// `by_created` index, which lists the whole catalogue newest first.
pub const CATALOG: &str = "books";

/// A price in cents: parsed from decimal text, never from a float. It is answered as a JSON
/// string with exactly two decimals (`"12.50"`) and stored as a DynamoDB Number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(u64);

impl Price {
    pub fn from_cents(cents: u64) -> Self {
        Self(cents)
    }

    /// Plain decimal notation only: digits, then optionally a point and one or two digits.
    /// No sign, exponent, white space or leading zeros (`0.5` is fine, `00.5` is not).
    pub fn parse(text: &str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) if (1..=2).contains(&frac.len()) => (int, frac),
            Some(_) => return None,
            None => (text, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (!frac.is_empty() && !digits(frac)) {
            return None;
        }
        if int.len() > 1 && int.starts_with('0') {
            return None;
        }
        if int.len() > 12 {
            return None;
        }
        let whole: u64 = int.parse().ok()?;
        let frac_cents: u64 = format!("{frac:0<2}").parse().ok()?;
        let cents = whole.checked_mul(100)?.checked_add(frac_cents)?;
        (cents <= MAX_PRICE_CENTS).then_some(Self(cents))
    }

    /// Reads DynamoDB's Number text, which drops trailing zeros (`12.5`, `12`).
    fn from_number(text: &str) -> Option<Self> {
        Self::parse(text)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A stored book, as the API answers it. Absent optional fields are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Book {
    pub id: String,
    pub name: String,
    pub author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The `sub` of the user who created it: its owner.
    pub created_by: String,
    /// RFC 3339, UTC, always with milliseconds, so that text order is time order.
    pub created_at: String,
    pub updated_at: String,
}

/// The client-supplied part of a book, validated by the books function: the body of POST /books
/// and PUT /books/{id}.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookInput {
    pub id: Option<String>,
    pub name: String,
    pub author: String,
    pub category: Option<String>,
    pub price: Option<Price>,
    pub description: Option<String>,
    pub image: Option<String>,
}

/// A book's optional attributes. Each knows its own name and update clause, so an update can
/// assign a value to no attribute but its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optional {
    Category,
    Price,
    Description,
    Image,
}

impl Optional {
    /// The attribute's name, its value's placeholder, and the `SET` clause that assigns the one
    /// to the other.
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Optional::Category => ("category", ":category", "category = :category"),
            Optional::Price => ("price", ":price", "price = :price"),
            Optional::Description => ("description", ":description", "description = :description"),
            Optional::Image => ("image", ":image", "image = :image"),
        }
    }

    /// The attribute's name in the item.
    pub fn name(self) -> &'static str {
        self.parts().0
    }

    /// The value's placeholder in an update expression.
    pub fn placeholder(self) -> &'static str {
        self.parts().1
    }

    /// The `SET` clause that assigns the placeholder's value to this attribute.
    pub fn assignment(self) -> &'static str {
        self.parts().2
    }
}

impl BookInput {
    /// The optional attributes and their values: `None` means absent (PUT removes them).
    pub fn optional_attributes(&self) -> [(Optional, Option<AttributeValue>); 4] {
        optional_attributes(&self.category, self.price, &self.description, &self.image)
    }
}

/// A book id is a path segment too (`/books/{id}`): 1–64 ASCII letters, digits, `-` or `_`.
/// Server-generated ids are UUIDs.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// --- DynamoDB items ---

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn optional_attributes(
    category: &Option<String>,
    price: Option<Price>,
    description: &Option<String>,
    image: &Option<String>,
) -> [(Optional, Option<AttributeValue>); 4] {
    [
        (Optional::Category, category.as_deref().map(s)),
        (
            Optional::Price,
            price.map(|p| AttributeValue::N(p.to_string())),
        ),
        (Optional::Description, description.as_deref().map(s)),
        (Optional::Image, image.as_deref().map(s)),
    ]
}

impl Book {
    /// The item as stored, with the index keys: `catalog` for `by_created`, and `category`
    /// (when set) for the sparse `by_category` index.
    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("id".to_owned(), s(&self.id)),
            ("catalog".to_owned(), s(CATALOG)),
            ("name".to_owned(), s(&self.name)),
            ("author".to_owned(), s(&self.author)),
            ("created_by".to_owned(), s(&self.created_by)),
            ("created_at".to_owned(), s(&self.created_at)),
            ("updated_at".to_owned(), s(&self.updated_at)),
        ]);
        for (attr, value) in self.optional_attributes() {
            if let Some(value) = value {
                item.insert(attr.name().to_owned(), value);
            }
        }
        item
    }

    fn optional_attributes(&self) -> [(Optional, Option<AttributeValue>); 4] {
        optional_attributes(&self.category, self.price, &self.description, &self.image)
    }

    /// Reads a stored item. An item that does not have a book's shape is an error (a bug or a
    /// hand edit), named by its first bad attribute.
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Self, String> {
        let string = |key: &str| match item.get(key) {
            Some(AttributeValue::S(v)) => Ok(v.clone()),
            _ => Err(format!("attribute `{key}` is missing or not a string")),
        };
        let optional = |key: &str| match item.get(key) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(format!("attribute `{key}` is not a string")),
        };
        let price = match item.get("price") {
            None | Some(AttributeValue::Null(_)) => None,
            Some(AttributeValue::N(n)) => {
                Some(Price::from_number(n).ok_or("attribute `price` is not a price")?)
            }
            Some(_) => return Err("attribute `price` is not a number".into()),
        };
        Ok(Self {
            id: string("id")?,
            name: string("name")?,
            author: string("author")?,
            category: optional("category")?,
            price,
            description: optional("description")?,
            image: optional("image")?,
            created_by: string("created_by")?,
            created_at: string("created_at")?,
            updated_at: string("updated_at")?,
        })
    }
}

/// Now, as RFC 3339 UTC with exactly three decimals: fixed width, so that the text order the
/// `created_at` sort key uses is time order.
pub fn timestamp_now() -> Result<String, ApiError> {
    use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
    let now = DateTime::from(std::time::SystemTime::now());
    let seconds = DateTime::from_secs(now.secs())
        .fmt(DateTimeFormat::DateTime)
        .map_err(|e| ApiError::internal(format_args!("the clock's time: {e}")))?;
    let millis = now.subsec_nanos() / 1_000_000;
    Ok(format!("{}.{millis:03}Z", seconds.trim_end_matches('Z')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_from_their_text_never_through_a_float() {
        for (text, cents) in [
            ("0", 0),
            ("0.5", 50),
            ("12.5", 1250),
            ("12.50", 1250),
            ("19.99", 1999),
            ("1000000", 100_000_000),
            ("1000000.00", 100_000_000),
        ] {
            assert_eq!(Price::parse(text), Some(Price::from_cents(cents)), "{text}");
        }
        for bad in [
            "",
            "-1",
            "1.234",
            ".5",
            "5.",
            "1e2",
            "01",
            " 1",
            "1 ",
            "+1",
            "1,5",
            "1000000.01",
            "NaN",
            "99999999999999999999",
        ] {
            assert_eq!(Price::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Price::from_cents(1250).to_string(), "12.50");
        assert_eq!(Price::from_cents(7).to_string(), "0.07");
    }

    #[test]
    fn a_book_survives_the_trip_through_a_dynamodb_item() {
        let book = Book {
            id: "b-1".into(),
            name: "Dune".into(),
            author: "Frank Herbert".into(),
            category: Some("sf".into()),
            price: Some(Price::from_cents(1250)),
            description: None,
            image: None,
            created_by: "sub-1".into(),
            created_at: "2026-11-21T10:15:30.000Z".into(),
            updated_at: "2026-11-21T10:15:30.000Z".into(),
        };
        let mut item = book.to_item();
        assert_eq!(item["price"], AttributeValue::N("12.50".into()));
        assert_eq!(item["catalog"], AttributeValue::S(CATALOG.into()));
        assert!(!item.contains_key("description"), "absent, not null");
        // DynamoDB hands numbers back normalised.
        item.insert("price".into(), AttributeValue::N("12.5".into()));
        assert_eq!(Book::from_item(&item).unwrap(), book);
        item.insert("price".into(), AttributeValue::S("12.5".into()));
        assert!(Book::from_item(&item).is_err());
    }

    #[test]
    fn each_optional_attribute_is_assigned_to_its_own_name_only() {
        for attr in [
            Optional::Category,
            Optional::Price,
            Optional::Description,
            Optional::Image,
        ] {
            assert_eq!(
                attr.assignment(),
                format!("{} = {}", attr.name(), attr.placeholder())
            );
            assert_eq!(attr.placeholder(), format!(":{}", attr.name()));
        }
    }

    #[test]
    fn timestamps_have_a_fixed_width_so_text_order_is_time_order() {
        let ts = timestamp_now().unwrap();
        assert_eq!(ts.len(), "2026-11-21T10:15:30.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
