//! The few git commands `ship` needs.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Runs `git <args>` in `repo` and returns its stdout.
pub fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Paths changed between the merge base of `base` and HEAD, and HEAD (tracked files only).
pub fn changed_paths(repo: &Path, base: &str) -> Result<Vec<String>> {
    let out = git(
        repo,
        &["diff", "--name-only", "-z", &format!("{base}...HEAD")],
    )?;
    Ok(out
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

/// The tags matching `pattern` (a glob), newest version first.
pub fn tags(repo: &Path, pattern: &str) -> Result<Vec<String>> {
    let out = git(repo, &["tag", "--list", pattern, "--sort=-v:refname"])?;
    Ok(out.lines().map(str::to_string).collect())
}
