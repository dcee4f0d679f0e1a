//! Checks the payloads the bot sends to Discord against Discord's official OpenAPI spec
//! (`tests/fixtures/discord-openapi.json`, vendored from discord/discord-api-spec with its MIT
//! licence; see `tests/fixtures/discord-openapi.README.md`) and against the limits Discord
//! enforces that the spec cannot express (from Discord's developer documentation).
//!
//! * [`DiscordSpec::validate_request`] — schema validation of one request body for a method and a
//!   wire path (`/api/v10/...`), with a small JSON Schema (OpenAPI 3.1) validator covering the
//!   keywords the spec uses.
//! * [`message_rules`] — the message limits (embed totals, component layout, unique custom ids…).
//! * [`check_request`] — both of the above, plus the command-registration rules, for one request.
//!
//! Every violation is one string `"<JSON path>: <what is wrong>"`, e.g.
//! `$.data.embeds[0].title: length 300 > maxLength 256`. Characters are counted as Unicode scalar
//! values (`str::chars().count()`), as Discord does.
//!
//! Quirks of the spec this module handles:
//! * `anyOf`/`oneOf` are both treated as "at least one branch matches": the spec writes Discord's
//!   unions as `anyOf` tagged `x-discord-union: oneOf`, and some branches overlap (a follow-up body
//!   matches both `IncomingWebhookRequestPartial` and `IncomingWebhookUpdateRequestPartial`), so a
//!   strict `oneOf` would reject valid bodies.
//! * Enumerations are written as `oneOf` of `{"const": ..}` branches; they are reported as one
//!   "not one of [..]" violation.
//! * When no branch matches, the branch reported is one whose discriminator (`type` and the like)
//!   matches, with the fewest violations — so a bad type-4 callback reports its embed problem, not
//!   "type is not 1" from the PONG branch.
//! * Snowflakes are `type: string` with a digits pattern; a JSON integer is accepted too. Integers
//!   without a format or with `format: int64` also accept a string of digits (serenity sends
//!   `default_member_permissions` as a string, the spec says integer).
//! * No request schema sets `additionalProperties: false`, so unknown fields are not reported (Discord
//!   ignores them).
//! * The spec allows 4000 characters of `content` for channel messages; Discord's documented limit
//!   (and [`message_rules`]) is 2000. The embed/component limits per field are in the spec; the
//!   6000-character embed total, unique custom ids, select-vs-button rows and the command rules are
//!   not.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

/// Where the spec lives: in the repository, so a fresh clone has it.
pub const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/discord-openapi.json");

/// Guard against schemas that recurse without consuming the instance.
const MAX_DEPTH: usize = 256;

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

/// The parsed spec plus an index of its path templates.
pub struct DiscordSpec {
    doc: Value,
    routes: Vec<RouteTemplate>,
    locales: Vec<String>,
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

    fn from_value(doc: Value) -> DiscordSpec {
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
        DiscordSpec { doc, routes, locales }
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
        let mut out = Vec::new();

        // Path parameters (snowflakes, token length).
        for (name, value) in &route.params {
            if let Some(schema) = find_path_param_schema(&route, name) {
                let mut violations = Vec::new();
                let instance = Value::String(value.clone());
                self.validator().check(
                    schema,
                    &instance,
                    &format!("path parameter {{{name}}}"),
                    &mut violations,
                );
                out.extend(violations.into_iter().map(Violation::render));
            }
        }

        let request_body = route.operation.get("requestBody").map(|rb| self.deref(rb));
        let Some(request_body) = request_body else {
            if !body.is_null() {
                out.push(format!(
                    "$: {} {} takes no request body in Discord's spec",
                    method.to_ascii_uppercase(),
                    route.template
                ));
            }
            return out;
        };
        let Some(schema) = request_body.pointer("/content/application~1json/schema") else {
            out.push(format!(
                "$: {} {} has no application/json request body in Discord's spec",
                method.to_ascii_uppercase(),
                route.template
            ));
            return out;
        };
        let mut violations = Vec::new();
        self.validator().check(schema, body, "$", &mut violations);
        out.extend(violations.into_iter().map(Violation::render));
        out
    }

    fn validator(&self) -> Validator<'_> {
        Validator { doc: &self.doc, stack: Vec::new() }
    }

    /// Follows a `$ref` at the top of a non-schema object (request bodies, parameters).
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        let mut current = value;
        for _ in 0..16 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(r) => match resolve_ref(&self.doc, r) {
                    Some(target) => current = target,
                    None => return current,
                },
                None => return current,
            }
        }
        current
    }
}

fn find_path_param_schema<'a>(route: &ResolvedRoute<'a>, name: &str) -> Option<&'a Value> {
    [route.operation, route.path_item]
        .into_iter()
        .filter_map(|v| v.get("parameters").and_then(Value::as_array))
        .flatten()
        .find(|p| {
            p.get("name").and_then(Value::as_str) == Some(name)
                && p.get("in").and_then(Value::as_str) == Some("path")
        })
        .and_then(|p| p.get("schema"))
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

fn resolve_ref<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

// ---------------------------------------------------------------------------------------------
// JSON Schema validator (the subset Discord's spec uses)
// ---------------------------------------------------------------------------------------------

struct Violation {
    path: String,
    message: String,
    /// Type and value (enum/const) mismatches tell which union branch was meant.
    kind: Kind,
}

enum Kind {
    Other,
    /// The instance has none of the `allowed` JSON types.
    Type {
        allowed: Vec<String>,
        actual: String,
    },
    /// The instance is none of the `allowed` values (enum, const).
    Value {
        allowed: Vec<Value>,
        actual: String,
    },
}

impl Violation {
    fn render(self) -> String {
        format!("{}: {}", self.path, self.message)
    }
}

struct Validator<'a> {
    doc: &'a Value,
    /// (schema, instance) pairs being checked through `$ref`, to stop cycles.
    stack: Vec<(*const Value, *const Value)>,
}

impl<'a> Validator<'a> {
    fn check(&mut self, schema: &'a Value, inst: &Value, path: &str, out: &mut Vec<Violation>) {
        let obj = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                out.push(violation(path, "not allowed here (schema is false)"));
                return;
            }
            Value::Object(obj) => obj,
            _ => return,
        };
        if self.stack.len() > MAX_DEPTH {
            return;
        }

        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            match resolve_ref(self.doc, reference) {
                Some(target) => {
                    let key = (target as *const Value, inst as *const Value);
                    if !self.stack.contains(&key) {
                        self.stack.push(key);
                        self.check(target, inst, path, out);
                        self.stack.pop();
                    }
                }
                None => out.push(violation(
                    path,
                    &format!("schema $ref {reference} does not resolve in Discord's spec"),
                )),
            }
        }

        let format = obj.get("format").and_then(Value::as_str);

        if let Some(types) = obj.get("type") {
            let allowed: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
            let accepted = allowed.is_empty()
                || (nullable && inst.is_null())
                || allowed.iter().any(|t| type_matches(t, format, inst));
            if !accepted {
                out.push(type_violation(path, allowed.iter().map(|t| (*t).to_owned()).collect(), inst));
                return;
            }
        }

        if let Some(expected) = obj.get("const") {
            if !json_eq(expected, inst) {
                out.push(value_violation(path, vec![expected.clone()], inst));
            }
        }
        if let Some(options) = obj.get("enum").and_then(Value::as_array) {
            if !options.iter().any(|o| json_eq(o, inst)) {
                out.push(value_violation(path, options.clone(), inst));
            }
        }

        // Strings (and snowflakes sent as integers).
        let as_text: Option<String> = match inst {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if format == Some("snowflake") => Some(n.to_string()),
            _ => None,
        };
        if let Some(text) = &as_text {
            if inst.is_string() {
                let len = text.chars().count();
                if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
                    if len as u64 > max {
                        out.push(violation(path, &format!("length {len} > maxLength {max}")));
                    }
                }
                if let Some(min) = obj.get("minLength").and_then(Value::as_u64) {
                    if (len as u64) < min {
                        out.push(violation(path, &format!("length {len} < minLength {min}")));
                    }
                }
            }
            if let Some(pattern) = obj.get("pattern").and_then(Value::as_str) {
                if let Some(false) = pattern_matches(pattern, text) {
                    out.push(violation(path, &format!("{} does not match pattern {pattern}", short(inst))));
                }
            }
            if inst.is_string() {
                if let Some(problem) = format.and_then(|f| format_problem(f, text)) {
                    out.push(violation(path, &problem));
                }
            }
        }

        // Numbers (and integers sent as digit strings).
        if let Some(n) = numeric_value(inst, obj.get("type"), format) {
            if let Some(min) = obj.get("minimum").and_then(Num::from_json) {
                if n.lt(&min) {
                    out.push(violation(path, &format!("value {} < minimum {}", n, min)));
                }
            }
            if let Some(max) = obj.get("maximum").and_then(Num::from_json) {
                if max.lt(&n) {
                    out.push(violation(path, &format!("value {} > maximum {}", n, max)));
                }
            }
            if let Some(min) = obj.get("exclusiveMinimum").and_then(Num::from_json) {
                if !min.lt(&n) {
                    out.push(violation(path, &format!("value {} <= exclusiveMinimum {}", n, min)));
                }
            }
            if let Some(max) = obj.get("exclusiveMaximum").and_then(Num::from_json) {
                if !n.lt(&max) {
                    out.push(violation(path, &format!("value {} >= exclusiveMaximum {}", n, max)));
                }
            }
        }

        if let Value::Array(items) = inst {
            let count = items.len() as u64;
            if let Some(max) = obj.get("maxItems").and_then(Value::as_u64) {
                if count > max {
                    out.push(violation(path, &format!("{count} items > maxItems {max}")));
                }
            }
            if let Some(min) = obj.get("minItems").and_then(Value::as_u64) {
                if count < min {
                    out.push(violation(path, &format!("{count} items < minItems {min}")));
                }
            }
            if obj.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
                'outer: for (i, a) in items.iter().enumerate() {
                    for (j, b) in items.iter().enumerate().skip(i + 1) {
                        if json_eq(a, b) {
                            out.push(violation(
                                path,
                                &format!("items [{i}] and [{j}] are equal (uniqueItems)"),
                            ));
                            break 'outer;
                        }
                    }
                }
            }
            if let Some(item_schema) = obj.get("items") {
                if item_schema.is_object() || item_schema.is_boolean() {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &index_path(path, i), out);
                    }
                }
            }
        }

        if let Value::Object(map) = inst {
            if let Some(required) = obj.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        out.push(violation(path, &format!("missing required property \"{name}\"")));
                    }
                }
            }
            let properties = obj.get("properties").and_then(Value::as_object);
            for (key, value) in map {
                let child = prop_path(path, key);
                match properties.and_then(|p| p.get(key)) {
                    Some(prop_schema) => self.check(prop_schema, value, &child, out),
                    None => {
                        if let Some(additional) = obj.get("additionalProperties") {
                            if additional == &Value::Bool(false) {
                                out.push(violation(
                                    &child,
                                    "property not allowed (additionalProperties: false)",
                                ));
                            } else {
                                self.check(additional, value, &child, out);
                            }
                        }
                    }
                }
            }
            let count = map.len() as u64;
            if let Some(max) = obj.get("maxProperties").and_then(Value::as_u64) {
                if count > max {
                    out.push(violation(path, &format!("{count} properties > maxProperties {max}")));
                }
            }
            if let Some(min) = obj.get("minProperties").and_then(Value::as_u64) {
                if count < min {
                    out.push(violation(path, &format!("{count} properties < minProperties {min}")));
                }
            }
        }

        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            for branch in all {
                self.check(branch, inst, path, out);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(keyword).and_then(Value::as_array) {
                self.check_union(branches, inst, path, out);
            }
        }
        if let Some(not) = obj.get("not") {
            let mut inner = Vec::new();
            self.check(not, inst, path, &mut inner);
            if inner.is_empty() {
                out.push(violation(path, "must not match the `not` schema"));
            }
        }
    }

    /// `anyOf` / `oneOf`: valid when at least one branch has no violations; otherwise the
    /// violations of the most plausible branch.
    fn check_union(&mut self, branches: &'a [Value], inst: &Value, path: &str, out: &mut Vec<Violation>) {
        if branches.is_empty() {
            return;
        }
        // An enumeration written as branches of `const`.
        if branches.iter().all(|b| b.get("const").is_some()) {
            if !branches.iter().any(|b| json_eq(&b["const"], inst)) {
                let consts: Vec<Value> = branches.iter().map(|b| b["const"].clone()).collect();
                out.push(value_violation(path, consts, inst));
            }
            return;
        }
        let mut results: Vec<(bool, Vec<Violation>)> = Vec::new();
        for branch in branches {
            let mut violations = Vec::new();
            self.check(branch, inst, path, &mut violations);
            if violations.is_empty() {
                return;
            }
            let ruled_out = violations.iter().any(|v| rules_out(path, v));
            results.push((ruled_out, violations));
        }
        // Every branch failed. When each was ruled out by the same discriminator (e.g. `$.type`),
        // say so once with everything that would have been accepted there.
        if results.iter().all(|(ruled_out, _)| *ruled_out) {
            if let Some(merged) = merge_discriminators(path, &results) {
                out.push(merged);
                return;
            }
        }
        // Otherwise report the most plausible branch: not ruled out, then fewest violations.
        let best = results
            .into_iter()
            .enumerate()
            .min_by_key(|(i, (ruled_out, v))| (*ruled_out, v.len(), *i))
            .map(|(_, (_, v))| v);
        if let Some(violations) = best {
            out.extend(violations);
        }
    }
}

fn violation(path: &str, message: &str) -> Violation {
    Violation { path: path.to_owned(), message: message.to_owned(), kind: Kind::Other }
}

fn type_violation(path: &str, allowed: Vec<String>, inst: &Value) -> Violation {
    Violation {
        path: path.to_owned(),
        message: format!("expected {}, got {}", allowed.join(" or "), describe_value(inst)),
        kind: Kind::Type { allowed, actual: describe_value(inst) },
    }
}

fn value_violation(path: &str, allowed: Vec<Value>, inst: &Value) -> Violation {
    let message = match allowed.as_slice() {
        [only] => format!("value {} != expected {}", short(inst), short(only)),
        _ => format!("value {} not one of {}", short(inst), list(&allowed)),
    };
    Violation { path: path.to_owned(), message, kind: Kind::Value { allowed, actual: short(inst) } }
}

/// Whether `v` shows that a union branch checked at `base` was not meant for the instance: the
/// instance itself has the wrong JSON type, or it or one of its direct properties (a `type` tag)
/// has a value outside an enum/const. A wrongly typed property is a plain error, not a rule-out.
fn rules_out(base: &str, v: &Violation) -> bool {
    match v.kind {
        Kind::Type { .. } => v.path == base,
        Kind::Value { .. } => is_self_or_child(base, &v.path),
        Kind::Other => false,
    }
}

/// One violation for a union whose branches were all ruled out at the same place by the same
/// kind of check: the union of what each branch accepts there (within a branch, the
/// intersection of its constraints).
fn merge_discriminators(base: &str, results: &[(bool, Vec<Violation>)]) -> Option<Violation> {
    let mut at: Option<&str> = None;
    let mut types: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut actual_text = String::new();
    let mut saw_type = false;
    let mut saw_value = false;
    for (_, violations) in results {
        let deciding: Vec<&Violation> = violations.iter().filter(|v| rules_out(base, v)).collect();
        let mut branch_values: Option<Vec<Value>> = None;
        for v in deciding {
            if *at.get_or_insert(v.path.as_str()) != v.path {
                return None;
            }
            match &v.kind {
                Kind::Type { allowed, actual } => {
                    saw_type = true;
                    actual_text.clone_from(actual);
                    for t in allowed {
                        if !types.contains(t) {
                            types.push(t.clone());
                        }
                    }
                }
                Kind::Value { allowed, actual } => {
                    saw_value = true;
                    actual_text.clone_from(actual);
                    branch_values = Some(match branch_values {
                        None => allowed.clone(),
                        Some(prev) => {
                            prev.into_iter().filter(|p| allowed.iter().any(|a| json_eq(a, p))).collect()
                        }
                    });
                }
                Kind::Other => {}
            }
        }
        for value in branch_values.unwrap_or_default() {
            if !values.iter().any(|v| json_eq(v, &value)) {
                values.push(value);
            }
        }
    }
    let path = at?.to_owned();
    match (saw_type, saw_value) {
        (true, false) => Some(Violation {
            message: format!("expected {}, got {actual_text}", types.join(" or ")),
            path,
            kind: Kind::Type { allowed: types, actual: actual_text },
        }),
        (false, true) => {
            values.sort_by(|a, b| match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.to_string().cmp(&b.to_string()),
            });
            Some(Violation {
                message: format!("value {actual_text} not one of {}", list(&values)),
                path,
                kind: Kind::Value { allowed: values, actual: actual_text },
            })
        }
        _ => None,
    }
}

/// `candidate` is `base` itself or one step below it (`base.key`, `base[3]`, `base["k"]`).
fn is_self_or_child(base: &str, candidate: &str) -> bool {
    let Some(rest) = candidate.strip_prefix(base) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    if let Some(key) = rest.strip_prefix('.') {
        return !key.contains(['.', '[']);
    }
    if let Some(inner) = rest.strip_prefix('[') {
        return inner.find(']') == Some(inner.len() - 1);
    }
    false
}

fn type_matches(ty: &str, format: Option<&str>, inst: &Value) -> bool {
    match ty {
        "null" => inst.is_null(),
        "boolean" => inst.is_boolean(),
        "object" => inst.is_object(),
        "array" => inst.is_array(),
        "number" => inst.is_number(),
        "integer" => match inst {
            Value::Number(n) => is_integral(n),
            // Discord accepts int64 values as strings (serenity sends permissions that way).
            Value::String(s) => matches!(format, None | Some("int64")) && is_integer_text(s),
            _ => false,
        },
        "string" => match inst {
            Value::String(_) => true,
            // Snowflakes may be sent as JSON integers.
            Value::Number(n) => format == Some("snowflake") && n.as_u64().is_some(),
            _ => false,
        },
        _ => true,
    }
}

fn is_integral(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 38 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A number for minimum/maximum checks: exact for integers, f64 otherwise.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn from_json(v: &Value) -> Option<Num> {
        match v {
            Value::Number(n) => Some(if let Some(i) = n.as_i64() {
                Num::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                Num::Int(i128::from(u))
            } else {
                Num::Float(n.as_f64()?)
            }),
            _ => None,
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    fn lt(&self, other: &Num) -> bool {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a < b,
            _ => self.as_f64() < other.as_f64(),
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(i) => write!(f, "{i}"),
            Num::Float(x) => write!(f, "{x}"),
        }
    }
}

fn numeric_value(inst: &Value, types: Option<&Value>, format: Option<&str>) -> Option<Num> {
    match inst {
        Value::Number(_) => Num::from_json(inst),
        Value::String(s) => {
            let integer_allowed = match types {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            if integer_allowed && matches!(format, None | Some("int64")) && is_integer_text(s) {
                s.parse::<i128>().ok().map(Num::Int)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `Some(matches)` for the patterns the spec uses; `None` (not checked) for others.
fn pattern_matches(pattern: &str, text: &str) -> Option<bool> {
    match pattern {
        "^(0|[1-9][0-9]*)$" => Some(
            text == "0"
                || (!text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit())),
        ),
        "^#(([0-9a-fA-F]{2}){3}|([0-9a-fA-F]){3})$" => Some(text.strip_prefix('#').is_some_and(|hex| {
            (hex.len() == 6 || hex.len() == 3) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })),
        _ => None,
    }
}

fn format_problem(format: &str, text: &str) -> Option<String> {
    match format {
        "uri" => {
            let Some(scheme_end) = text.find(':') else {
                return Some(format!("{} is not a valid URI", short_str(text)));
            };
            let scheme = &text[..scheme_end];
            let scheme_ok = !scheme.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if scheme_ok && !text.chars().any(char::is_whitespace) && text.len() > scheme_end + 1 {
                None
            } else {
                Some(format!("{} is not a valid URI", short_str(text)))
            }
        }
        "date-time" => {
            let b = text.as_bytes();
            let digits =
                |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
            let ok = b.len() >= 19
                && digits(0..4)
                && b[4] == b'-'
                && digits(5..7)
                && b[7] == b'-'
                && digits(8..10)
                && matches!(b[10], b'T' | b't' | b' ')
                && digits(11..13)
                && b[13] == b':'
                && digits(14..16)
                && b[16] == b':'
                && digits(17..19);
            if ok {
                None
            } else {
                Some(format!("{} is not an ISO 8601 date-time", short_str(text)))
            }
        }
        _ => None,
        // Unknown formats ("snowflake", "int32", "nonce", ...) carry no extra check.
    }
}

/// Equality where 4 == 4.0.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (Num::from_json(a), Num::from_json(b)) {
            (Some(Num::Int(i)), Some(Num::Int(j))) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
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
