//! `ship`: delivering each function on its own.
//!
//! - `ship affected --base <rev>`: the functions (and crates) a change since `<rev>`
//!   affects, from the workspace's dependency graph before and after (`determinator`).
//! - `ship versions [--apply]`: each function's next semantic version from the
//!   conventional commits that touched it (`git-cliff`), and with `--apply` the bumped
//!   `Cargo.toml` versions, changelogs, the app's version in `spin.toml`, a release
//!   commit and tags `<function>-vX.Y.Z` and `careforall-vX.Y.Z`.

mod affected;
mod git;
mod versions;
mod workspace;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Per-function change detection and versions")]
struct Cli {
    /// The repository (a Cargo workspace with functions/*); default: the current directory.
    #[arg(long, global = true, default_value = ".")]
    repo: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Which functions and crates a change affects (JSON on stdout).
    Affected {
        /// The base revision (a PR's target, or the previous main commit).
        #[arg(long)]
        base: String,
    },
    /// Each function's current and next version (JSON on stdout).
    Versions {
        /// Write the versions and changelogs, commit them and tag the release.
        #[arg(long)]
        apply: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let repo = cli.repo.canonicalize()?;
    let report = match cli.command {
        Command::Affected { base } => serde_json::to_value(affected::affected(&repo, &base)?)?,
        Command::Versions { apply } => serde_json::to_value(versions::plan(&repo, apply)?)?,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
