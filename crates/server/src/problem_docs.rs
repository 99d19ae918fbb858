//! Documents the problem responses that the shared machinery can answer on every operation,
//! so each handler's `#[utoipa::path]` lists only the refusals of its own logic.
//!
//! The rules follow where the answers come from:
//! - the extractors in `http.rs`: an unparsable path is 400 (`invalid_path`), query 400
//!   (`invalid_query`), JSON body 400 (`invalid_json`), a JSON body of the wrong shape 422
//!   (`invalid_body`) and a body without `Content-Type: application/json` 415;
//! - the bearer extractors in `auth`: no or a bad token is 401, a suspended account (any
//!   bearer operation) or the wrong role is 403;
//! - the middleware in `app.rs`: the body limit is 413 (any operation that reads a body),
//!   the timeout 408 and a failure or panic 500 (every operation);
//! - conventions shared by the handlers: a path names one thing, which may be missing (404);
//!   path and query parameters are validated like body fields (422).
//!
//! Every error body is `application/problem+json` with the `Problem` schema; responses that a
//! handler declared as `body = Problem` (which utoipa files under `application/json`) are moved
//! to that media type here, so the document says what the server sends.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr};

use crate::error::PROBLEM_JSON;

/// The `Modify` that completes the document; `app::openapi` applies it after the feature
/// routers are merged (modifiers named in `#[openapi(...)]` run before that, on no paths).
pub struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                complete(op);
            }
        }
    }
}

/// What an operation takes, which decides which shared refusals can reach it.
struct Inputs {
    path: bool,
    query: bool,
    /// Any request body: the body limit applies.
    body: bool,
    /// A typed JSON body read through `ApiJson`. Raw bodies (webhooks verified on their
    /// bytes, uploads) are documented with a plain string or binary schema and skip the
    /// JSON checks.
    json_body: bool,
    bearer: bool,
}

fn inputs(op: &Operation) -> Inputs {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let json_body = op
        .request_body
        .as_ref()
        .and_then(|b| b.content.get("application/json"))
        .and_then(|c| c.schema.as_ref())
        .is_some_and(is_typed);
    // The security requirement's map is private; its serialised form names the schemes.
    let bearer = op.security.iter().flatten().any(|req| {
        serde_json::to_value(req)
            .ok()
            .is_some_and(|v| v.get("bearer").is_some())
    });
    Inputs {
        path: has(ParameterIn::Path),
        query: has(ParameterIn::Query),
        body: op.request_body.is_some(),
        json_body,
        bearer,
    }
}

/// A component or an object schema, as `ApiJson<T>` bodies are; not a bare string or bytes.
fn is_typed(schema: &RefOr<Schema>) -> bool {
    match schema {
        RefOr::Ref(_) => true,
        RefOr::T(Schema::Object(o)) => !matches!(o.schema_type, SchemaType::Type(Type::String)),
        RefOr::T(_) => true,
    }
}

fn complete(op: &mut Operation) {
    let i = inputs(op);
    let mut add = |status: u16, when: bool, description: &str| {
        if when {
            let key = status.to_string();
            op.responses
                .responses
                .entry(key)
                .or_insert_with(|| RefOr::T(problem(description)));
        }
    };
    add(
        400,
        i.path || i.query || i.json_body,
        "The path, query or JSON body cannot be parsed (`invalid_path`, `invalid_query`, `invalid_json`)",
    );
    add(
        401,
        i.bearer,
        "No access token, or one that is invalid or expired (`missing_token`, `invalid_token`, `token_expired`)",
    );
    add(
        403,
        i.bearer,
        "The account is not active (`account_suspended`) or its role may not do this (`forbidden`)",
    );
    add(
        404,
        i.path,
        "What the path names was not found (`not_found`)",
    );
    add(408, true, "The request took too long (`request_timeout`)");
    add(
        413,
        i.body,
        "The request body is too large (`payload_too_large`)",
    );
    add(
        415,
        i.json_body,
        "The body was not sent as `Content-Type: application/json` (`unsupported_media_type`)",
    );
    add(
        422,
        i.path || i.query || i.json_body,
        "Invalid input: `errors` lists the fields (`validation_failed`, `invalid_body`)",
    );
    add(
        500,
        true,
        "The server failed to handle this request (`internal_error`)",
    );
    for (status, response) in &mut op.responses.responses {
        if let RefOr::T(response) = response {
            fix_problem_media_type(status, response);
        }
    }
}

/// Problem bodies are served as `application/problem+json`; error responses declared without
/// a body get one, since the server never answers an error with an empty body.
fn fix_problem_media_type(status: &str, response: &mut Response) {
    let is_error = status.starts_with('4') || status.starts_with('5');
    if let Some(content) = response.content.shift_remove("application/json") {
        let is_problem =
            matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"));
        let key = if is_problem {
            PROBLEM_JSON
        } else {
            "application/json"
        };
        response.content.insert(key.to_owned(), content);
    }
    if status == "429" {
        response
            .headers
            .entry("Retry-After".to_owned())
            .or_insert_with(retry_after);
    }
    if is_error && response.content.is_empty() {
        response
            .content
            .insert(PROBLEM_JSON.to_owned(), problem_content());
    }
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, problem_content())
        .build()
}

/// Rate-limit refusals say when to come back (`ApiError::rate_limited` sets the header).
fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds to wait before trying again"))
        .build()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    fn operations() -> Vec<(String, Value)> {
        let doc = serde_json::to_value(crate::app::openapi()).unwrap();
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if op.get("responses").is_some() {
                    ops.push((format!("{} {path}", method.to_uppercase()), op.clone()));
                }
            }
        }
        ops
    }

    /// SDK generators name methods after operation ids; two alike break them (and the
    /// document is invalid OpenAPI).
    #[test]
    fn operation_ids_are_unique() {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, op) in operations() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no operationId"))
                .to_owned();
            seen.entry(id).or_default().push(name);
        }
        let dupes: Vec<_> = seen.into_iter().filter(|(_, ops)| ops.len() > 1).collect();
        assert!(dupes.is_empty(), "operation ids used twice: {dupes:?}");
    }

    #[test]
    fn every_error_response_is_documented_as_problem_json() {
        for (name, op) in operations() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["408", "500"] {
                assert!(responses.contains_key(status), "{name} lacks {status}");
            }
            if op
                .get("security")
                .is_some_and(|s| s.to_string().contains("bearer"))
            {
                assert!(responses.contains_key("401"), "{name} lacks 401");
                assert!(responses.contains_key("403"), "{name} lacks 403");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().unwrap();
                    let media: Vec<_> = content.keys().collect();
                    assert_eq!(media, ["application/problem+json"], "{name} {status}");
                    assert_eq!(
                        content["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{name} {status}"
                    );
                }
            }
        }
    }
}
