//! The workspace as Cargo sees it: its functions and what each one is built from.

use anyhow::{Context, Result};
use guppy::graph::{DependencyDirection, PackageGraph, PackageMetadata};
use guppy::MetadataCommand;
use std::collections::BTreeSet;
use std::path::Path;

/// Folders outside any package that a package embeds or generates code from; Cargo does
/// not know these edges, so they are told to the determinator and to the version tool.
/// Only the packages that exist in the workspace are used.
pub const EMBEDDED: &[(&str, &str)] = &[
    // shared/src/storage/migrations.rs include_str!s every migration.
    ("migrations/**", "careforall"),
    // The relay's cron world, and the host's bindings for it.
    ("wit/**", "outbox-relay"),
    ("wit/**", "spin-host"),
];

pub fn graph(dir: &Path) -> Result<PackageGraph> {
    MetadataCommand::new()
        .current_dir(dir)
        .build_graph()
        .with_context(|| format!("cargo metadata in {}", dir.display()))
}

/// The workspace packages under `functions/`: one Spin component each.
pub fn functions(graph: &PackageGraph) -> Vec<PackageMetadata<'_>> {
    let mut functions: Vec<_> = graph
        .workspace()
        .iter()
        .filter(|p| workspace_dir(p).starts_with("functions/"))
        .collect();
    functions.sort_by_key(|p| p.name());
    functions
}

/// A workspace package's folder relative to the workspace root.
pub fn workspace_dir(package: &PackageMetadata<'_>) -> String {
    package
        .source()
        .workspace_path()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

/// The workspace packages `package` is built from (itself included; normal and build
/// dependencies, not dev-dependencies).
pub fn built_from<'g>(
    graph: &'g PackageGraph,
    package: &PackageMetadata<'g>,
) -> Result<Vec<PackageMetadata<'g>>> {
    let set = graph
        .query_forward([package.id()])?
        .resolve_with_fn(|_, link| link.normal().is_present() || link.build().is_present());
    Ok(set
        .packages(DependencyDirection::Forward)
        .filter(|p| p.in_workspace())
        .collect())
}

/// The paths a change to which changes what `package` is built from: the folders of the
/// workspace packages it is built from and what they embed.
pub fn source_globs(graph: &PackageGraph, package: &PackageMetadata<'_>) -> Result<Vec<String>> {
    let mut globs = BTreeSet::new();
    for p in built_from(graph, package)? {
        globs.insert(format!("{}/**", workspace_dir(&p)));
        for (glob, embedder) in EMBEDDED {
            if *embedder == p.name() {
                globs.insert(glob.to_string());
            }
        }
    }
    Ok(globs.into_iter().collect())
}

/// Whether the workspace has a package of this name.
pub fn has_package(graph: &PackageGraph, name: &str) -> bool {
    graph.workspace().iter().any(|p| p.name() == name)
}
