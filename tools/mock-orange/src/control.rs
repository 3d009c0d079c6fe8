//! The control API under `/_mock/`: queue and clear faults, read the counters.

use serde_json::{Value, json};

use crate::fault::Fault;
use crate::http::{Request, Response};
use crate::state::Shared;
use crate::token_id;

/// The control API under `/_mock/`.
pub(crate) fn control(shared: &Shared, request: &Request, path: &str) -> Response {
    let method = request.method.as_str();
    match (method, path) {
        ("POST", "/_mock/faults") => {
            let faults = match parse_faults(&request.body) {
                Ok(faults) => faults,
                Err(why) => return control_error(400, &why),
            };
            let mut state = shared.state();
            state.faults.extend(faults);
            Response::json(200, &json!({"queued": state.faults.len()}))
        }
        ("DELETE", "/_mock/faults") => {
            let mut state = shared.state();
            state.faults.clear();
            state.sticky = None;
            Response::json(200, &json!({"queued": 0, "sticky": null}))
        }
        ("GET", "/_mock/faults") => {
            let state = shared.state();
            Response::json(
                200,
                &json!({"queued": state.faults, "sticky": state.sticky}),
            )
        }
        ("PUT", "/_mock/sticky") => {
            let sticky: Option<Fault> = match serde_json::from_slice(&request.body) {
                Ok(sticky) => sticky,
                Err(e) => return control_error(400, &format!("not a fault or null: {e}")),
            };
            if let Some(Err(why)) = sticky.as_ref().map(Fault::validate) {
                return control_error(400, &why);
            }
            let mut state = shared.state();
            state.sticky = sticky;
            Response::json(200, &json!({"sticky": state.sticky}))
        }
        ("GET", "/_mock/sticky") => Response::json(200, &json!({"sticky": shared.state().sticky})),
        ("GET", "/_mock/stats") => {
            let state = shared.state();
            let ids: Vec<String> = state.issued.iter().map(|t| token_id(t)).collect();
            Response::json(
                200,
                &json!({
                    "token_requests": state.token_requests,
                    "issued_tokens": state.issued,
                    "issued_token_ids": ids,
                    "queued_faults": state.faults.len(),
                    "sticky_fault": state.sticky,
                }),
            )
        }
        (_, "/_mock/faults" | "/_mock/sticky" | "/_mock/stats") => {
            control_error(405, &format!("{method} is not supported on {path}"))
        }
        _ => control_error(404, &format!("no control endpoint {path}")),
    }
}

/// A control-API body: one fault, or an array of faults queued in order.
fn parse_faults(body: &[u8]) -> Result<Vec<Fault>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let faults = if value.is_array() {
        serde_json::from_value::<Vec<Fault>>(value)
    } else {
        serde_json::from_value::<Fault>(value).map(|f| vec![f])
    }
    .map_err(|e| format!("not a fault: {e}"))?;
    for fault in &faults {
        fault.validate()?;
    }
    Ok(faults)
}

fn control_error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"error": message}))
}
