//! HTTP calls the donation tests make against an [`App`], as a donor, an admin or the
//! provider would.

use super::{App, ADMIN_TOKEN, PROVIDER_API_KEY, WEBHOOK_SECRET};
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// A status, the headers that matter, and the body as JSON (or `Null`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub raw: String,
}

impl Answer {
    async fn read(resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let raw = resp.text().await.unwrap_or_default();
        Answer {
            status,
            content_type,
            body: serde_json::from_str(&raw).unwrap_or(Value::Null),
            raw,
        }
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.raw
        );
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.raw
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            self.raw
        );
    }
}

impl App {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut req = Client::new().request(method, self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        match req.send().await {
            Ok(resp) => Answer::read(resp).await,
            Err(e) => Answer {
                status: 0,
                content_type: String::new(),
                body: Value::Null,
                raw: e.to_string(),
            },
        }
    }

    /// `GET` with `Authorization: Bearer <token>`.
    pub async fn get_as(&self, path: &str, token: &str) -> Answer {
        let auth = format!("Bearer {token}");
        self.call(Method::GET, path, &[("authorization", &auth)], None)
            .await
    }

    pub async fn admin_get(&self, path: &str) -> Answer {
        self.get_as(path, ADMIN_TOKEN).await
    }

    /// Creates an ACTIVE campaign in `currency`; returns its id.
    pub async fn campaign(&self, currency: &str) -> String {
        self.campaign_with_goal(currency, 1_000_000).await
    }

    /// Creates an ACTIVE campaign in `currency` with this goal; returns its id.
    pub async fn campaign_with_goal(&self, currency: &str, goal_minor: u64) -> String {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let body = json!({ "title": "Clean water", "description": "Wells", "goal_minor": goal_minor, "currency": currency });
        let answer = self
            .call(
                Method::POST,
                "/api/v1/campaigns",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.raw);
        answer.body["id"].as_str().unwrap().to_string()
    }

    /// `POST /api/v1/pledges` with this key (if any) and a JSON body.
    pub async fn pledge(&self, key: Option<&str>, body: &Value) -> Answer {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(k) = key {
            headers.push(("idempotency-key", k));
        }
        self.call(
            Method::POST,
            "/api/v1/pledges",
            &headers,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// `POST /api/v1/pledges/{pledge}/refund` as the admin, with this key and body.
    pub async fn refund(&self, pledge: &str, key: &str, body: &Value) -> Answer {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.call(
            Method::POST,
            &format!("/api/v1/pledges/{pledge}/refund"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("idempotency-key", key),
            ],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// A campaign's totals (`GET /api/v1/campaigns/{id}/totals`), which must answer 200.
    pub async fn totals(&self, campaign: &str) -> Value {
        let answer = self
            .call(
                Method::GET,
                &format!("/api/v1/campaigns/{campaign}/totals"),
                &[],
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.raw);
        answer.body
    }

    /// Every pledge, as the admin sees them (newest first).
    pub async fn all_pledges(&self) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = "/api/v1/donors/me/pledges?limit=100".to_string();
        loop {
            let page = self.admin_get(&path).await;
            assert_eq!(page.status, 200, "{}", page.raw);
            items.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/donors/me/pledges?limit=100&cursor={c}"),
                None => return items,
            }
        }
    }

    /// A provider API call as the app (or the donor's browser) makes it: form-encoded,
    /// with the simulator's API key. Answers the status and the JSON body.
    pub async fn provider_post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = Client::new()
            .post(format!("{}{path}", self.sim_url))
            .bearer_auth(PROVIDER_API_KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Delivers `event` to the app's webhook, signed now with the simulator's secret, as
    /// the provider would (a late or replayed event a test wants in a given order).
    pub async fn deliver_webhook(&self, event: &Value) -> Answer {
        let body = event.to_string();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let signature = careforall::payments::signature::sign(
            &[WEBHOOK_SECRET.as_bytes()],
            now,
            body.as_bytes(),
        );
        self.call(
            Method::POST,
            "/api/v1/payments/webhook",
            &[
                ("content-type", "application/json"),
                ("stripe-signature", &signature),
            ],
            Some(body.into_bytes()),
        )
        .await
    }

    /// A pledge as the admin sees it (`GET /api/v1/pledges/{id}`): the pledge and its
    /// status history.
    pub async fn admin_pledge(&self, id: &str) -> Value {
        let answer = self.admin_get(&format!("/api/v1/pledges/{id}")).await;
        assert_eq!(answer.status, 200, "{}", answer.raw);
        answer.body
    }

    /// One number from the database, e.g. a `COUNT(*)`.
    pub async fn count(&self, sql: &str) -> i64 {
        self.query(sql).await.unwrap()[0][0]
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap()
    }
}

/// A valid pledge body for `campaign`.
pub fn pledge_body(campaign: &str, amount_minor: u64, email: &str) -> Value {
    json!({
        "campaign_id": campaign,
        "amount_minor": amount_minor,
        "currency": "USD",
        "donor": { "email": email, "name": "Ada Donor" }
    })
}
