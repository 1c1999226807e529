//! Exports Spin's cron world directly (no cron SDK crate is published) and counts each
//! run in the default key-value store, where the probe component can read it.

wit_bindgen::generate!({
    world: "spin-cron",
    path: "../../../wit/spin-cron.wit",
});

use spin_sdk::key_value::Store;

struct CronProbe;

impl Guest for CronProbe {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let store = Store::open_default().map_err(|e| Error::Other(format!("{e:?}")))?;
        let runs = store
            .get("cron-runs")
            .map_err(|e| Error::Other(format!("{e:?}")))?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        store
            .set("cron-runs", (runs + 1).to_string().as_bytes())
            .and_then(|()| {
                store.set(
                    "cron-last-timestamp",
                    metadata.timestamp.to_string().as_bytes(),
                )
            })
            .map_err(|e| Error::Other(format!("{e:?}")))
    }
}

export!(CronProbe);
