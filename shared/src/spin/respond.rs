//! Answering through the response outparam, for handlers with work left after the client
//! has its answer (Spin keeps the instance until the handler returns).

use super::{open_for_request, relay_after_response, Access};
use crate::storage::SqlExecutor;
use spin_sdk::http::{IntoResponse, OutgoingResponse, Response, ResponseOutparam};

/// Sends `answer` (an error as the SDK's plain 500) and ends its body, so the client
/// holds the whole response when this returns.
pub async fn respond(out: ResponseOutparam, answer: anyhow::Result<Response>) {
    let mut response = answer.into_response();
    let body = std::mem::take(response.body_mut());
    match OutgoingResponse::try_from(response) {
        Ok(head) => {
            if let Err(e) = out.set_with_body(head, body).await {
                eprintln!("sending the response body: {e}");
            }
        }
        Err(e) => eprintln!("building the response: {e:#}"),
    }
}

/// A writing handler's whole life: answers with `answer` over the configured database,
/// then, on the same connection, relays after the response when configured.
pub async fn answer_then_relay(
    out: ResponseOutparam,
    answer: impl FnOnce(&dyn SqlExecutor) -> anyhow::Result<Response>,
) {
    let db = match open_for_request(Access::Write) {
        Ok(db) => db,
        Err(refused) => return respond(out, Ok(refused)).await,
    };
    respond(out, answer(db.as_ref())).await;
    relay_after_response(db.as_ref());
}
