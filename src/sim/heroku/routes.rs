//! The fake's HTTP side: its routes, the gatekeeper every request passes (key, injected faults,
//! rate limit, recording) and the handlers writing Heroku's bodies, headers and errors. The
//! state they read and change, and the control API tests use, are the parent's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{
    next_updated_at, now_iso, uuid_like, FakeApp, FakeFormation, FakeRelease, Fault, Inner,
    Recorded,
};

type Shared = Arc<Mutex<Inner>>;

/// The API's routes, each request passing the gatekeeper (key, faults, rate limit, record).
pub(super) fn router(inner: Shared) -> Router {
    Router::new()
        .route("/account", get(account))
        .route("/apps/{app}", get(app_info))
        .route(
            "/apps/{app}/formation",
            get(formation_list).patch(formation_batch_update),
        )
        .route("/apps/{app}/releases", get(release_list))
        .route("/apps/{app}/config-vars", get(config_vars))
        .route(
            "/apps/{app}/log-sessions",
            axum::routing::post(log_session_create),
        )
        .route(
            "/apps/{app}/formation/{process}",
            get(formation_info).patch(formation_update),
        )
        .fallback(not_found_route)
        .layer(axum::middleware::from_fn_with_state(
            inner.clone(),
            gatekeeper,
        ))
        .with_state(inner)
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "id": id, "message": message }))).into_response()
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited { retry_after } => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
            );
            if let Some(s) = retry_after {
                r.headers_mut().insert("retry-after", HeaderValue::from(*s));
            }
            r
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "Internal server error.",
        ),
        Fault::Unavailable => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable. Please try again later.",
        ),
        Fault::Unauthorized => unauthorized(),
        Fault::Forbidden => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You do not have access to the app.",
        ),
        Fault::NotFound => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        ),
        Fault::Invalid(message) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message)
        }
        Fault::NonJson(status) => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            [("content-type", "text/html")],
            "<html><body><h1>Application Error</h1></body></html>",
        )
            .into_response(),
        Fault::Huge(bytes) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            format!("[{}]", " ".repeat(bytes.saturating_sub(2))),
        )
            .into_response(),
        Fault::Delay(_) => unreachable!("a delay is not an answer"),
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Invalid credentials provided.",
    )
}

/// The key from `Authorization: Basic base64(user:key)` or `Bearer key`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

/// Records the request, applies faults, checks the version header and the key, and adds the
/// headers Heroku sends on every answer.
async fn gatekeeper(
    State(inner): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers: HashMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (fault, remaining, request_id, index) = {
        let mut inner = inner.lock().unwrap();
        let position = inner.faults.iter().position(|(m, p, _)| {
            m.as_ref().is_none_or(|m| *m == parts.method)
                && p.as_deref().is_none_or(|p| p == parts.uri.path())
        });
        let fault = position
            .and_then(|i| inner.faults.remove(i))
            .map(|(_, _, f)| f);
        inner.remaining = inner.remaining.saturating_sub(1);
        inner.serial += 1;
        let request_id = uuid_like(inner.serial);
        inner.requests.push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: tokio::time::Instant::now().into_std(),
            wall: SystemTime::now(),
            status: 0,
        });
        (fault, inner.remaining, request_id, inner.requests.len() - 1)
    };

    let mut response = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(f) => Some(fault_response(&f)),
        None => None,
    };
    if response.is_none() {
        let accept = parts
            .headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected_key = inner.lock().unwrap().key.clone();
        response = if !accept.contains("application/vnd.heroku+json; version=3") {
            Some(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
            ))
        } else if presented_key(&parts.headers).as_deref() != Some(expected_key.as_str()) {
            Some(unauthorized())
        } else {
            None
        };
    }
    let mut response = match response {
        Some(r) => r,
        None => {
            let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(body));
            next.run(request).await
        }
    };
    let h = response.headers_mut();
    h.insert("ratelimit-remaining", HeaderValue::from(remaining));
    h.insert(
        "request-id",
        HeaderValue::from_str(&request_id).expect("ascii"),
    );
    inner.lock().unwrap().requests[index].status = response.status().as_u16();
    response
}

fn app_json(app: &FakeApp) -> Value {
    json!({
        "acm": false,
        "archived_at": null,
        "buildpack_provided_description": "Ruby",
        "build_stack": { "id": "69bee368-352b-4bd0-9b7c-819d860a2588", "name": "heroku-24" },
        "created_at": app.created_at,
        "generation": if app.fir {
            json!({ "id": "7a5e2d9c-4b1f-4c8e-9f0a-3d6b8e1c2f47", "name": "fir" })
        } else {
            json!({ "id": "17bc5d1d-5a08-47a2-ae04-8bd4e8f2ad54", "name": "cedar" })
        },
        "git_url": format!("https://git.heroku.com/{}.git", app.name),
        "id": app.id,
        "internal_routing": null,
        "maintenance": false,
        "name": app.name,
        "owner": { "email": "owner@example.com", "id": "01234567-89ab-cdef-0123-456789abcdef" },
        "organization": null,
        "team": null,
        "region": { "id": "59accabd-516d-4f0e-83e6-6e3757701145", "name": "us" },
        "released_at": app.created_at,
        "repo_size": null,
        "slug_size": 48_000_000,
        "space": null,
        "stack": { "id": "69bee368-352b-4bd0-9b7c-819d860a2588", "name": "heroku-24" },
        "updated_at": app.created_at,
        "web_url": app.web_url,
    })
}

fn formation_json(app: &FakeApp, f: &FakeFormation) -> Value {
    json!({
        "app": { "name": app.name, "id": app.id },
        "command": f.command,
        "created_at": f.created_at,
        "dyno_size": { "id": "e66b7dd2-7b5b-4d1b-a4e4-3b26a42f6d5e", "name": f.size },
        "id": f.id,
        "quantity": f.quantity,
        "size": f.size,
        "type": f.process,
        "updated_at": f.updated_at,
    })
}

fn find_app<'a>(inner: &'a Inner, identity: &str) -> Option<&'a FakeApp> {
    inner
        .apps
        .iter()
        .find(|a| a.name == identity || a.id == identity)
}

async fn account() -> Response {
    axum::Json(json!({
        "id": "01234567-89ab-cdef-0123-456789abcdef",
        "email": "owner@example.com",
        "name": "Demo Owner",
        "verified": true,
    }))
    .into_response()
}

async fn app_info(State(inner): State<Shared>, Path(app): Path<String>) -> Response {
    let inner = inner.lock().unwrap();
    match find_app(&inner, &app) {
        Some(a) => axum::Json(app_json(a)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        ),
    }
}

/// `GET /apps/{app}/config-vars`: an object of every var's name and value (the schema's
/// "Config Vars Info for App").
async fn config_vars(State(inner): State<Shared>, Path(app): Path<String>) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let vars: serde_json::Map<String, serde_json::Value> = inner
        .config_vars
        .iter()
        .filter(|(owner, _, _)| *owner == a.name)
        .map(|(_, name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    axum::Json(vars).into_response()
}

async fn formation_list(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let list: Vec<Value> = inner
        .formations
        .iter()
        .filter(|(name, _)| *name == a.name)
        .map(|(_, f)| formation_json(a, f))
        .collect();
    let total = list.len();
    list_answer(&headers, list, total)
}

/// A list answer as Heroku gives it: an `ETag`, 304 to a matching `If-None-Match`, and with a
/// `Range` header (`version ..; order=desc, max=1`) the requested slice — 206 Partial Content
/// with `Next-Range` when more remain.
fn list_answer(headers: &HeaderMap, items: Vec<Value>, total: usize) -> Response {
    let shown = items.len();
    let body = Value::Array(items).to_string();
    let etag = format!(
        "W/\"{:016x}\"",
        crate::config::shard::fnv1a64(body.as_bytes())
    );
    let matches = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let partial = total > shown;
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let status = if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        (status, [("content-type", "application/json")], body).into_response()
    };
    response
        .headers_mut()
        .insert("etag", HeaderValue::from_str(&etag).expect("ascii"));
    if partial && !matches {
        response.headers_mut().insert(
            "next-range",
            HeaderValue::from_static("version ..; order=desc, max=1"),
        );
    }
    response
}

/// `Range: <attr> ..; order=desc, max=N` → (descending, max).
fn range_of(headers: &HeaderMap) -> (bool, usize) {
    let text = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let desc = text.contains("order=desc");
    let max = text
        .split([';', ','])
        .filter_map(|part| part.trim().strip_prefix("max="))
        .find_map(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(200)
        .clamp(1, 1000);
    (desc, max)
}

async fn release_list(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let mut releases: Vec<&FakeRelease> =
        inner.releases.iter().filter(|r| r.app == a.name).collect();
    let (desc, max) = range_of(&headers);
    if desc {
        releases.reverse();
    }
    let total = releases.len();
    let items: Vec<Value> = releases
        .into_iter()
        .take(max)
        .map(|r| {
            json!({
                "addon_plan_names": [],
                "app": { "name": a.name, "id": a.id },
                "created_at": r.created_at,
                "current": true,
                "description": r.description,
                "id": r.id,
                "slug": null,
                "status": "succeeded",
                "updated_at": r.created_at,
                "user": { "email": "owner@example.com", "id": "01234567-89ab-cdef-0123-456789abcdef" },
                "version": r.version,
            })
        })
        .collect();
    list_answer(&headers, items, total)
}

async fn formation_info(
    State(inner): State<Shared>,
    Path((app, process)): Path<(String, String)>,
) -> Response {
    let inner = inner.lock().unwrap();
    let Some(a) = find_app(&inner, &app) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    match inner
        .formations
        .iter()
        .find(|(name, f)| *name == a.name && (f.process == process || f.id == process))
    {
        Some((_, f)) => axum::Json(formation_json(a, f)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that formation.",
        ),
    }
}

async fn formation_update(
    State(inner): State<Shared>,
    Path((app, process)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let quantity = parsed
        .as_ref()
        .and_then(|v| v.get("quantity"))
        .and_then(Value::as_u64);
    let Some(quantity) = quantity.filter(|_| json_type) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Invalid params: quantity must be a non-negative integer in a JSON body.",
        );
    };
    let size = match requested_size(parsed.as_ref().and_then(|v| v.get("size"))) {
        Ok(size) => size,
        Err(message) => return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", &message),
    };
    let mut guard = inner.lock().unwrap();
    let inner = &mut *guard;
    let Some(a) = find_app(inner, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let Some((_, f)) = inner
        .formations
        .iter_mut()
        .find(|(name, f)| *name == a.name && (f.process == process || f.id == process))
    else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that formation.",
        );
    };
    let size = size.unwrap_or_else(|| f.size.clone());
    if let Some(refusal) = size_refusal(&size, quantity) {
        return refusal;
    }
    f.quantity = quantity as u32;
    f.size = size;
    f.updated_at = next_updated_at(&f.updated_at);
    axum::Json(formation_json(&a, f)).into_response()
}

/// A PATCH's `size`, as Heroku spells it in the formation; absent keeps the formation's.
/// Like Heroku, any case is accepted and an unknown size is refused (422 `invalid_params`).
fn requested_size(size: Option<&Value>) -> Result<Option<String>, String> {
    let Some(size) = size else {
        return Ok(None);
    };
    let message = match size.as_str().map(crate::size::Size::parse) {
        Some(Ok(size)) => return Ok(Some(size.heroku_name())),
        Some(Err(e)) => format!(
            "Couldn't find that dyno size: {}. Run heroku ps:type to see the sizes available.",
            e.name
        ),
        None => "Invalid params: size must be a string.".to_owned(),
    };
    Err(message)
}

/// Heroku refuses more than one Eco or Basic (or retired Free or Hobby) dyno per process type.
fn size_refusal(size: &str, quantity: u64) -> Option<Response> {
    (crate::size::single_dyno(size) && quantity > 1).then(|| {
        let message = format!("Cannot update to more than 1 {size} size dynos per process type.");
        error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", &message)
    })
}

/// `PATCH /apps/{app}/formation` with `{"updates": [{"type", "quantity"}, ...]}`: all or nothing.
async fn formation_batch_update(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    // (type, quantity, size) of each update.
    let updates: Option<Vec<(String, u64, Option<&Value>)>> =
        parsed.as_ref().filter(|_| json_type).and_then(|v| {
            v.get("updates")?
                .as_array()?
                .iter()
                .map(|u| {
                    Some((
                        u.get("type")?.as_str()?.to_owned(),
                        u.get("quantity")?.as_u64()?,
                        u.get("size"),
                    ))
                })
                .collect()
        });
    let Some(updates) = updates.filter(|u| !u.is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Invalid params: updates must be a non-empty array of {type, quantity} in a JSON body.",
        );
    };
    let mut guard = inner.lock().unwrap();
    let inner = &mut *guard;
    let Some(a) = find_app(inner, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    // Validate everything before changing anything.
    let mut sizes = Vec::new();
    for (process, quantity, size) in &updates {
        let size = match requested_size(*size) {
            Ok(size) => size,
            Err(message) => {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", &message)
            }
        };
        let Some((_, f)) = inner
            .formations
            .iter()
            .find(|(name, f)| *name == a.name && f.process == *process)
        else {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Couldn't find that formation.",
            );
        };
        let size = size.unwrap_or_else(|| f.size.clone());
        if let Some(refusal) = size_refusal(&size, *quantity) {
            return refusal;
        }
        sizes.push(size);
    }
    let mut changed = Vec::new();
    for ((process, quantity, _), size) in updates.iter().zip(sizes) {
        if let Some((_, f)) = inner
            .formations
            .iter_mut()
            .find(|(name, f)| *name == a.name && f.process == *process)
        {
            f.quantity = *quantity as u32;
            f.size = size;
            f.updated_at = next_updated_at(&f.updated_at);
            changed.push(formation_json(&a, f));
        }
    }
    axum::Json(Value::Array(changed)).into_response()
}

async fn not_found_route() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?",
    )
}

/// `POST /apps/{app}/log-sessions`: a session whose `logplex_url` streams the app's lines.
/// Cedar takes the v3 schema's `{source, dyno_name, lines, tail}`; a Fir app takes what the
/// Heroku CLI sends it (`Accept: application/vnd.heroku+json; version=3.sdk`, `{source, dyno,
/// type}`) and refuses Cedar's `dyno_name`/`lines`/`tail`.
async fn log_session_create(
    State(inner): State<Shared>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut guard = inner.lock().unwrap();
    let Some(a) = find_app(&guard, &app).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
        );
    };
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let string_or_absent = |k: &str| params.get(k).is_none_or(Value::is_string);
    let valid = if a.fir {
        let sdk = headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("version=3.sdk"));
        sdk && params.as_object().is_some_and(|o| {
            o.keys()
                .all(|k| matches!(k.as_str(), "source" | "dyno" | "type"))
        }) && ["source", "dyno", "type"]
            .iter()
            .all(|k| string_or_absent(k))
    } else {
        params.is_object()
            && params.get("tail").is_none_or(Value::is_boolean)
            && string_or_absent("dyno_name")
            && string_or_absent("source")
    };
    if !valid {
        let message = if a.fir {
            "Invalid params: a Fir app's log session takes source, dyno and type (Accept: application/vnd.heroku+json; version=3.sdk)."
        } else {
            "Invalid params: expected an object with source, dyno_name, lines, tail."
        };
        return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_params", message);
    }
    guard.serial += 1;
    let id = uuid_like(guard.serial);
    let url = match &guard.logplex_url {
        Some(url) => url.clone(),
        None => guard
            .logplex
            .as_ref()
            .map(|l| l.session_url(&a.name, &id))
            .unwrap_or_default(),
    };
    let now = now_iso();
    (
        StatusCode::CREATED,
        axum::Json(json!({ "created_at": now, "id": id, "logplex_url": url, "updated_at": now })),
    )
        .into_response()
}
