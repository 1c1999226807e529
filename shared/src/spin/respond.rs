//! Answering through the response outparam, for handlers with work left after the client
//! has its answer (Spin keeps the instance until the handler returns).

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
