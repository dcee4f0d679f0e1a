//! Checks the payloads the bot sends to Discord against Discord's official OpenAPI spec
//! (`tests/fixtures/discord-openapi.json`, vendored from discord/discord-api-spec with its MIT
//! licence; see `tests/fixtures/discord-openapi.README.md`) and against the limits Discord
//! enforces that the spec cannot express (from Discord's developer documentation).
//!
//! * [`DiscordSpec::validate_request`] — schema validation of one request body for a method and a
//!   wire path (`/api/v10/...`): the route is matched here, the operation's request schema is
//!   checked by the `jsonschema` crate (JSON Schema 2020-12, as OpenAPI 3.1 uses).
//! * [`message_rules`] — the message limits (embed totals, component layout, unique custom ids…).
//! * [`check_request`] — both of the above, plus the command-registration rules, for one request.
//!
//! Every violation is one string `"<JSON path>: <what is wrong>"`, e.g.
//! `$.data.embeds[0].title: length 300 > maxLength 256`. Characters are counted as Unicode scalar
//! values, as Discord does (and as JSON Schema's `maxLength` does).
//!
//! Quirks of the spec this module handles, by rewriting the spec once at load ([`adapt`]):
//! * `oneOf` becomes `anyOf` ("at least one branch matches"): the spec writes Discord's unions as
//!   `anyOf` tagged `x-discord-union: oneOf`, and some branches overlap (a follow-up body matches
//!   both `IncomingWebhookRequestPartial` and `IncomingWebhookUpdateRequestPartial`), so a strict
//!   `oneOf` would reject valid bodies.
//! * Enumerations are written as `oneOf` of `{"const": ..}` branches; they become `enum`, reported as
//!   one "not one of [..]" violation.
//! * Snowflakes are `type: string` with a digits pattern; a JSON integer is accepted too. Integers
//!   without a format or with `format: int64` also accept a string of digits, range-checked by the
//!   `x-integer-text` keyword (serenity sends `default_member_permissions` as a string, the spec
//!   says integer).
//!
//! And by reading the crate's errors ([`report`]): when no branch of a union matches, the branch
//! reported is one whose discriminator (`type` and the like) matches, with the fewest violations —
//! so a bad type-4 callback reports its embed problem, not "type is not 1" from the PONG branch.
//! The formats `uri` and `date-time` are checked (RFC 3986, RFC 3339); the spec's own (`snowflake`,
//! `int32`, `nonce`…) are not. Each schema is compiled once, on first use.
//!
//! Otherwise:
//! * No request schema sets `additionalProperties: false`, so unknown fields are not reported (Discord
//!   ignores them).
//! * The spec allows 4000 characters of `content` for channel messages; Discord's documented limit
//!   (and [`message_rules`]) is 2000. The embed/component limits per field are in the spec; the
//!   6000-character embed total, unique custom ids, select-vs-button rows and the command rules are
//!   not.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::{Location, LocationSegment};
use jsonschema::{Draft, Keyword, Registry, ValidationError, Validator};
use serde_json::{json, Map, Value};

/// Where the spec lives: in the repository, so a fresh clone has it.
pub const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/discord-openapi.json");

/// The spec's name in the validators' registry (nothing is fetched).
const SPEC_URI: &str = "urn:discord-spec";

/// The keyword [`adapt`] adds to integer schemas that also accept a string of digits.
const INTEGER_TEXT: &str = "x-integer-text";

/// Discord's limits (Discord's developer documentation).
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const EMBED_TITLE: usize = 256;
    pub const EMBED_DESCRIPTION: usize = 4096;
    pub const EMBED_FIELDS: usize = 25;
    pub const EMBED_FIELD_NAME: usize = 256;
    pub const EMBED_FIELD_VALUE: usize = 1024;
    pub const EMBED_FOOTER_TEXT: usize = 2048;
    pub const EMBED_AUTHOR_NAME: usize = 256;
    pub const EMBED_TOTAL: usize = 6000;
    pub const ACTION_ROWS: usize = 5;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const CUSTOM_ID: usize = 100;
    pub const BUTTON_LABEL: usize = 80;
    pub const SELECT_OPTIONS: usize = 25;
    pub const SELECT_PLACEHOLDER: usize = 150;
    /// Messages flagged IS_COMPONENTS_V2.
    pub const V2_COMPONENTS_TOTAL: usize = 40;
    pub const V2_TEXT_TOTAL: usize = 4000;
    pub const COMMAND_NAME: usize = 32;
    pub const COMMAND_DESCRIPTION: usize = 100;
    pub const COMMAND_OPTIONS: usize = 25;
    pub const COMMAND_CHOICES: usize = 25;
    pub const CHOICE_NAME: usize = 100;
    pub const CHOICE_STRING_VALUE: usize = 100;
    pub const COMMAND_TOTAL: usize = 8000;
    pub const AUTOCOMPLETE_CHOICES: usize = 25;
}

/// Message flag IS_COMPONENTS_V2 (1 << 15).
const FLAG_COMPONENTS_V2: u64 = 1 << 15;

/// The parsed (and [`adapt`]ed) spec, an index of its path templates, and the compiled validators.
pub struct DiscordSpec {
    doc: Value,
    routes: Vec<RouteTemplate>,
    locales: Vec<String>,
    registry: Registry<'static>,
    /// One validator per schema location (JSON pointer into the spec), compiled on first use.
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

struct RouteTemplate {
    template: String,
    segments: Vec<Segment>,
}

enum Segment {
    Literal(String),
    Param(String),
}

/// A wire path resolved to one of the spec's operations.
struct ResolvedRoute<'a> {
    template: &'a str,
    /// Lowercase, as the spec's operation keys.
    method: String,
    operation: &'a Value,
    path_item: &'a Value,
    params: Vec<(String, String)>,
}

impl DiscordSpec {
    /// Loads the spec once (shared by all tests of one binary).
    pub fn get() -> &'static DiscordSpec {
        static SPEC: OnceLock<DiscordSpec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let text = std::fs::read_to_string(SPEC_PATH).unwrap_or_else(|e| {
                panic!(
                    "cannot read Discord's OpenAPI spec at {SPEC_PATH}: {e} \
                     (see tests/fixtures/discord-openapi.README.md)"
                )
            });
            let doc: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("Discord's OpenAPI spec at {SPEC_PATH} is not valid JSON: {e}"));
            DiscordSpec::from_value(doc)
        })
    }

    fn from_value(mut doc: Value) -> DiscordSpec {
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("Discord's OpenAPI spec at {SPEC_PATH} has no `paths`"));
        let routes = paths
            .keys()
            .map(|template| RouteTemplate {
                template: template.clone(),
                segments: split_path(template)
                    .into_iter()
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') && s.len() > 2 {
                            Segment::Param(s[1..s.len() - 1].to_owned())
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect(),
            })
            .collect();
        let locales = doc
            .pointer("/components/schemas/AvailableLocalesEnum/oneOf")
            .and_then(Value::as_array)
            .map(|branches| {
                branches
                    .iter()
                    .filter_map(|b| b.get("const").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        adapt(&mut doc);
        let registry = Registry::new()
            .add(SPEC_URI, Draft::Draft202012.create_resource(doc.clone()))
            .and_then(|builder| builder.prepare())
            .unwrap_or_else(|e| panic!("Discord's OpenAPI spec at {SPEC_PATH} cannot be registered: {e}"));
        DiscordSpec { doc, routes, locales, registry, validators: Mutex::new(HashMap::new()) }
    }

    /// The spec's path template that `method` + wire `path` resolves to, e.g.
    /// `"/webhooks/{webhook_id}/{webhook_token}/messages/@original"`; `Err` names why none does.
    pub fn route_template(&self, method: &str, path: &str) -> Result<&str, String> {
        self.resolve(method, path).map(|r| r.template)
    }

    /// The locales Discord accepts as keys of `name_localizations`/`description_localizations`.
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    fn resolve(&self, method: &str, path: &str) -> Result<ResolvedRoute<'_>, String> {
        let method_lc = method.to_ascii_lowercase();
        let normalized = normalize_path(path);
        let segments = split_path(&normalized);
        let mut candidates: Vec<(&RouteTemplate, Vec<(String, String)>)> = Vec::new();
        for route in &self.routes {
            if route.segments.len() != segments.len() {
                continue;
            }
            let mut params = Vec::new();
            let matched = route.segments.iter().zip(&segments).all(|(tpl, actual)| match tpl {
                Segment::Literal(lit) => lit == actual,
                Segment::Param(name) => {
                    params.push((name.clone(), (*actual).to_owned()));
                    !actual.is_empty()
                }
            });
            if matched {
                candidates.push((route, params));
            }
        }
        if candidates.is_empty() {
            return Err(format!(
                "unknown route: {} {path} (no path template in Discord's spec matches {normalized})",
                method.to_ascii_uppercase()
            ));
        }
        // Literal segments win over parameters, the leftmost literal first
        // (".../messages/@original" beats ".../messages/{message_id}").
        candidates.sort_by_key(|(route, _)| std::cmp::Reverse(literal_mask(route)));
        for (route, params) in &candidates {
            let path_item = &self.doc["paths"][&route.template];
            if let Some(operation) = path_item.get(method_lc.as_str()) {
                return Ok(ResolvedRoute {
                    template: &route.template,
                    method: method_lc,
                    operation,
                    path_item,
                    params: params.clone(),
                });
            }
        }
        Err(format!(
            "unknown route: {} {path} (Discord's spec has no {} operation on {})",
            method.to_ascii_uppercase(),
            method.to_ascii_uppercase(),
            candidates.iter().map(|(r, _)| r.template.as_str()).collect::<Vec<_>>().join(", ")
        ))
    }

    /// Validates the JSON body of `method` + wire `path` against the spec. Returns the violations,
    /// each starting with its JSON path; an unknown route is itself a violation.
    pub fn validate_request(&self, method: &str, path: &str, body: &Value) -> Vec<String> {
        let route = match self.resolve(method, path) {
            Ok(route) => route,
            Err(e) => return vec![e],
        };
        let path_item_at = format!("/paths/{}", escape_pointer(route.template));
        let operation_at = format!("{path_item_at}/{}", route.method);
        let mut out = Vec::new();

        // Path parameters (snowflakes, token length).
        for (name, value) in &route.params {
            let declared = [(route.operation, &operation_at), (route.path_item, &path_item_at)]
                .into_iter()
                .find_map(|(owner, at)| {
                    let params = owner.get("parameters")?.as_array()?;
                    let i = params.iter().position(|p| {
                        p.get("name").and_then(Value::as_str) == Some(name)
                            && p.get("in").and_then(Value::as_str) == Some("path")
                            && p.get("schema").is_some()
                    })?;
                    Some(format!("{at}/parameters/{i}/schema"))
                });
            if let Some(schema_at) = declared {
                let instance = Value::String(value.clone());
                out.extend(self.violations(&schema_at, &instance, &format!("path parameter {{{name}}}")));
            }
        }

        let body_at = match route.operation.get("requestBody") {
            None => {
                if !body.is_null() {
                    out.push(format!(
                        "$: {} {} takes no request body in Discord's spec",
                        route.method.to_ascii_uppercase(),
                        route.template
                    ));
                }
                return out;
            }
            // A request body kept in `components` (none is, today).
            Some(rb) => match rb.get("$ref").and_then(Value::as_str) {
                Some(reference) => reference.trim_start_matches('#').to_owned(),
                None => format!("{operation_at}/requestBody"),
            },
        };
        let schema_at = format!("{body_at}/content/application~1json/schema");
        if self.doc.pointer(&schema_at).is_none() {
            out.push(format!(
                "$: {} {} has no application/json request body in Discord's spec",
                route.method.to_ascii_uppercase(),
                route.template
            ));
            return out;
        }
        out.extend(self.violations(&schema_at, body, "$"));
        out
    }

    /// The violations of `instance` against the schema at `schema_at` (a JSON pointer into the
    /// spec), each as `"<root><JSON path>: <what is wrong>"`.
    fn violations(&self, schema_at: &str, instance: &Value, root: &str) -> Vec<String> {
        let validator = self.validator(schema_at);
        let errors: Vec<ValidationError<'_>> = validator.iter_errors(instance).collect();
        let mut out = Vec::new();
        report_all(&errors, instance, root, &mut out);
        out
    }

    fn validator(&self, schema_at: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(validator) = cache.get(schema_at) {
            return Arc::clone(validator);
        }
        let reference = json!({ "$ref": format!("{SPEC_URI}#{}", uri_fragment(schema_at)) });
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .with_keyword(INTEGER_TEXT, IntegerText::factory)
            .build(&reference)
            .unwrap_or_else(|e| panic!("the schema at {schema_at} in Discord's spec does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(schema_at.to_owned(), Arc::clone(&validator));
        validator
    }
}

/// A bit mask of the literal positions (leftmost segment = highest bit), to rank templates.
fn literal_mask(route: &RouteTemplate) -> u128 {
    let n = route.segments.len().min(127);
    route
        .segments
        .iter()
        .take(n)
        .enumerate()
        .filter(|(_, s)| matches!(s, Segment::Literal(_)))
        .map(|(i, _)| 1u128 << (n - 1 - i))
        .sum()
}

/// Strips scheme and host, query and fragment, the `/api` or `/api/vN` prefix and a trailing `/`.
fn normalize_path(path: &str) -> String {
    let mut p = path;
    if let Some(idx) = p.find("://") {
        let rest = &p[idx + 3..];
        p = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    if let Some(i) = p.find(['?', '#']) {
        p = &p[..i];
    }
    if let Some(rest) = p.strip_prefix("/api") {
        if rest.is_empty() || rest.starts_with('/') {
            p = rest;
            if let Some(after_v) = p.strip_prefix("/v") {
                let digits = after_v.chars().take_while(char::is_ascii_digit).count();
                if digits > 0 && (after_v.len() == digits || after_v[digits..].starts_with('/')) {
                    p = &after_v[digits..];
                }
            }
        }
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// One JSON pointer token (RFC 6901): `~` → `~0`, `/` → `~1`.
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer as a URI fragment: percent-encodes what a fragment cannot hold (`{`, `}`…).
fn uri_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The spec as JSON Schema: rewritten once so that the `jsonschema` crate means what Discord means
// ---------------------------------------------------------------------------------------------

/// Rewrites every schema in the spec (see the module doc for why). Only keys with a schema-shaped
/// value are touched (`oneOf` holding an array, `type` holding a type name), so a property that
/// happens to be called `type` is left alone.
fn adapt(node: &mut Value) {
    match node {
        Value::Array(items) => items.iter_mut().for_each(adapt),
        Value::Object(obj) => {
            // Unions: "at least one branch matches". (A schema with both would keep its strict
            // `oneOf`; the spec has none.)
            if obj.get("oneOf").is_some_and(Value::is_array) && !obj.contains_key("anyOf") {
                let branches = obj.remove("oneOf").unwrap_or_default();
                obj.insert("anyOf".to_owned(), branches);
            }
            // Enumerations written as branches of `const`: one `enum`.
            if let Some(Value::Array(branches)) = obj.get("anyOf") {
                if !branches.is_empty()
                    && !obj.contains_key("enum")
                    && branches.iter().all(|b| b.get("const").is_some())
                {
                    let values = branches.iter().map(|b| b["const"].clone()).collect();
                    obj.remove("anyOf");
                    obj.insert("enum".to_owned(), Value::Array(values));
                }
            }
            let types: Vec<&str> = match obj.get("type") {
                Some(Value::String(t)) => vec![t.as_str()],
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let format = obj.get("format").and_then(Value::as_str);
            if types == ["string"] && format == Some("snowflake") {
                // A snowflake may be a JSON integer (the pattern checks only strings).
                obj.insert("type".to_owned(), json!(["string", "integer"]));
                obj.insert("minimum".to_owned(), json!(0));
                obj.insert("maximum".to_owned(), json!(u64::MAX));
            } else if types.contains(&"integer")
                && !types.contains(&"string")
                && matches!(format, None | Some("int64"))
            {
                // An integer may be a string of digits, within the same bounds.
                let mut widened: Vec<Value> = types.iter().map(|t| json!(t)).collect();
                widened.push(json!("string"));
                obj.insert("type".to_owned(), Value::Array(widened));
                obj.insert(INTEGER_TEXT.to_owned(), Value::Bool(true));
            }
            obj.values_mut().for_each(adapt);
        }
        _ => {}
    }
}

/// `x-integer-text`: a string must be an integer's digits within the schema's `minimum` and
/// `maximum` (which JSON Schema applies to numbers only). Other instances are left to `type`.
struct IntegerText {
    minimum: Option<i128>,
    maximum: Option<i128>,
}

impl IntegerText {
    fn factory<'a>(
        parent: &'a Map<String, Value>,
        _value: &'a Value,
        _at: Location,
    ) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
        let bound = |key: &str| {
            let n = parent.get(key)?;
            n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
        };
        Ok(Box::new(IntegerText { minimum: bound("minimum"), maximum: bound("maximum") }))
    }

    fn problem(&self, instance: &Value) -> Option<String> {
        let text = instance.as_str()?;
        let digits = text.strip_prefix('-').unwrap_or(text);
        let value = (!digits.is_empty() && digits.len() <= 38 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<i128>().ok())
            .flatten();
        match (value, self.minimum, self.maximum) {
            (None, ..) => Some(format!("expected integer, got string {}", short_str(text))),
            (Some(n), Some(min), _) if n < min => Some(format!("value {n} < minimum {min}")),
            (Some(n), _, Some(max)) if n > max => Some(format!("value {n} > maximum {max}")),
            _ => None,
        }
    }
}

impl<'i> Keyword<'i> for IntegerText {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        self.problem(instance).map_or(Ok(()), |p| Err(ValidationError::custom(p)))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        self.problem(instance).is_none()
    }
}

// ---------------------------------------------------------------------------------------------
// The crate's errors as violations
// ---------------------------------------------------------------------------------------------

/// Adds `errors` to `out`, leaving out those beside a wrong JSON type at the same place (a
/// pattern or an enum says nothing more when the value is not even of the right type).
fn report_all(errors: &[ValidationError<'_>], instance: &Value, root: &str, out: &mut Vec<String>) {
    let is_type = |e: &ValidationError<'_>| matches!(e.kind(), ValidationErrorKind::Type { .. });
    let mistyped: Vec<&str> =
        errors.iter().filter(|e| is_type(e)).map(|e| e.instance_path().as_str()).collect();
    for e in errors.iter().filter(|e| is_type(e) || !mistyped.contains(&e.instance_path().as_str())) {
        report(e, instance, root, out);
    }
}

/// Adds `error` to `out` as `"<JSON path>: <what is wrong>"`, in the same words as the rules below
/// (so that [`check_request`] can drop what both report). A union with no matching branch reports
/// the branch that was meant: not ruled out by its discriminator (and of the right JSON type),
/// then fewest violations; when every branch is ruled out at one place, one violation says what
/// would have been accepted there.
fn report(error: &ValidationError<'_>, instance: &Value, root: &str, out: &mut Vec<String>) {
    let (ValidationErrorKind::AnyOf { context: branches }
    | ValidationErrorKind::OneOfNotValid { context: branches }) = error.kind()
    else {
        out.push(format!("{}: {}", json_path(root, instance, error.instance_path()), describe(error)));
        return;
    };
    let base = error.instance_path();
    let ruled_out = |branch: &[ValidationError<'static>]| branch.iter().any(|e| rules_out(base, e));
    let mistyped = |branch: &[ValidationError<'static>]| {
        branch
            .iter()
            .any(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }) && e.instance_path() == base)
    };
    if branches.iter().all(|b| ruled_out(b)) {
        if let Some(merged) = merge_discriminators(base, branches, instance, root) {
            out.push(merged);
            return;
        }
    }
    let best = branches
        .iter()
        .enumerate()
        .map(|(i, branch)| {
            let mut violations = Vec::new();
            report_all(branch, instance, root, &mut violations);
            ((ruled_out(branch), mistyped(branch), violations.len(), i), violations)
        })
        .min_by_key(|(rank, _)| *rank);
    out.extend(best.map(|(_, violations)| violations).unwrap_or_default());
}

/// Whether `e` shows that a union branch checked at `base` was not meant for the instance: the
/// instance itself has the wrong JSON type, or it or one of its direct properties (a `type` tag)
/// has a value outside an enum/const. A wrongly typed property is a plain error, not a rule-out.
fn rules_out(base: &Location, e: &ValidationError<'_>) -> bool {
    let at = e.instance_path().as_str();
    match e.kind() {
        ValidationErrorKind::Type { .. } => at == base.as_str(),
        ValidationErrorKind::Constant { .. } | ValidationErrorKind::Enum { .. } => at
            .strip_prefix(base.as_str())
            .is_some_and(|rest| rest.is_empty() || (rest.starts_with('/') && !rest[1..].contains('/'))),
        _ => false,
    }
}

/// One violation for a union whose branches were all ruled out at the same place by the same
/// kind of check: the union of what each branch accepts there (within a branch, the
/// intersection of its constraints).
fn merge_discriminators(
    base: &Location,
    branches: &[Vec<ValidationError<'static>>],
    instance: &Value,
    root: &str,
) -> Option<String> {
    let mut at: Option<&Location> = None;
    let mut types: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut actual = None;
    for branch in branches {
        let mut branch_values: Option<Vec<Value>> = None;
        for e in branch.iter().filter(|e| rules_out(base, e)) {
            if *at.get_or_insert(e.instance_path()) != e.instance_path() {
                return None;
            }
            actual = Some(e.instance().clone().into_owned());
            let allowed = match e.kind() {
                ValidationErrorKind::Type { kind } => {
                    types.extend(
                        type_names(kind).into_iter().filter(|t| !types.contains(t)).collect::<Vec<_>>(),
                    );
                    continue;
                }
                ValidationErrorKind::Constant { expected_value } => vec![(**expected_value).clone()],
                ValidationErrorKind::Enum { options } => options.as_array().cloned().unwrap_or_default(),
                _ => continue,
            };
            branch_values = Some(match branch_values {
                None => allowed,
                Some(prev) => prev.into_iter().filter(|p| allowed.contains(p)).collect(),
            });
        }
        for value in branch_values.unwrap_or_default() {
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    let (path, actual) = (json_path(root, instance, at?), actual?);
    types.sort_by_key(|t| t == "null");
    match (types.is_empty(), values.is_empty()) {
        (false, true) => {
            Some(format!("{path}: expected {}, got {}", types.join(" or "), describe_value(&actual)))
        }
        (true, false) => {
            values.sort_by(|a, b| match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.to_string().cmp(&b.to_string()),
            });
            Some(format!("{path}: value {} not one of {}", short(&actual), list(&values)))
        }
        _ => None,
    }
}

/// What is wrong, in the words the rules use (`length 300 > maxLength 256`).
fn describe(e: &ValidationError<'_>) -> String {
    let inst = e.instance();
    let count = |v: &Value| match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    match e.kind() {
        ValidationErrorKind::Type { kind } => {
            format!("expected {}, got {}", type_names(kind).join(" or "), describe_value(inst))
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("value {} != expected {}", short(inst), short(expected_value))
        }
        ValidationErrorKind::Enum { options } => match options.as_array().map(Vec::as_slice) {
            Some([only]) => format!("value {} != expected {}", short(inst), short(only)),
            Some(all) => format!("value {} not one of {}", short(inst), list(all)),
            None => format!("value {} not one of {options}", short(inst)),
        },
        ValidationErrorKind::MaxLength { limit } => format!("length {} > maxLength {limit}", count(inst)),
        ValidationErrorKind::MinLength { limit } => format!("length {} < minLength {limit}", count(inst)),
        ValidationErrorKind::MaxItems { limit } => format!("{} items > maxItems {limit}", count(inst)),
        ValidationErrorKind::MinItems { limit } => format!("{} items < minItems {limit}", count(inst)),
        ValidationErrorKind::MaxProperties { limit } => {
            format!("{} properties > maxProperties {limit}", count(inst))
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("{} properties < minProperties {limit}", count(inst))
        }
        ValidationErrorKind::Maximum { limit } => format!("value {inst} > maximum {limit}"),
        ValidationErrorKind::Minimum { limit } => format!("value {inst} < minimum {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("value {inst} >= exclusiveMaximum {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("value {inst} <= exclusiveMinimum {limit}")
        }
        ValidationErrorKind::Required { property } => {
            format!("missing required property \"{}\"", property.as_str().unwrap_or_default())
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{} does not match pattern {pattern}", short(inst))
        }
        ValidationErrorKind::Format { format } => format!("{} is not a valid {format}", short(inst)),
        ValidationErrorKind::UniqueItems => "items are not unique (uniqueItems)".to_owned(),
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("properties {unexpected:?} not allowed (additionalProperties: false)")
        }
        ValidationErrorKind::FalseSchema => "not allowed here (schema is false)".to_owned(),
        ValidationErrorKind::Custom { message, .. } => message.clone(),
        // The crate's own words for the rest (keywords Discord's request schemas do not use).
        _ => e.masked().to_string(),
    }
}

/// JSON type names in the order a reader expects (`string or null`).
fn type_names(kind: &TypeKind) -> Vec<String> {
    let mut names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    names.sort_by_key(|t| t == "null");
    names
}

/// The crate's instance location (a JSON pointer) as `$.data.embeds[0].title`, walking the
/// instance so that an object key made of digits stays a key.
fn json_path(root: &str, instance: &Value, location: &Location) -> String {
    let mut path = root.to_owned();
    let mut at = Some(instance);
    for segment in location.segments() {
        let key = match segment {
            LocationSegment::Property(key) => key.into_owned(),
            LocationSegment::Index(i) => i.to_string(),
        };
        match at {
            Some(Value::Array(items)) => {
                let i = key.parse().unwrap_or(usize::MAX);
                path = index_path(&path, i);
                at = items.get(i);
            }
            _ => {
                path = prop_path(&path, &key);
                at = at.and_then(|v| v.get(&key));
            }
        }
    }
    path
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {}", short_str(s)),
        Value::Array(a) => format!("array of {}", a.len()),
        Value::Object(_) => "object".to_owned(),
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => short_str(s),
        Value::Array(_) | Value::Object(_) => {
            let text = v.to_string();
            if text.chars().count() > 60 {
                format!("{}…", text.chars().take(60).collect::<String>())
            } else {
                text
            }
        }
        _ => v.to_string(),
    }
}

fn short_str(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{:?}…", s.chars().take(40).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

fn list(values: &[Value]) -> String {
    let parts: Vec<String> = values.iter().map(short).collect();
    format!("[{}]", parts.join(", "))
}

fn prop_path(base: &str, key: &str) -> String {
    let simple = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        format!("{base}.{key}")
    } else {
        format!("{base}[{key:?}]")
    }
}

fn index_path(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

// ---------------------------------------------------------------------------------------------
// Message rules
// ---------------------------------------------------------------------------------------------

/// Discord's message limits the schema cannot express (or states differently), for a message
/// create/edit body, a follow-up, or the `data` of a type 4/7 interaction callback.
pub fn message_rules(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    message_rules_at(message, "$", &mut out);
    out
}

fn message_rules_at(message: &Value, base: &str, out: &mut Vec<String>) {
    let Some(msg) = message.as_object() else {
        if !message.is_null() {
            out.push(format!("{base}: a message payload must be an object, got {}", describe_value(message)));
        }
        return;
    };
    let flags = msg.get("flags").and_then(Value::as_u64).unwrap_or(0);
    let v2 = flags & FLAG_COMPONENTS_V2 != 0;

    if let Some(content) = msg.get("content").and_then(Value::as_str) {
        let n = content.chars().count();
        if n > limits::CONTENT {
            out.push(format!("{base}.content: length {n} > maxLength {}", limits::CONTENT));
        }
        if v2 && n > 0 {
            out.push(format!("{base}.content: content cannot be used with the IS_COMPONENTS_V2 flag"));
        }
    }

    if let Some(embeds) = msg.get("embeds").and_then(Value::as_array) {
        let path = format!("{base}.embeds");
        embed_rules(embeds, &path, out);
        if v2 && !embeds.is_empty() {
            out.push(format!("{path}: embeds cannot be used with the IS_COMPONENTS_V2 flag"));
        }
    }

    if let Some(components) = msg.get("components").and_then(Value::as_array) {
        component_rules(components, &format!("{base}.components"), v2, out);
    }

    if let Some(mentions) = msg.get("allowed_mentions").and_then(Value::as_object) {
        let parse: Vec<&str> = mentions
            .get("parse")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for kind in ["users", "roles"] {
            let listed = mentions.get(kind).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
            if listed && parse.contains(&kind) {
                out.push(format!(
                    "{base}.allowed_mentions: parse [\"{kind}\"] and a {kind} list are mutually exclusive"
                ));
            }
        }
    }
}

fn embed_rules(embeds: &[Value], path: &str, out: &mut Vec<String>) {
    if embeds.len() > limits::EMBEDS {
        out.push(format!("{path}: {} items > maxItems {}", embeds.len(), limits::EMBEDS));
    }
    let mut total = 0usize;
    let limit = |out: &mut Vec<String>, p: String, v: &Value, max: usize| -> usize {
        let n = chars(v);
        if n > max {
            out.push(format!("{p}: length {n} > maxLength {max}"));
        }
        n
    };
    for (i, embed) in embeds.iter().enumerate() {
        let ep = index_path(path, i);
        let Some(e) = embed.as_object() else {
            continue;
        };
        if let Some(v) = e.get("title") {
            total += limit(out, format!("{ep}.title"), v, limits::EMBED_TITLE);
        }
        if let Some(v) = e.get("description") {
            total += limit(out, format!("{ep}.description"), v, limits::EMBED_DESCRIPTION);
        }
        if let Some(fields) = e.get("fields").and_then(Value::as_array) {
            if fields.len() > limits::EMBED_FIELDS {
                out.push(format!("{ep}.fields: {} items > maxItems {}", fields.len(), limits::EMBED_FIELDS));
            }
            for (j, field) in fields.iter().enumerate() {
                let fp = index_path(&format!("{ep}.fields"), j);
                for (key, max) in [("name", limits::EMBED_FIELD_NAME), ("value", limits::EMBED_FIELD_VALUE)] {
                    match field.get(key) {
                        Some(Value::String(s)) if s.trim().is_empty() => {
                            out.push(format!("{fp}.{key}: an embed field {key} must not be empty or blank"))
                        }
                        Some(v) => total += limit(out, format!("{fp}.{key}"), v, max),
                        None => {}
                    }
                }
            }
        }
        if let Some(v) = e.get("footer").and_then(|f| f.get("text")) {
            total += limit(out, format!("{ep}.footer.text"), v, limits::EMBED_FOOTER_TEXT);
        }
        if let Some(v) = e.get("author").and_then(|a| a.get("name")) {
            total += limit(out, format!("{ep}.author.name"), v, limits::EMBED_AUTHOR_NAME);
        }
    }
    if total > limits::EMBED_TOTAL {
        out.push(format!(
            "{path}: total embed text {total} chars > {} (titles, descriptions, field names and values, footers and authors of all embeds together)",
            limits::EMBED_TOTAL
        ));
    }
}

fn is_select(ty: u64) -> bool {
    matches!(ty, 3 | 5 | 6 | 7 | 8)
}

fn component_rules(components: &[Value], path: &str, v2: bool, out: &mut Vec<String>) {
    if v2 {
        let total = count_components(components);
        if total > limits::V2_COMPONENTS_TOTAL {
            out.push(format!(
                "{path}: {total} components in total > {} (IS_COMPONENTS_V2)",
                limits::V2_COMPONENTS_TOTAL
            ));
        }
    } else {
        if components.len() > limits::ACTION_ROWS {
            out.push(format!("{path}: {} action rows > {}", components.len(), limits::ACTION_ROWS));
        }
        for (i, c) in components.iter().enumerate() {
            let ty = c.get("type").and_then(Value::as_u64);
            if ty != Some(1) {
                out.push(format!(
                    "{}: top-level component of type {} needs the IS_COMPONENTS_V2 flag; without it only action rows (type 1) are allowed",
                    index_path(path, i),
                    ty.map_or("?".to_owned(), |t| t.to_string())
                ));
            }
        }
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut text_total = 0usize;
    for (i, c) in components.iter().enumerate() {
        walk_component(c, &index_path(path, i), false, &mut seen, &mut text_total, out);
    }
    if v2 && text_total > limits::V2_TEXT_TOTAL {
        out.push(format!(
            "{path}: total text display content {text_total} chars > {} (IS_COMPONENTS_V2)",
            limits::V2_TEXT_TOTAL
        ));
    }
}

fn count_components(components: &[Value]) -> usize {
    components
        .iter()
        .map(|c| {
            1 + c.get("components").and_then(Value::as_array).map_or(0, |cs| count_components(cs))
                + c.get("accessory")
                    .filter(|a| a.is_object())
                    .map_or(0, |a| count_components(std::slice::from_ref(a)))
        })
        .sum()
}

fn walk_component(
    c: &Value,
    path: &str,
    in_row: bool,
    seen: &mut HashMap<String, String>,
    text_total: &mut usize,
    out: &mut Vec<String>,
) {
    let Some(obj) = c.as_object() else {
        return;
    };
    let ty = obj.get("type").and_then(Value::as_u64).unwrap_or(0);

    if let Some(id) = obj.get("custom_id").filter(|v| !v.is_null()) {
        let id_path = format!("{path}.custom_id");
        match id.as_str() {
            Some(s) => {
                let n = s.chars().count();
                if n == 0 {
                    out.push(format!("{id_path}: length 0 < minLength 1"));
                } else if n > limits::CUSTOM_ID {
                    out.push(format!("{id_path}: length {n} > maxLength {}", limits::CUSTOM_ID));
                }
                if let Some(first) = seen.get(s) {
                    out.push(format!(
                        "{id_path}: duplicate custom_id {} (also at {first}); custom_ids must be unique within a message",
                        short_str(s)
                    ));
                } else {
                    seen.insert(s.to_owned(), id_path);
                }
            }
            None => out.push(format!("{id_path}: custom_id must be a string")),
        }
    }

    match ty {
        1 => {
            if in_row {
                out.push(format!("{path}: action rows cannot be nested"));
            }
            let children =
                obj.get("components").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let child_types: Vec<u64> =
                children.iter().map(|ch| ch.get("type").and_then(Value::as_u64).unwrap_or(0)).collect();
            let buttons = child_types.iter().filter(|t| **t == 2).count();
            let selects = child_types.iter().filter(|t| is_select(**t)).count();
            if children.is_empty() {
                out.push(format!("{path}.components: an action row needs 1 to 5 components"));
            }
            if buttons > limits::BUTTONS_PER_ROW {
                out.push(format!(
                    "{path}.components: {buttons} buttons in one action row > {}",
                    limits::BUTTONS_PER_ROW
                ));
            }
            if selects > 0 && children.len() > 1 {
                out.push(format!(
                    "{path}.components: a select menu must be alone in its action row ({} components)",
                    children.len()
                ));
            }
            for (i, ch) in children.iter().enumerate() {
                walk_component(
                    ch,
                    &index_path(&format!("{path}.components"), i),
                    true,
                    seen,
                    text_total,
                    out,
                );
            }
            return;
        }
        2 => button_rules(obj, path, out),
        t if is_select(t) => select_rules(obj, t, path, out),
        10 => *text_total += obj.get("content").map_or(0, chars),
        _ => {}
    }

    if let Some(children) = obj.get("components").and_then(Value::as_array) {
        for (i, ch) in children.iter().enumerate() {
            walk_component(ch, &index_path(&format!("{path}.components"), i), false, seen, text_total, out);
        }
    }
    if let Some(accessory) = obj.get("accessory").filter(|a| a.is_object()) {
        walk_component(accessory, &format!("{path}.accessory"), false, seen, text_total, out);
    }
}

fn present(obj: &serde_json::Map<String, Value>, key: &str) -> bool {
    obj.get(key).is_some_and(|v| !v.is_null())
}

fn button_rules(obj: &serde_json::Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let label = obj.get("label").map_or(0, chars);
    if label > limits::BUTTON_LABEL {
        out.push(format!("{path}.label: length {label} > maxLength {}", limits::BUTTON_LABEL));
    }
    let style = obj.get("style").and_then(Value::as_u64).unwrap_or(0);
    match style {
        5 => {
            if !present(obj, "url") {
                out.push(format!("{path}: a link button (style 5) needs a url"));
            }
            if present(obj, "custom_id") {
                out.push(format!("{path}.custom_id: a link button (style 5) cannot have a custom_id"));
            }
        }
        6 => {
            if !present(obj, "sku_id") {
                out.push(format!("{path}: a premium button (style 6) needs a sku_id"));
            }
            for key in ["custom_id", "label", "url", "emoji"] {
                if present(obj, key) {
                    out.push(format!("{path}.{key}: a premium button (style 6) cannot have a {key}"));
                }
            }
        }
        1..=4 => {
            if !present(obj, "custom_id") {
                out.push(format!("{path}: a button of style {style} needs a custom_id"));
            }
            if present(obj, "url") {
                out.push(format!("{path}.url: only link buttons (style 5) can have a url"));
            }
            if label == 0 && !present(obj, "emoji") {
                out.push(format!("{path}: a button needs a label or an emoji"));
            }
        }
        // Unknown styles are reported by the schema.
        _ => {}
    }
}

fn select_rules(obj: &serde_json::Map<String, Value>, ty: u64, path: &str, out: &mut Vec<String>) {
    if !present(obj, "custom_id") {
        out.push(format!("{path}: a select menu needs a custom_id"));
    }
    let placeholder = obj.get("placeholder").map_or(0, chars);
    if placeholder > limits::SELECT_PLACEHOLDER {
        out.push(format!(
            "{path}.placeholder: length {placeholder} > maxLength {}",
            limits::SELECT_PLACEHOLDER
        ));
    }
    let min = obj.get("min_values").and_then(Value::as_u64);
    let max = obj.get("max_values").and_then(Value::as_u64);
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            out.push(format!("{path}: min_values {lo} > max_values {hi}"));
        }
    }
    if ty == 3 {
        let options = obj.get("options").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if options.is_empty() {
            out.push(format!(
                "{path}.options: a string select needs 1 to {} options",
                limits::SELECT_OPTIONS
            ));
        }
        if options.len() > limits::SELECT_OPTIONS {
            out.push(format!(
                "{path}.options: {} items > maxItems {}",
                options.len(),
                limits::SELECT_OPTIONS
            ));
        }
        if let Some(hi) = max {
            if !options.is_empty() && hi as usize > options.len() {
                out.push(format!("{path}.max_values: {hi} > number of options {}", options.len()));
            }
        }
        let mut values: HashMap<&str, usize> = HashMap::new();
        for (i, option) in options.iter().enumerate() {
            if let Some(v) = option.get("value").and_then(Value::as_str) {
                if let Some(first) = values.insert(v, i) {
                    out.push(format!(
                        "{}.value: duplicate option value {} (also options[{first}])",
                        index_path(&format!("{path}.options"), i),
                        short_str(v)
                    ));
                }
            }
        }
    }
}

/// A message that Discord would refuse as empty ("Cannot send an empty message").
fn empty_message_rule(message: &Value, path: &str, out: &mut Vec<String>) {
    let has = |key: &str| match message.get(key) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let any =
        ["content", "embeds", "components", "attachments", "sticker_ids", "poll"].iter().any(|k| has(k));
    if !any {
        out.push(format!(
            "{path}: empty message: needs content, embeds, components, attachments, stickers or a poll"
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Command registration rules
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum OptionLevel {
    Command,
    Group,
    Subcommand,
}

fn command_rules(cmd: &Value, path: &str, partial: bool, locales: &[String], out: &mut Vec<String>) {
    let Some(obj) = cmd.as_object() else {
        out.push(format!("{path}: a command must be an object, got {}", describe_value(cmd)));
        return;
    };
    let kind = obj.get("type").and_then(Value::as_u64).unwrap_or(1);
    let chat_input = kind == 1;

    match obj.get("name") {
        Some(Value::String(name)) => {
            name_rule(name, chat_input, &format!("{path}.name"), out);
        }
        Some(Value::Null) | None if !partial => {
            out.push(format!("{path}: missing command name"));
        }
        _ => {}
    }
    localization_rules(obj, "name_localizations", path, locales, out, |s, p, out| {
        name_rule(s, chat_input, p, out)
    });

    let description = obj.get("description").and_then(Value::as_str);
    if chat_input {
        match description {
            Some(d) => description_rule(d, &format!("{path}.description"), out),
            None if !partial => out.push(format!(
                "{path}: a chat-input command needs a description (1 to {} chars)",
                limits::COMMAND_DESCRIPTION
            )),
            None => {}
        }
        localization_rules(obj, "description_localizations", path, locales, out, description_rule);
    } else if description.is_some_and(|d| !d.is_empty()) {
        out.push(format!("{path}.description: user and message commands must have an empty description"));
    }

    let options = obj.get("options").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if !chat_input && !options.is_empty() {
        out.push(format!("{path}.options: only chat-input commands (type 1) can have options"));
    }
    options_rules(options, &format!("{path}.options"), OptionLevel::Command, locales, out);

    let total = command_chars(cmd);
    if total > limits::COMMAND_TOTAL {
        out.push(format!(
            "{path}: {total} chars of names, descriptions and choice values in the command > {} (longest localization of each field counted)",
            limits::COMMAND_TOTAL
        ));
    }
}

/// `^[-_\p{L}\p{N}]{1,32}$`, lowercase where a letter has a lowercase form (chat-input);
/// 1–32 chars of anything for user/message commands.
fn name_rule(name: &str, chat_input: bool, path: &str, out: &mut Vec<String>) {
    length_rule(name, 1, limits::COMMAND_NAME, path, out);
    if chat_input {
        if let Some(bad) = name.chars().find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_')) {
            out.push(format!(
                "{path}: {} has {bad:?}; names may hold only letters, digits, - and _",
                short_str(name)
            ));
        }
        if name.chars().any(char::is_uppercase) {
            out.push(format!("{path}: {} must be lowercase", short_str(name)));
        }
    }
}

fn description_rule(description: &str, path: &str, out: &mut Vec<String>) {
    length_rule(description, 1, limits::COMMAND_DESCRIPTION, path, out);
}

/// Same wording as the schema's checks, so that `check_request` can drop duplicates.
fn length_rule(text: &str, min: usize, max: usize, path: &str, out: &mut Vec<String>) {
    let n = text.chars().count();
    if n < min {
        out.push(format!("{path}: length {n} < minLength {min}"));
    } else if n > max {
        out.push(format!("{path}: length {n} > maxLength {max}"));
    }
}

fn localization_rules(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
    locales: &[String],
    out: &mut Vec<String>,
    rule: impl Fn(&str, &str, &mut Vec<String>),
) {
    let Some(map) = obj.get(key).and_then(Value::as_object) else {
        return;
    };
    let base = format!("{path}.{key}");
    for (locale, value) in map {
        let p = prop_path(&base, locale);
        if !locales.is_empty() && !locales.iter().any(|l| l == locale) {
            out.push(format!("{p}: unknown locale {locale:?}"));
        }
        if let Some(s) = value.as_str() {
            rule(s, &p, out);
        }
    }
}

fn options_rules(
    options: &[Value],
    path: &str,
    level: OptionLevel,
    locales: &[String],
    out: &mut Vec<String>,
) {
    if options.len() > limits::COMMAND_OPTIONS {
        out.push(format!("{path}: {} items > maxItems {}", options.len(), limits::COMMAND_OPTIONS));
    }
    let types: Vec<u64> =
        options.iter().map(|o| o.get("type").and_then(Value::as_u64).unwrap_or(0)).collect();
    let nesting = types.iter().filter(|t| matches!(t, 1 | 2)).count();
    if nesting > 0 && nesting < options.len() {
        out.push(format!("{path}: subcommands/groups cannot be mixed with other options at one level"));
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen_optional = false;
    for (i, option) in options.iter().enumerate() {
        let op = index_path(path, i);
        let Some(obj) = option.as_object() else {
            out.push(format!("{op}: an option must be an object, got {}", describe_value(option)));
            continue;
        };
        let ty = types[i];
        match (level, ty) {
            (_, 0) | (_, 12..) => out.push(format!("{op}.type: unknown option type {ty}")),
            (OptionLevel::Group, t) if t != 1 => {
                out.push(format!("{op}.type: a subcommand group may contain only subcommands (type 1)"))
            }
            (OptionLevel::Subcommand, 1 | 2) => {
                out.push(format!("{op}.type: a subcommand cannot contain subcommands or groups"))
            }
            _ => {}
        }
        match obj.get("name").and_then(Value::as_str) {
            Some(name) => {
                name_rule(name, true, &format!("{op}.name"), out);
                if let Some(first) = names.insert(name, i) {
                    out.push(format!(
                        "{op}.name: duplicate option name {} (also [{first}])",
                        short_str(name)
                    ));
                }
            }
            None => out.push(format!("{op}: missing option name")),
        }
        localization_rules(obj, "name_localizations", &op, locales, out, |s, p, out| {
            name_rule(s, true, p, out)
        });
        match obj.get("description").and_then(Value::as_str) {
            Some(d) => description_rule(d, &format!("{op}.description"), out),
            None => out.push(format!("{op}: missing option description")),
        }
        localization_rules(obj, "description_localizations", &op, locales, out, description_rule);

        let required = obj.get("required").and_then(Value::as_bool) == Some(true);
        if !matches!(ty, 1 | 2) {
            if required && seen_optional {
                out.push(format!("{op}.required: required options must come before optional ones"));
            }
            if !required {
                seen_optional = true;
            }
        }

        let choices = obj.get("choices").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if !choices.is_empty() {
            let cp = format!("{op}.choices");
            if !matches!(ty, 3 | 4 | 10) {
                out.push(format!("{cp}: only string, integer and number options can have choices"));
            }
            if obj.get("autocomplete").and_then(Value::as_bool) == Some(true) {
                out.push(format!("{cp}: an option with autocomplete cannot have choices"));
            }
            if choices.len() > limits::COMMAND_CHOICES {
                out.push(format!("{cp}: {} items > maxItems {}", choices.len(), limits::COMMAND_CHOICES));
            }
            for (j, choice) in choices.iter().enumerate() {
                choice_rules(choice, &index_path(&cp, j), locales, out);
            }
        }

        let sub = obj.get("options").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        match ty {
            1 => options_rules(sub, &format!("{op}.options"), OptionLevel::Subcommand, locales, out),
            2 => {
                if level != OptionLevel::Command {
                    out.push(format!("{op}.type: subcommand groups are allowed only at the top level"));
                }
                options_rules(sub, &format!("{op}.options"), OptionLevel::Group, locales, out)
            }
            _ => {
                if !sub.is_empty() {
                    out.push(format!("{op}.options: only subcommands and groups can have options"));
                }
            }
        }
    }
}

fn choice_rules(choice: &Value, path: &str, locales: &[String], out: &mut Vec<String>) {
    let Some(obj) = choice.as_object() else {
        return;
    };
    let name_rule = |s: &str, p: &str, out: &mut Vec<String>| {
        length_rule(s, 1, limits::CHOICE_NAME, p, out);
    };
    if let Some(name) = obj.get("name").and_then(Value::as_str) {
        name_rule(name, &format!("{path}.name"), out);
    }
    localization_rules(obj, "name_localizations", path, locales, out, name_rule);
    if let Some(value) = obj.get("value").and_then(Value::as_str) {
        length_rule(value, 0, limits::CHOICE_STRING_VALUE, &format!("{path}.value"), out);
    }
}

/// Characters counted against the 8000-per-command limit: names, descriptions and choice
/// values through the whole tree, each field at its longest localization.
fn command_chars(node: &Value) -> usize {
    let longest = |key: &str, loc_key: &str| -> usize {
        let base = node.get(key).map_or(0, chars);
        node.get(loc_key)
            .and_then(Value::as_object)
            .map_or(base, |m| m.values().map(chars).fold(base, usize::max))
    };
    let mut total =
        longest("name", "name_localizations") + longest("description", "description_localizations");
    if let Some(choices) = node.get("choices").and_then(Value::as_array) {
        for choice in choices {
            let name = choice.get("name").map_or(0, chars);
            let name = choice
                .get("name_localizations")
                .and_then(Value::as_object)
                .map_or(name, |m| m.values().map(chars).fold(name, usize::max));
            let value = match choice.get("value") {
                Some(Value::String(s)) => s.chars().count(),
                Some(other @ Value::Number(_)) => other.to_string().len(),
                _ => 0,
            };
            total += name + value;
        }
    }
    if let Some(options) = node.get("options").and_then(Value::as_array) {
        total += options.iter().map(command_chars).sum::<usize>();
    }
    total
}

fn autocomplete_rules(data: &Value, path: &str, out: &mut Vec<String>) {
    let Some(choices) = data.get("choices").and_then(Value::as_array) else {
        return;
    };
    let cp = format!("{path}.choices");
    if choices.len() > limits::AUTOCOMPLETE_CHOICES {
        out.push(format!("{cp}: {} items > maxItems {}", choices.len(), limits::AUTOCOMPLETE_CHOICES));
    }
    for (i, choice) in choices.iter().enumerate() {
        choice_rules(choice, &index_path(&cp, i), &[], out);
    }
}

// ---------------------------------------------------------------------------------------------
// Everything for one request
// ---------------------------------------------------------------------------------------------

/// Schema validation plus the rules for what the route carries: messages (channel messages,
/// webhook executes and edits, type 4/7 callbacks), autocomplete results (type 8) and command
/// registration. Returns all violations, without duplicates.
pub fn check_request(method: &str, path: &str, body: &Value) -> Vec<String> {
    let spec = DiscordSpec::get();
    let mut out = spec.validate_request(method, path, body);
    let Ok(route) = spec.resolve(method, path) else {
        return out;
    };
    let method = method.to_ascii_uppercase();
    let mut rules = Vec::new();
    match (method.as_str(), route.template) {
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback") => {
            let data = body.get("data").unwrap_or(&Value::Null);
            match body.get("type").and_then(Value::as_u64) {
                Some(4) => {
                    empty_message_rule(data, "$.data", &mut rules);
                    message_rules_at(data, "$.data", &mut rules);
                }
                Some(7) => message_rules_at(data, "$.data", &mut rules),
                Some(8) => autocomplete_rules(data, "$.data", &mut rules),
                _ => {}
            }
        }
        ("POST", "/channels/{channel_id}/messages") | ("POST", "/webhooks/{webhook_id}/{webhook_token}") => {
            empty_message_rule(body, "$", &mut rules);
            message_rules_at(body, "$", &mut rules);
        }
        ("PATCH", "/channels/{channel_id}/messages/{message_id}")
        | ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
        | ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}") => {
            message_rules_at(body, "$", &mut rules);
        }
        ("PUT", "/applications/{application_id}/commands")
        | ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands") => {
            if let Some(commands) = body.as_array() {
                let mut seen: HashMap<(u64, String), usize> = HashMap::new();
                for (i, cmd) in commands.iter().enumerate() {
                    let p = index_path("$", i);
                    command_rules(cmd, &p, false, &spec.locales, &mut rules);
                    let kind = cmd.get("type").and_then(Value::as_u64).unwrap_or(1);
                    if let Some(name) = cmd.get("name").and_then(Value::as_str) {
                        if let Some(first) = seen.insert((kind, name.to_owned()), i) {
                            rules.push(format!(
                                "{p}.name: duplicate command {} of type {kind} (also $[{first}])",
                                short_str(name)
                            ));
                        }
                    }
                }
            }
        }
        ("POST", "/applications/{application_id}/commands")
        | ("POST", "/applications/{application_id}/guilds/{guild_id}/commands") => {
            command_rules(body, "$", false, &spec.locales, &mut rules);
        }
        ("PATCH", "/applications/{application_id}/commands/{command_id}")
        | ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}") => {
            command_rules(body, "$", true, &spec.locales, &mut rules);
        }
        _ => {}
    }
    for rule in rules {
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}
