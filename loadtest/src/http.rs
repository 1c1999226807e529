//! Plain HTTP for what is not measured: making the run's data before the attack and
//! checking the books after it.

use anyhow::{bail, Context};
use reqwest::{Client, Method};
use serde_json::Value;

#[derive(Clone)]
pub struct Http {
    client: Client,
}

impl Http {
    pub fn new() -> Self {
        Http {
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Sends a request and returns the JSON body of a 2xx answer, or an error naming the
    /// request, the status and the body.
    pub async fn json(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method.clone(), url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} {url} answered {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {url}: body is not JSON"))
    }

    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Value> {
        self.json(Method::GET, url, headers, None).await
    }

    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> anyhow::Result<Value> {
        self.json(Method::POST, url, headers, Some(body.to_string()))
            .await
    }

    /// POSTs `body` exactly as given (a signature covers its bytes).
    pub async fn post_raw(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> anyhow::Result<Value> {
        self.json(Method::POST, url, headers, Some(body)).await
    }
}
