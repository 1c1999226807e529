//! The figures per request kind, from Goose's metrics: count, rate, p50/p95/p99, errors.

use goose::metrics::GooseMetrics;

pub struct Row {
    pub name: String,
    pub count: usize,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

pub fn rows(metrics: &GooseMetrics) -> Vec<Row> {
    let secs = metrics.duration.max(1) as f64;
    let mut rows: Vec<Row> = metrics
        .requests
        .iter()
        .map(|(name, r)| {
            let ms = |q: f32| r.raw_data.percentile_us(q) as f64 / 1000.0;
            let count = r.success_count + r.fail_count;
            Row {
                name: name.clone(),
                count,
                per_sec: count as f64 / secs,
                p50_ms: ms(0.50),
                p95_ms: ms(0.95),
                p99_ms: ms(0.99),
                errors: r.fail_count,
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.count));
    rows
}

pub fn print(scenario: &str, metrics: &GooseMetrics, rows: &[Row]) {
    println!();
    println!(
        "{scenario}: {} users, {} s; per request kind:",
        metrics.maximum_users, metrics.duration
    );
    println!(
        "{:<52} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "request", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    for r in rows {
        println!(
            "{:<52} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>7}",
            r.name, r.count, r.per_sec, r.p50_ms, r.p95_ms, r.p99_ms, r.errors
        );
    }
    let count: usize = rows.iter().map(|r| r.count).sum();
    let errors: usize = rows.iter().map(|r| r.errors).sum();
    println!(
        "{:<52} {:>8} {:>8.1} {:>8} {:>8} {:>8} {:>7}",
        "all",
        count,
        count as f64 / metrics.duration.max(1) as f64,
        "",
        "",
        "",
        errors
    );
}
