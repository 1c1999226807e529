//! A throwaway repository shaped like this one (shared/, host/, functions/*, tests/,
//! migrations/, docs), a history of conventional commits touching one function, the
//! shared crate, docs only, a migration, the host and one breaking change; `ship` must
//! select exactly the functions each change affects and bump and tag exactly as the
//! commits say. Needs git-cliff (`scripts/test` installs it; or set GIT_CLIFF).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn git_cliff() -> PathBuf {
    let path = std::env::var_os("GIT_CLIFF")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/ship-venv/bin/git-cliff")
        });
    assert!(
        path.exists(),
        "git-cliff not found at {} (scripts/test installs it; or set GIT_CLIFF)",
        path.display()
    );
    path
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(dir: &Path, path: &str, text: &str) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commit(dir: &Path, message: &str, files: &[(&str, &str)]) -> String {
    for (path, text) in files {
        write(dir, path, text);
    }
    run(dir, "git", &["add", "-A"]);
    run(dir, "git", &["commit", "-q", "-m", message]);
    run(dir, "git", &["rev-parse", "HEAD"]).trim().to_string()
}

fn ship(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ship"))
        .arg("--repo")
        .arg(dir)
        .args(args)
        .env("GIT_CLIFF", git_cliff())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ship {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn affected(dir: &Path, base: &str) -> (Vec<String>, bool) {
    let report = ship(dir, &["affected", "--base", base]);
    (
        names(&report["functions"])
            .iter()
            .map(|s| s.to_string())
            .collect(),
        report["end_to_end"].as_bool().unwrap(),
    )
}

fn package(name: &str, deps: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"
    )
}

fn workspace(dir: &Path) {
    let shared = "careforall = { path = \"../../shared\" }\n";
    for (path, text) in [
        (
            "Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\"shared\", \"host\", \"functions/*\", \"tests\"]\n".to_string(),
        ),
        ("shared/Cargo.toml", package("careforall", "")),
        ("shared/src/lib.rs", "pub fn shared() {}\n".into()),
        ("host/Cargo.toml", package("spin-host", "")),
        ("host/src/main.rs", "fn main() {}\n".into()),
        ("functions/alpha/Cargo.toml", package("alpha", shared)),
        ("functions/alpha/src/lib.rs", "pub fn alpha() {}\n".into()),
        ("functions/beta/Cargo.toml", package("beta", shared)),
        ("functions/beta/src/lib.rs", "pub fn beta() {}\n".into()),
        ("functions/gamma/Cargo.toml", package("gamma", "")),
        ("functions/gamma/src/lib.rs", "pub fn gamma() {}\n".into()),
        (
            "tests/Cargo.toml",
            package("careforall-tests", "careforall = { path = \"../shared\" }\n"),
        ),
        ("tests/lib.rs", "\n".into()),
        ("migrations/sqlite/0001.sql", "CREATE TABLE a (id TEXT);\n".into()),
        (
            "spin.toml",
            "spin_manifest_version = 2\n\n[application]\nname = \"careforall\"\nversion = \"0.1.0\"\n".into(),
        ),
        ("README.md", "# A throwaway copy\n".into()),
        ("docs/guide.md", "How it works.\n".into()),
    ] {
        write(dir, path, &text);
    }
    write(
        dir,
        "tests/Cargo.toml",
        &(package(
            "careforall-tests",
            "careforall = { path = \"../shared\" }\n",
        ) + "\n[lib]\npath = \"lib.rs\"\n"),
    );
    let cliff = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cliff.toml");
    std::fs::copy(cliff, dir.join("cliff.toml")).unwrap();
    run(dir, "cargo", &["generate-lockfile", "--offline"]);
}

fn release(plan: &Value, name: &str) -> (String, String, String) {
    let entry = plan["functions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&plan["app"]))
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {plan}"));
    (
        entry["current"].as_str().unwrap().to_string(),
        entry["next"].as_str().unwrap().to_string(),
        entry["bump"].as_str().unwrap().to_string(),
    )
}

#[test]
fn change_detection_and_versions_follow_the_dependency_graph_and_the_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(dir, "git", &["init", "-q", "-b", "main"]);
    run(dir, "git", &["config", "user.email", "ci@example.org"]);
    run(dir, "git", &["config", "user.name", "CI"]);
    workspace(dir);
    commit(dir, "chore: the workspace", &[]);

    // The first release tags every function at its manifest's version.
    let first = ship(dir, &["versions", "--apply"]);
    assert_eq!(release(&first, "alpha").2, "initial");
    let tags = run(dir, "git", &["tag", "--list"]);
    for tag in [
        "alpha-v0.1.0",
        "beta-v0.1.0",
        "gamma-v0.1.0",
        "careforall-v0.1.0",
    ] {
        assert!(tags.lines().any(|t| t == tag), "{tag} in {tags}");
    }
    let released = run(dir, "git", &["rev-parse", "HEAD"]).trim().to_string();

    let base = released.clone();
    let after_fix = commit(
        dir,
        "fix(gamma): round half up",
        &[(
            "functions/gamma/src/lib.rs",
            "pub fn gamma() { let _ = 1; }\n",
        )],
    );
    assert_eq!(affected(dir, &base), (vec!["gamma".into()], true));

    let after_shared = commit(
        dir,
        "feat(shared): a money type",
        &[(
            "shared/src/lib.rs",
            "pub fn shared() {}\npub struct Money;\n",
        )],
    );
    assert_eq!(
        affected(dir, &after_fix),
        (vec!["alpha".into(), "beta".into()], true)
    );

    let after_docs = commit(
        dir,
        "docs: explain the totals",
        &[
            ("README.md", "# A throwaway copy\n\nMore.\n"),
            ("docs/guide.md", "How it works, better.\n"),
        ],
    );
    assert_eq!(affected(dir, &after_shared), (vec![], false));

    let after_breaking = commit(
        dir,
        "feat(alpha)!: pledges need a currency",
        &[(
            "functions/alpha/src/lib.rs",
            "pub fn alpha(_currency: &str) {}\n",
        )],
    );
    assert_eq!(affected(dir, &after_docs), (vec!["alpha".into()], true));

    let after_migration = commit(
        dir,
        "fix(db): index the pledges",
        &[(
            "migrations/sqlite/0002.sql",
            "CREATE INDEX a_id ON a (id);\n",
        )],
    );
    assert_eq!(
        affected(dir, &after_breaking),
        (vec!["alpha".into(), "beta".into()], true)
    );

    commit(
        dir,
        "refactor(host): one deadline",
        &[("host/src/main.rs", "fn main() { let _deadline = 1; }\n")],
    );
    assert_eq!(
        affected(dir, &after_migration),
        (vec!["alpha".into(), "beta".into(), "gamma".into()], true)
    );
    assert_eq!(
        affected(dir, &base).0,
        vec!["alpha".to_string(), "beta".into(), "gamma".into()]
    );

    // The versions: what each function's own commits say; the host's refactor bumps
    // nothing (not a function's source, and not a fix or a feature).
    let plan = ship(dir, &["versions"]);
    assert_eq!(
        release(&plan, "alpha"),
        ("0.1.0".into(), "1.0.0".into(), "major".into())
    );
    assert_eq!(
        release(&plan, "beta"),
        ("0.1.0".into(), "0.2.0".into(), "minor".into())
    );
    assert_eq!(
        release(&plan, "gamma"),
        ("0.1.0".into(), "0.1.1".into(), "patch".into())
    );
    assert_eq!(
        release(&plan, "careforall"),
        ("0.1.0".into(), "1.0.0".into(), "major".into())
    );

    ship(dir, &["versions", "--apply"]);
    let tags = run(dir, "git", &["tag", "--list", "--points-at", "HEAD"]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            "alpha-v1.0.0",
            "beta-v0.2.0",
            "careforall-v1.0.0",
            "gamma-v0.1.1"
        ]
    );
    let manifest = std::fs::read_to_string(dir.join("functions/beta/Cargo.toml")).unwrap();
    assert!(manifest.contains("version = \"0.2.0\""), "{manifest}");
    let spin = std::fs::read_to_string(dir.join("spin.toml")).unwrap();
    assert!(spin.contains("version = \"1.0.0\""), "{spin}");
    let changelog = std::fs::read_to_string(dir.join("functions/alpha/CHANGELOG.md")).unwrap();
    assert!(changelog.contains("## alpha-v1.0.0"), "{changelog}");
    assert!(changelog.contains("Pledges need a currency"), "{changelog}");
    assert!(changelog.contains("A money type"), "{changelog}");
    assert!(!changelog.contains("explain the totals"), "{changelog}");
    let gamma = std::fs::read_to_string(dir.join("functions/gamma/CHANGELOG.md")).unwrap();
    assert!(
        gamma.contains("Round half up") && !gamma.contains("money"),
        "{gamma}"
    );

    // Nothing new since the release: nothing to bump.
    let again = ship(dir, &["versions"]);
    for name in ["alpha", "beta", "gamma", "careforall"] {
        assert_eq!(release(&again, name).2, "none", "{name}: {again}");
    }
}
