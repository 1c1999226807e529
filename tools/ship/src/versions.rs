//! Each function's next version, from the conventional commits that touched what it is
//! built from since its last tag (`git-cliff --bumped-version`, configured by
//! `cliff.toml`): `fix:` a patch, `feat:` a minor, `!` or `BREAKING CHANGE` a major
//! version. A function without a tag yet is released at its `Cargo.toml` version. The
//! app's version (`spin.toml`) moves by the largest step among its functions.

use crate::git;
use crate::workspace;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    None,
    /// No tag yet: the first release, at the version the manifest has.
    Initial,
    Patch,
    Minor,
    Major,
}

#[derive(Debug, Serialize)]
pub struct Release {
    pub name: String,
    /// The last released version, or the manifest's before the first release.
    pub current: String,
    pub next: String,
    pub bump: Bump,
    /// The tag this release gets (none when nothing changed).
    pub tag: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub functions: Vec<Release>,
    pub app: Release,
    pub applied: bool,
}

pub const APP_TAG_PREFIX: &str = "careforall";

pub fn plan(repo: &Path, apply: bool) -> Result<Plan> {
    let graph = workspace::graph(repo)?;
    let mut functions = Vec::new();
    for function in workspace::functions(&graph) {
        let name = function.name().to_string();
        let globs = workspace::source_globs(&graph, &function)?;
        let manifest_version = function.version().to_string();
        functions.push(match git::tags(repo, &format!("{name}-v*"))?.first() {
            None => release(&name, &manifest_version, &manifest_version, Bump::Initial),
            Some(tag) => {
                let current = tag.trim_start_matches(&format!("{name}-v")).to_string();
                let next = bumped_version(repo, &name, &globs)?;
                let bump = step(&current, &next)?;
                release(&name, &current, &next, bump)
            }
        });
    }
    let app = app_release(repo, &functions)?;
    if apply {
        apply_plan(repo, &graph, &functions, &app)?;
    }
    Ok(Plan {
        functions,
        app,
        applied: apply,
    })
}

fn release(name: &str, current: &str, next: &str, bump: Bump) -> Release {
    Release {
        name: name.to_string(),
        current: current.to_string(),
        next: next.to_string(),
        bump,
        tag: (bump != Bump::None).then(|| format!("{name}-v{next}")),
    }
}

fn app_release(repo: &Path, functions: &[Release]) -> Result<Release> {
    let manifest_version = spin_manifest_version(repo)?;
    let largest = functions.iter().map(|f| f.bump).max().unwrap_or(Bump::None);
    Ok(
        match git::tags(repo, &format!("{APP_TAG_PREFIX}-v*"))?.first() {
            None => release(
                APP_TAG_PREFIX,
                &manifest_version,
                &manifest_version,
                Bump::Initial,
            ),
            Some(tag) => {
                let current = tag
                    .trim_start_matches(&format!("{APP_TAG_PREFIX}-v"))
                    .to_string();
                let next = match largest {
                    Bump::None | Bump::Initial => current.clone(),
                    step => bump(&current, step)?,
                };
                let step = if next == current { Bump::None } else { largest };
                release(APP_TAG_PREFIX, &current, &next, step)
            }
        },
    )
}

/// git-cliff (`GIT_CLIFF`, or on PATH) over `<name>`'s tags and the commits that
/// touched `globs`.
fn cliff(repo: &Path, name: &str, globs: &[String]) -> Command {
    let mut cliff = Command::new(std::env::var("GIT_CLIFF").unwrap_or_else(|_| "git-cliff".into()));
    cliff
        .current_dir(repo)
        .arg("--config")
        .arg(repo.join("cliff.toml"))
        .args(["--tag-pattern", &format!("^{name}-v[0-9]")]);
    for glob in globs {
        cliff.args(["--include-path", glob]);
    }
    cliff
}

/// `git-cliff --bumped-version` over the commits since `<name>-v*` that touched `globs`.
fn bumped_version(repo: &Path, name: &str, globs: &[String]) -> Result<String> {
    let out = cliff(repo, name, globs)
        .arg("--bumped-version")
        .output()
        .context("running git-cliff (pip install git-cliff, or set GIT_CLIFF)")?;
    if !out.status.success() {
        bail!(
            "git-cliff for {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tag = String::from_utf8(out.stdout)?.trim().to_string();
    Ok(tag.trim_start_matches(&format!("{name}-v")).to_string())
}

fn parse(version: &str) -> Result<(u64, u64, u64)> {
    let parts: Vec<u64> = version
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("version {version:?} is not X.Y.Z"))?;
    match parts[..] {
        [major, minor, patch] => Ok((major, minor, patch)),
        _ => bail!("version {version:?} is not X.Y.Z"),
    }
}

fn step(current: &str, next: &str) -> Result<Bump> {
    let (a, b) = (parse(current)?, parse(next)?);
    Ok(if b.0 > a.0 {
        Bump::Major
    } else if b.1 > a.1 {
        Bump::Minor
    } else if b.2 > a.2 {
        Bump::Patch
    } else {
        Bump::None
    })
}

fn bump(version: &str, step: Bump) -> Result<String> {
    let (major, minor, patch) = parse(version)?;
    Ok(match step {
        Bump::Major => format!("{}.0.0", major + 1),
        Bump::Minor => format!("{major}.{}.0", minor + 1),
        Bump::Patch => format!("{major}.{minor}.{}", patch + 1),
        Bump::None | Bump::Initial => version.to_string(),
    })
}

fn spin_manifest_version(repo: &Path) -> Result<String> {
    let text = std::fs::read_to_string(repo.join("spin.toml")).context("reading spin.toml")?;
    let manifest: toml::Value = toml::from_str(&text)?;
    manifest["application"]["version"]
        .as_str()
        .map(str::to_string)
        .context("spin.toml has no [application] version")
}

/// Writes the new versions and changelogs, commits them, and tags the release commit.
fn apply_plan(
    repo: &Path,
    graph: &guppy::graph::PackageGraph,
    functions: &[Release],
    app: &Release,
) -> Result<()> {
    let released: Vec<&Release> = functions.iter().filter(|f| f.tag.is_some()).collect();
    if released.is_empty() && app.tag.is_none() {
        return Ok(());
    }
    for f in &released {
        let package = workspace::functions(graph)
            .into_iter()
            .find(|p| p.name() == f.name)
            .expect("a planned function is in the workspace");
        let dir = repo.join(workspace::workspace_dir(&package));
        set_package_version(&dir.join("Cargo.toml"), &f.next)?;
        let globs = workspace::source_globs(graph, &package)?;
        let tag = f.tag.as_deref().expect("a released function has a tag");
        write_changelog(repo, &f.name, tag, &globs, &dir.join("CHANGELOG.md"))?;
    }
    if app.tag.is_some() {
        let path = repo.join("spin.toml");
        let text = std::fs::read_to_string(&path)?;
        let old = format!("version = \"{}\"", app.current);
        let new = format!("version = \"{}\"", app.next);
        std::fs::write(&path, text.replacen(&old, &new, 1))?;
    }
    if repo.join("Cargo.lock").exists() {
        let status = Command::new("cargo")
            .args(["update", "--workspace", "--offline"])
            .current_dir(repo)
            .status()?;
        if !status.success() {
            bail!("cargo update --workspace failed");
        }
    }
    git::git(repo, &["add", "-A", "--", "."])?;
    let mut releases: Vec<&Release> = released.clone();
    if app.tag.is_some() {
        releases.push(app);
    }
    let names: Vec<String> = releases
        .iter()
        .map(|r| format!("{} {}", r.name, r.next))
        .collect();
    git::git(
        repo,
        &[
            "commit",
            "--allow-empty",
            "-m",
            &format!("chore(release): {}", names.join(", ")),
        ],
    )?;
    for tag in releases.iter().filter_map(|r| r.tag.as_ref()) {
        git::git(repo, &["tag", tag])?;
    }
    Ok(())
}

fn set_package_version(manifest: &Path, version: &str) -> Result<()> {
    let text = std::fs::read_to_string(manifest)?;
    let doc: toml::Table = toml::from_str(&text)?;
    let old = doc["package"]["version"]
        .as_str()
        .context("no [package] version")?;
    // Only the version line changes; the rest of the file stays as written.
    let updated = text.replacen(
        &format!("version = \"{old}\""),
        &format!("version = \"{version}\""),
        1,
    );
    std::fs::write(manifest, updated)?;
    Ok(())
}

fn write_changelog(repo: &Path, name: &str, tag: &str, globs: &[String], out: &Path) -> Result<()> {
    let status = cliff(repo, name, globs)
        .args(["--tag", tag, "--output"])
        .arg(out)
        .status()
        .context("running git-cliff")?;
    if !status.success() {
        bail!("git-cliff could not write {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_from_the_versions() {
        assert_eq!(step("0.1.0", "0.1.1").unwrap(), Bump::Patch);
        assert_eq!(step("0.1.1", "0.2.0").unwrap(), Bump::Minor);
        assert_eq!(step("0.2.0", "1.0.0").unwrap(), Bump::Major);
        assert_eq!(step("1.0.0", "1.0.0").unwrap(), Bump::None);
        assert_eq!(bump("0.1.9", Bump::Minor).unwrap(), "0.2.0");
        assert_eq!(bump("0.1.9", Bump::Major).unwrap(), "1.0.0");
        assert!(parse("1.2").is_err());
    }
}
