//! `docs/events.schema.json` against the event model (`tables::audit`): the schema's enums are
//! the model's, and every event the builder makes, and every example in `docs/events.md`,
//! validates against it.
//!
//! The validator here knows only the keywords the schema uses, and refuses a schema with any
//! other: a new keyword must be taught to it before it can pass unchecked. Patterns are matched
//! by a matcher for the one subset of regular expressions the schema uses (anchored sequences of
//! literals and classes with `{n}` or `{m,n}`), with no regex crate.

use platform::ClientContext;
use serde_json::{Map, Value, json};
use tables::audit::{ActorKind, Event, EventType, Outcome, Scope, parse_rfc3339_millis, rfc3339};

const SCHEMA: &str = include_str!("../../../docs/events.schema.json");
const REFERENCE: &str = include_str!("../../../docs/events.md");

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("docs/events.schema.json is JSON")
}

/// The schema at `path` (property names), through `properties`.
fn at<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(schema, |s, name| {
        s.get("properties")
            .and_then(|p| p.get(*name))
            .unwrap_or_else(|| panic!("the schema has no property {name:?} on the way to {path:?}"))
    })
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn serialized<T: serde::Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v).unwrap() {
            Value::String(s) => s,
            other => panic!("{other} does not serialize as a string"),
        })
        .collect()
}

// The variants of the enums without an `ALL`: the `match`es make a new variant a compile error
// here until it is listed.

fn outcomes() -> Vec<Outcome> {
    let all = vec![Outcome::Success, Outcome::Failure];
    for o in &all {
        match o {
            Outcome::Success | Outcome::Failure => {}
        }
    }
    all
}

fn actor_kinds() -> Vec<ActorKind> {
    let all = vec![ActorKind::User, ActorKind::Admin, ActorKind::Operator];
    for k in &all {
        match k {
            ActorKind::User | ActorKind::Admin | ActorKind::Operator => {}
        }
    }
    all
}

fn scopes() -> Vec<Scope> {
    let all = vec![Scope::Session, Scope::All, Scope::Others];
    for s in &all {
        match s {
            Scope::Session | Scope::All | Scope::Others => {}
        }
    }
    all
}

#[test]
fn the_type_enum_is_every_event_type_in_order() {
    let schema = schema();
    let names: Vec<String> = EventType::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(strings(&at(&schema, &["type"])["enum"]), names);
    assert_eq!(names.len(), 23);
}

#[test]
fn the_other_enums_are_what_serde_writes() {
    let schema = schema();
    assert_eq!(
        strings(&at(&schema, &["outcome"])["enum"]),
        serialized(&outcomes())
    );
    assert_eq!(
        strings(&at(&schema, &["actor", "kind"])["enum"]),
        serialized(&actor_kinds())
    );
    assert_eq!(
        strings(&at(&schema, &["detail", "scope"])["enum"]),
        serialized(&scopes())
    );
    assert_eq!(
        at(&schema, &["schema_version"])["const"],
        json!(tables::audit::SCHEMA_VERSION)
    );
}

/// The keywords the schema may use: those [`validate`] checks, and the annotations.
const CHECKED: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "const",
    "enum",
    "pattern",
    "maxLength",
    "minimum",
    "maximum",
    "format",
];
const ANNOTATIONS: &[&str] = &["$schema", "$id", "title", "description"];

/// Every (sub)schema in `schema`, with its path.
fn subschemas<'a>(schema: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((path.clone(), schema));
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            subschemas(sub, format!("{path}/{name}"), out);
        }
    }
}

#[test]
fn the_schema_is_closed_described_and_uses_only_checked_keywords() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], "events.schema.json");
    assert_eq!(schema["title"], "Auth event, version 1");
    let description = schema["description"].as_str().unwrap();
    for secret in [
        "password",
        "code",
        "token",
        "secret",
        "credential",
        "recovery code",
    ] {
        assert!(
            description.contains(secret),
            "the description must say no {secret} is a field"
        );
    }
    let mut all = Vec::new();
    subschemas(&schema, String::new(), &mut all);
    for (path, sub) in all {
        let object = sub.as_object().unwrap();
        for keyword in object.keys() {
            assert!(
                CHECKED.contains(&keyword.as_str()) || ANNOTATIONS.contains(&keyword.as_str()),
                "{path}: the test does not check {keyword:?}"
            );
        }
        assert!(
            object
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty()),
            "{path}: no description"
        );
        if sub["type"] == "object" {
            assert_eq!(sub["additionalProperties"], json!(false), "{path}: open");
            assert!(sub["properties"].is_object(), "{path}: no properties");
        }
        if sub["type"] == "string" {
            assert!(
                sub.get("maxLength").is_some()
                    || sub.get("pattern").is_some()
                    || sub.get("enum").is_some(),
                "{path}: an unbounded string"
            );
        }
        if let Some(pattern) = sub.get("pattern") {
            Pattern::parse(pattern.as_str().unwrap());
        }
    }
}

/// One step of a pattern: a character from `ranges`, `min` to `max` times.
#[derive(Debug)]
struct Step {
    ranges: Vec<(char, char)>,
    min: usize,
    max: usize,
}

/// An anchored pattern of literals and classes with `{n}` or `{m,n}`; anything else panics.
#[derive(Debug)]
struct Pattern(Vec<Step>);

impl Pattern {
    fn parse(pattern: &str) -> Self {
        let body = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or_else(|| panic!("{pattern:?} is not anchored at both ends"));
        let mut chars = body.chars().peekable();
        let mut steps = Vec::new();
        while let Some(c) = chars.next() {
            let ranges = match c {
                '[' => {
                    let mut ranges = Vec::new();
                    loop {
                        let lo = match chars.next() {
                            Some(']') => break,
                            Some('\\') => chars.next().unwrap(),
                            Some('^') if ranges.is_empty() => {
                                panic!("{pattern:?}: a negated class")
                            }
                            Some(c) => c,
                            None => panic!("{pattern:?}: an unclosed class"),
                        };
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            let hi = chars.next().filter(|c| *c != ']');
                            let hi = hi.unwrap_or_else(|| panic!("{pattern:?}: a trailing '-'"));
                            ranges.push((lo, hi));
                        } else {
                            ranges.push((lo, lo));
                        }
                    }
                    ranges
                }
                '\\' => {
                    let c = chars.next().unwrap();
                    assert!(c.is_ascii_punctuation(), "{pattern:?}: the escape \\{c}");
                    vec![(c, c)]
                }
                '(' | ')' | '|' | '*' | '+' | '?' | '.' | '{' | '}' | '^' | '$' => {
                    panic!("{pattern:?}: {c:?} is beyond this matcher")
                }
                c => vec![(c, c)],
            };
            let (min, max) = if chars.peek() == Some(&'{') {
                chars.next();
                let spec: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let number = |s: &str| {
                    s.parse::<usize>()
                        .unwrap_or_else(|_| panic!("{pattern:?}: {{{spec}}}"))
                };
                match spec.split_once(',') {
                    Some((m, n)) => (number(m), number(n)),
                    None => (number(&spec), number(&spec)),
                }
            } else {
                (1, 1)
            };
            steps.push(Step { ranges, min, max });
        }
        Self(steps)
    }

    fn matches(&self, text: &str) -> bool {
        fn from(steps: &[Step], text: &[char]) -> bool {
            let Some((step, rest)) = steps.split_first() else {
                return text.is_empty();
            };
            let accepts = |c: char| step.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
            let most = text
                .iter()
                .take(step.max)
                .take_while(|c| accepts(**c))
                .count();
            (step.min..=most).rev().any(|n| from(rest, &text[n..]))
        }
        from(&self.0, &text.chars().collect::<Vec<_>>())
    }
}

#[test]
fn the_matcher_matches_the_schemas_patterns_and_nothing_near() {
    let schema = schema();
    let pattern = |path: &[&str]| Pattern::parse(at(&schema, path)["pattern"].as_str().unwrap());
    let time = pattern(&["time"]);
    assert!(time.matches("2026-12-03T12:54:51.123Z"));
    for wrong in [
        "2026-12-03T12:54:51Z",
        "2026-12-03T12:54:51.12Z",
        "2026-12-03T12:54:51.1234Z",
        "2026-12-03T12:54:51.123+00:00",
        "2026-12-03 12:54:51.123Z",
        "2026-12-03T12:54:51.123z",
        "2026-12-03T12:54:51.123Z ",
    ] {
        assert!(!time.matches(wrong), "{wrong}");
    }
    let id = pattern(&["id"]);
    assert!(id.matches("3f2b8c1e-9d4a-4e6f-b2a7-5c8d9e0f1a2b"));
    for wrong in [
        "3F2B8C1E-9D4A-4E6F-B2A7-5C8D9E0F1A2B",
        "3f2b8c1e-9d4a-1e6f-b2a7-5c8d9e0f1a2b",
        "3f2b8c1e-9d4a-4e6f-c2a7-5c8d9e0f1a2b",
        "3f2b8c1e9d4a4e6fb2a75c8d9e0f1a2b",
        "{3f2b8c1e-9d4a-4e6f-b2a7-5c8d9e0f1a2b}",
    ] {
        assert!(!id.matches(wrong), "{wrong}");
    }
    for path in [
        ["detail", "method"],
        ["detail", "reason"],
        ["detail", "operation"],
    ] {
        let code = pattern(&path);
        assert!(code.matches("invalid_credentials") && code.matches("AdminDisableUser"));
        assert!(code.matches(&"a".repeat(64)));
        for wrong in ["", "invalid credentials", "a-b", "né", &"a".repeat(65)] {
            assert!(!code.matches(wrong), "{path:?}: {wrong:?}");
        }
    }
}

/// What is wrong with `value` against `schema`, at `path`: nothing when empty.
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let mut fail = |what: String| errors.push(format!("{path}: {what}"));
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "boolean" => value.is_boolean(),
            other => panic!("{path}: the type {other:?}"),
        };
        if !ok {
            fail(format!("{value} is not {kind}"));
            return;
        }
    }
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        fail(format!("{value} is not {expected}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        fail(format!("{value} is none of {options:?}"));
    }
    if let Some(text) = value.as_str() {
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && text.chars().count() as u64 > max
        {
            fail(format!("longer than {max}"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && !Pattern::parse(pattern).matches(text)
        {
            fail(format!("{text:?} does not match {pattern}"));
        }
        match schema.get("format").and_then(Value::as_str) {
            // The one time format: it reads back to the same string, or it is no date.
            Some("date-time") if rfc3339(parse_rfc3339_millis(text)) != text => {
                fail(format!("{text:?} is no date-time of the model's format"));
            }
            Some("date-time") => {}
            Some(other) => panic!("{path}: the format {other:?}"),
            None => {}
        }
    }
    if let Some(number) = value
        .as_i64()
        .map(i128::from)
        .or(value.as_u64().map(i128::from))
    {
        if let Some(min) = schema.get("minimum").and_then(Value::as_i64)
            && number < i128::from(min)
        {
            fail(format!("{number} < {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_u64)
            && number > i128::from(max)
        {
            fail(format!("{number} > {max}"));
        }
    }
    if let Some(object) = value.as_object() {
        validate_object(schema, object, path, errors);
    }
}

fn validate_object(
    schema: &Value,
    object: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema.get("required").map(strings).unwrap_or_default() {
        if !object.contains_key(&name) {
            errors.push(format!("{path}: {name:?} is missing"));
        }
    }
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && (object.len() as u64) < min
    {
        errors.push(format!("{path}: fewer than {min} fields"));
    }
    for (name, field) in object {
        match properties.and_then(|p| p.get(name)) {
            Some(sub) => validate(sub, field, &format!("{path}/{name}"), errors),
            None if schema.get("additionalProperties") == Some(&json!(false)) => {
                errors.push(format!("{path}: {name:?} is not in the schema"));
            }
            None => {}
        }
    }
}

fn errors_of(value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(&schema(), value, "", &mut errors);
    errors
}

fn context() -> ClientContext {
    ClientContext {
        ip: Some("2001:db8::7".to_owned()),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0".to_owned(),
        ),
    }
}

/// Events as the functions build them, one of each shape.
fn built() -> Vec<Event> {
    let ctx = context();
    vec![
        Event::new(EventType::SignUp, &ctx).of("sub-1", "alice"),
        Event::new(EventType::SignIn, &ctx)
            .of("sub-1", "alice")
            .in_session(Some("q1YRkzW2b3V9mXc0LpA7sg"))
            .method("totp")
            .new_device(true),
        Event::new(EventType::SignInFailed, &ClientContext::default())
            .of_unknown("mallory")
            .failed("invalid_credentials"),
        Event::new(EventType::SignOut, &ctx)
            .of("sub-1", "alice")
            .in_session(Some("q1YRkzW2b3V9mXc0LpA7sg"))
            .scope(Scope::Others, 3),
        Event::new(EventType::SessionEnded, &ctx)
            .of("sub-1", "alice")
            .in_session(Some("q1YRkzW2b3V9mXc0LpA7sg"))
            .reason("refresh_token_reused"),
        Event::new(EventType::PasswordChanged, &ctx)
            .of("sub-1", "alice")
            .sessions_ended(2),
        Event::new(EventType::AccountDisabled, &ctx)
            .by_admin("sub-a", "root")
            .of("sub-1", "alice"),
        Event::new(EventType::GroupAdded, &ctx)
            .by_admin("sub-a", "root")
            .of("sub-1", "alice")
            .group("editors"),
        Event::new(EventType::PasswordResetRequired, &ClientContext::default())
            .by_operator(
                Some("arn:aws:iam::123456789012:user/ops-jo"),
                "AdminResetUserPassword",
            )
            .of("sub-1", "alice"),
        Event::new(EventType::AccountEnabled, &ClientContext::default())
            .by_operator(None, "AdminEnableUser")
            .of("sub-1", "alice"),
    ]
}

#[test]
fn every_built_event_validates_against_the_schema() {
    let events = built();
    for event in &events {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(errors_of(&json), Vec::<String>::new(), "{json}");
    }
    // The builder's shapes reach what the schema describes: a failure, an unknown user, each
    // actor kind, an empty detail left out.
    let json: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert!(
        json.iter()
            .any(|j| j["outcome"] == "failure" && j["user"].get("sub").is_none())
    );
    for kind in ["user", "admin", "operator"] {
        assert!(json.iter().any(|j| j["actor"]["kind"] == kind), "{kind}");
    }
    assert!(json.iter().any(|j| j.get("detail").is_none()));
}

#[test]
fn an_event_with_every_field_uses_every_property_of_the_schema() {
    let mut event = Event::new(EventType::SignIn, &context())
        .of("sub-1", "alice")
        .in_session(Some("s1"))
        .method("password")
        .failed("invalid_credentials")
        .scope(Scope::All, 1)
        .new_device(false)
        .group("editors");
    event.detail.operation = Some("AdminInitiateAuth".to_owned());
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(errors_of(&json), Vec::<String>::new(), "{json}");
    // Both ways: no property of the schema is one the model never writes.
    let schema = schema();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let paths: [&[&str]; 4] = [&[], &["user"], &["actor"], &["detail"]];
    for path in paths {
        let mut value = &json;
        for name in path {
            value = &value[*name];
        }
        assert_eq!(
            keys(&at(&schema, path)["properties"]),
            keys(value),
            "{path:?}"
        );
    }
}

#[test]
fn the_validator_refuses_what_the_schema_forbids() {
    let good = serde_json::to_value(&built()[1]).unwrap();
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut value = good.clone();
        change(&mut value);
        errors_of(&value)
    };
    type Breakage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "a secret field",
            Box::new(|v| v["password"] = json!("hunter2")),
        ),
        (
            "a field in detail",
            Box::new(|v| v["detail"]["token"] = json!("eyJ")),
        ),
        (
            "a field in user",
            Box::new(|v| v["user"]["email"] = json!("a@b.c")),
        ),
        (
            "a field in actor",
            Box::new(|v| v["actor"]["ip"] = json!("1.2.3.4")),
        ),
        (
            "no actor",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("actor");
            }),
        ),
        (
            "no actor kind",
            Box::new(|v| {
                v["actor"].as_object_mut().unwrap().remove("kind");
            }),
        ),
        (
            "no id",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("id");
            }),
        ),
        ("version 2", Box::new(|v| v["schema_version"] = json!(2))),
        (
            "a version as text",
            Box::new(|v| v["schema_version"] = json!("1")),
        ),
        (
            "an unknown type",
            Box::new(|v| v["type"] = json!("signed_in")),
        ),
        (
            "an unknown outcome",
            Box::new(|v| v["outcome"] = json!("ok")),
        ),
        (
            "an unknown actor",
            Box::new(|v| v["actor"]["kind"] = json!("system")),
        ),
        (
            "an unknown scope",
            Box::new(|v| v["detail"]["scope"] = json!("device")),
        ),
        (
            "a time without ms",
            Box::new(|v| v["time"] = json!("2026-12-03T12:54:51Z")),
        ),
        (
            "no such day",
            Box::new(|v| v["time"] = json!("2026-02-30T12:54:51.123Z")),
        ),
        (
            "an id in capitals",
            Box::new(|v| v["id"] = json!("3F2B8C1E-9D4A-4E6F-B2A7-5C8D9E0F1A2B")),
        ),
        (
            "free text as reason",
            Box::new(|v| v["detail"]["reason"] = json!("bad password hunter2")),
        ),
        (
            "a long user name",
            Box::new(|v| v["user"]["username"] = json!("a".repeat(129))),
        ),
        ("a long IP", Box::new(|v| v["ip"] = json!("1".repeat(46)))),
        ("a null session", Box::new(|v| v["session"] = Value::Null)),
        (
            "a negative count",
            Box::new(|v| v["detail"]["sessions_ended"] = json!(-1)),
        ),
        (
            "a count as text",
            Box::new(|v| v["detail"]["sessions_ended"] = json!("1")),
        ),
        ("an empty detail", Box::new(|v| v["detail"] = json!({}))),
    ];
    for (what, change) in cases {
        assert!(!broken(&*change).is_empty(), "{what} passed");
    }
}

#[test]
fn the_references_examples_validate_against_the_schema() {
    let examples: Vec<&str> = REFERENCE
        .split("```json\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(
        examples.len() >= 2,
        "docs/events.md has {} examples",
        examples.len()
    );
    for example in examples {
        let json: Value =
            serde_json::from_str(example).unwrap_or_else(|e| panic!("{e}: {example}"));
        assert_eq!(errors_of(&json), Vec::<String>::new(), "{example}");
        // And the model reads each back.
        serde_json::from_value::<Event>(json).unwrap();
    }
}
