//! Which functions a change affects: the determinator compares the workspace's package
//! graph at the base with today's, matches every changed path to its package (or to the
//! rules below, for paths outside packages) and follows the reverse dependencies. A
//! change to `shared/` therefore reaches every function built from it, one to
//! `Cargo.lock` exactly the packages whose resolved dependencies changed, one to the
//! host every function (they all run on it), and one to docs nothing.

use crate::git;
use crate::workspace::{self, EMBEDDED};
use anyhow::{Context, Result};
use determinator::rules::DeterminatorRules;
use determinator::Determinator;
use guppy::graph::{DependencyDirection, PackageGraph};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Serialize)]
pub struct Affected {
    pub base: String,
    pub changed_paths: Vec<String>,
    /// The functions (`functions/*` crates) to lint, test, build and version.
    pub functions: Vec<String>,
    /// Every workspace crate whose tests must run.
    pub crates: Vec<String>,
    /// Whether the end-to-end tests (`careforall-tests`) must run.
    pub end_to_end: bool,
}

const END_TO_END: &str = "careforall-tests";

pub fn affected(repo: &Path, base: &str) -> Result<Affected> {
    let new = workspace::graph(repo)?;
    let old_tree = BaseTree::check_out(repo, base)?;
    let old = workspace::graph(&old_tree.path())?;
    let changed_paths = git::changed_paths(repo, base)?;
    let rules =
        DeterminatorRules::parse(&rules_toml(&new)).context("the generated determinator rules")?;
    let mut determinator = Determinator::new(&old, &new);
    determinator.set_rules(&rules)?;
    determinator.add_changed_paths(&changed_paths);
    let set = determinator.compute();
    let crates: Vec<String> = set
        .affected_set
        .packages(DependencyDirection::Forward)
        .filter(|p| p.in_workspace())
        .map(|p| p.name().to_string())
        .collect();
    let mut functions: Vec<String> = workspace::functions(&new)
        .iter()
        .map(|f| f.name().to_string())
        .filter(|name| crates.contains(name))
        .collect();
    functions.sort();
    let mut crates = crates;
    crates.sort();
    Ok(Affected {
        base: base.to_string(),
        end_to_end: crates.iter().any(|c| c == END_TO_END),
        changed_paths,
        functions,
        crates,
    })
}

/// The rules for paths outside packages; the package names come from the workspace.
fn rules_toml(graph: &PackageGraph) -> String {
    let functions: Vec<&str> = workspace::functions(graph)
        .iter()
        .map(|f| f.name())
        .collect();
    let existing = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| workspace::has_package(graph, n))
            .map(|n| n.to_string())
            .collect()
    };
    let list = |names: Vec<String>| serde_json::to_string(&names).expect("strings serialize");
    let mut embedded: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (glob, package) in EMBEDDED {
        embedded.entry(glob).or_default().push(package);
    }
    let mut manifest_users = existing(&functions);
    manifest_users.extend(existing(&[END_TO_END]));
    let mut toml = format!(
        r#"
# Documentation changes nothing that is built or run.
[[path-rule]]
globs = ["**/*.md", "docs/**"]
mark-changed = []

# The Spin manifests and local stores configure every function.
[[path-rule]]
globs = ["spin.toml", "spin-cron.toml", "runtime-config.toml"]
mark-changed = {manifest_users}

# The API contract and the deployment manifests are checked by the end-to-end tests.
[[path-rule]]
globs = ["openapi.yaml", "deploy/**"]
mark-changed = {end_to_end}

# How everything is built and tested: the toolchain, the pipeline, the scripts.
[[path-rule]]
globs = ["rust-toolchain.toml", ".ci/**", ".github/**", "scripts/**"]
mark-changed = "all"

# The fuzz targets are their own workspace, run on their own; the version tool's config
# changes no build.
[[path-rule]]
globs = ["fuzz/**", "cliff.toml"]
mark-changed = []

# Every function runs on the host, so its end-to-end tests run again when it changes.
[[package-rule]]
on-affected = ["spin-host"]
mark-changed = {functions_list}

[[package-rule]]
on-affected = {functions_list}
mark-changed = {end_to_end}
"#,
        manifest_users = list(manifest_users.clone()),
        end_to_end = list(existing(&[END_TO_END])),
        functions_list = list(existing(&functions)),
    );
    for (glob, packages) in embedded {
        toml.push_str(&format!(
            "\n[[path-rule]]\nglobs = [{glob:?}]\nmark-changed = {}\n",
            list(existing(&packages))
        ));
    }
    toml
}

/// The base revision checked out beside the repository (a git worktree), removed again
/// when dropped.
struct BaseTree<'r> {
    repo: &'r Path,
    dir: tempfile::TempDir,
}

impl<'r> BaseTree<'r> {
    fn check_out(repo: &'r Path, base: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("base");
        git::git(
            repo,
            &["worktree", "add", "--detach", path.to_str().unwrap(), base],
        )?;
        Ok(BaseTree { repo, dir })
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("base")
    }
}

impl Drop for BaseTree<'_> {
    fn drop(&mut self) {
        let path = self.path();
        let _ = git::git(
            self.repo,
            &["worktree", "remove", "--force", path.to_str().unwrap()],
        );
    }
}
