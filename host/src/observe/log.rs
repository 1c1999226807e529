//! Structured JSON log lines on stdout, one object per line.

use std::io::Write;

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn emit(level: &str, msg: &str, fields: serde_json::Map<String, serde_json::Value>) {
    let mut line = serde_json::Map::new();
    line.insert("ts".into(), now_rfc3339().into());
    line.insert("level".into(), level.into());
    line.insert("msg".into(), msg.into());
    line.extend(fields);
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &line);
    let _ = out.write_all(b"\n");
}

fn fields(pairs: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect()
}

pub fn info(msg: &str, pairs: &[(&str, &str)]) {
    emit("info", msg, fields(pairs));
}

pub fn warn(msg: &str, pairs: &[(&str, &str)]) {
    emit("warn", msg, fields(pairs));
}

pub fn error(msg: &str, pairs: &[(&str, &str)]) {
    emit("error", msg, fields(pairs));
}

/// The per-request line.
pub struct RequestLog<'a> {
    pub component: &'a str,
    pub route: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub trace_id: &'a str,
    pub span_id: &'a str,
    /// Where the route or the answer names one.
    pub pledge_id: Option<&'a str>,
}

pub fn request(r: &RequestLog<'_>) {
    let mut f = fields(&[
        ("component", r.component),
        ("route", r.route),
        ("method", r.method),
        ("path", r.path),
        ("trace_id", r.trace_id),
        ("span_id", r.span_id),
    ]);
    if let Some(pledge) = r.pledge_id {
        f.insert("pledge_id".into(), pledge.into());
    }
    f.insert("status".into(), r.status.into());
    f.insert(
        "duration_ms".into(),
        ((r.duration_ms * 1000.0).round() / 1000.0).into(),
    );
    emit("info", "request", f);
}
