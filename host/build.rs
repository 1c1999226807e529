//! Generates the host bindings from the WIT that ships inside the pinned `spin-sdk` crate,
//! so host and guests can never disagree about an interface.

use std::{env, fs, path::PathBuf, process::Command};

fn main() {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let workspace_manifest = manifest_dir.join("../Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(&workspace_manifest)
        .output()
        .expect("run `cargo metadata` to locate spin-sdk");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("parse cargo metadata output");
    let sdk_manifest = metadata["packages"]
        .as_array()
        .expect("packages in cargo metadata")
        .iter()
        .find(|p| p["name"] == "spin-sdk")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("spin-sdk is a dependency of the workspace (functions/*)");
    let wit_dir = PathBuf::from(sdk_manifest).parent().unwrap().join("wit");
    assert!(
        wit_dir.is_dir(),
        "spin-sdk has no wit/ folder at {}",
        wit_dir.display()
    );

    let cron_wit = manifest_dir
        .join("../wit/spin-cron.wit")
        .canonicalize()
        .unwrap();
    let generated = format!(
        r#"
/// Bindings for the Spin platform interfaces the project's components may import.
pub mod spin {{
    wasmtime::component::bindgen!({{
        path: {wit:?},
        inline: "
            package careforall:host;
            world spin-imports {{
                import fermyon:spin/sqlite@2.0.0;
                import fermyon:spin/key-value@2.0.0;
                import fermyon:spin/variables@2.0.0;
                import spin:postgres/postgres@4.0.0;
            }}
        ",
        world: "careforall:host/spin-imports",
        imports: {{ default: async | trappable }},
        with: {{
            "fermyon:spin/sqlite.connection": crate::factors::sqlite::SqliteConnection,
            "fermyon:spin/key-value.store": crate::factors::key_value::KvStore,
            "spin:postgres/postgres.connection": crate::factors::postgres::PgConnection,
        }},
    }});
}}

/// Bindings for Spin's cron trigger world.
pub mod cron {{
    wasmtime::component::bindgen!({{
        path: {cron:?},
        world: "fermyon:spin-cron/spin-cron",
        exports: {{ default: async }},
    }});
}}
"#,
        wit = wit_dir.display().to_string(),
        cron = cron_wit.display().to_string(),
    );
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    fs::write(out, generated).unwrap();
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-changed=../wit/spin-cron.wit");
    println!("cargo:rerun-if-changed=build.rs");
}
