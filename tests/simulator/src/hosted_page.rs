//! The provider's hosted payment page, as Stripe's hosted pages are for a browser: the
//! donor's page sends the browser to `GET /pay/{intent}?client_secret=…&return_url=…`,
//! the donor picks a test card and pays, and the page sends the browser back to
//! `return_url` with `payment_intent` and `redirect_status` (`succeeded` or `failed`)
//! added to its query. The intent's `client_secret` is the browser's credential; the
//! webhooks carry the outcome to the app as for any other attempt.

use crate::intents::{pay_again, Attempt, Card};
use crate::state::Simulator;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    client_secret: String,
    return_url: String,
}

#[derive(Deserialize)]
pub struct PayForm {
    client_secret: String,
    return_url: String,
    payment_method: String,
}

/// The test cards the page offers: (payment method, label).
const CARDS: [(&str, &str); 2] = [
    ("pm_card_visa", "Visa ending 4242 (pays)"),
    ("pm_card_chargeDeclined", "Visa ending 0002 (declined)"),
];

pub async fn show(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(return_url) = checked_return_url(&query.return_url) else {
        return bad_link("return_url must be an http(s) URL");
    };
    let books = sim.books.lock().unwrap();
    let Some(intent) = books
        .intents
        .get(&id)
        .filter(|i| i.client_secret == query.client_secret)
    else {
        return bad_link("no payment matches this link");
    };
    if intent.status != "requires_payment_method" && intent.status != "requires_confirmation" {
        let outcome = redirect_status(&intent.status);
        return back_to(&return_url, &id, outcome);
    }
    let amount = display_amount(intent.amount, &intent.currency);
    let declined_before = intent.attempts > 0;
    drop(books);
    Html(form_page(&id, &query, &amount, declined_before)).into_response()
}

pub async fn pay(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let Some(return_url) = checked_return_url(&form.return_url) else {
        return bad_link("return_url must be an http(s) URL");
    };
    let Some(card) = Card::named(&form.payment_method) else {
        return bad_link("choose one of the test cards");
    };
    match pay_again(&sim, &id, card, Some(&form.client_secret)) {
        Ok(Attempt::Paid(_)) => back_to(&return_url, &id, "succeeded"),
        Ok(Attempt::Declined(_)) => back_to(&return_url, &id, "failed"),
        // Paid or cancelled meanwhile (a second tab, a resubmitted form): say how it stands.
        Err(_) => match sim.books.lock().unwrap().intents.get(&id) {
            Some(i) if i.client_secret == form.client_secret => {
                back_to(&return_url, &id, redirect_status(&i.status))
            }
            _ => bad_link("no payment matches this link"),
        },
    }
}

fn redirect_status(intent_status: &str) -> &'static str {
    match intent_status {
        "succeeded" | "requires_capture" | "processing" => "succeeded",
        _ => "failed",
    }
}

fn checked_return_url(raw: &str) -> Option<url::Url> {
    url::Url::parse(raw)
        .ok()
        .filter(|u| u.scheme() == "http" || u.scheme() == "https")
}

/// 303 to `return_url` with Stripe's query parameters; its fragment stays where it was.
fn back_to(return_url: &url::Url, intent: &str, outcome: &str) -> Response {
    let mut target = return_url.clone();
    target
        .query_pairs_mut()
        .append_pair("payment_intent", intent)
        .append_pair("redirect_status", outcome);
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response()
}

fn bad_link(why: &str) -> Response {
    let body = page(
        "Payment link not valid",
        &format!(
            "<h1>This payment link is not valid</h1><p>{}</p>",
            escape(why)
        ),
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

fn display_amount(minor: u64, currency: &str) -> String {
    let code = currency.to_ascii_uppercase();
    match code.as_str() {
        "JPY" | "KRW" => format!("{minor} {code}"),
        _ => format!("{}.{:02} {code}", minor / 100, minor % 100),
    }
}

fn form_page(id: &str, query: &PageQuery, amount: &str, declined_before: bool) -> String {
    let notice = if declined_before {
        r#"<p role="alert" class="notice">The last card was declined. Choose another card.</p>"#
    } else {
        ""
    };
    let cards: String = CARDS
        .iter()
        .enumerate()
        .map(|(i, (method, label))| {
            format!(
                r#"<label><input type="radio" name="payment_method" value="{method}"{}> {label}</label>"#,
                if i == 0 { " checked" } else { "" }
            )
        })
        .collect();
    page(
        "Pay - payment simulator",
        &format!(
            r#"<h1>Pay {amount}</h1>{notice}
<form method="post" action="/pay/{id}">
<input type="hidden" name="client_secret" value="{secret}">
<input type="hidden" name="return_url" value="{return_url}">
<fieldset><legend>Test card</legend>{cards}</fieldset>
<button type="submit">Pay {amount}</button>
</form>
<p class="fine">Payment simulator: no real card is charged.</p>"#,
            id = escape(id),
            secret = escape(&query.client_secret),
            return_url = escape(&query.return_url),
        ),
    )
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
fieldset{{display:grid;gap:.5rem;margin:1rem 0}}button{{font-size:1rem;padding:.6rem 1.2rem}}
.notice{{color:#8a1c1c}}.fine{{color:#555;font-size:.85rem}}</style></head>
<body><main>{body}</main></body></html>"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
