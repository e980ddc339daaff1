//! `warden keys new`: a fresh Warden key. The key goes to stderr, shown once; the config gets
//! only its hash. With `--config FILE` the entry is written into the file (created if missing)
//! under `keys:` (`admin: keys:` for admin keys), comments and layout kept, and the result is
//! checked to load before it replaces the file; without it, stdout gets only the entry.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::Config;

use crate::ids::{new_key_id, new_warden_key};
use crate::server::auth::hash_key;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key for a principal in a team.
    New(NewKeyArgs),
    /// Create an admin key (approvals API and page) for a named approver or auditor.
    NewAdmin(NewAdminArgs),
}

#[derive(Debug, Args)]
pub struct NewAdminArgs {
    /// The approver's identity, recorded with each decision.
    #[arg(long)]
    name: String,
    /// Roles: approver, auditor, admin (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "approver")]
    roles: Vec<String>,
    /// Groups a policy can name as approvers (`group:<name>`), comma-separated.
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// The public key id (default: a random `key_…`).
    #[arg(long)]
    id: Option<String>,
    /// Write the entry into this config file (created if missing) instead of printing it.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NewKeyArgs {
    /// The team whose policy applies to this key.
    #[arg(long)]
    team: String,
    /// Who holds the key (a person or a service).
    #[arg(long)]
    principal: String,
    /// The public key id (default: a random `key_…`).
    #[arg(long)]
    id: Option<String>,
    /// Write the entry into this config file (created if missing) instead of printing it.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::NewAdmin(args) => {
            anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
            for r in &args.roles {
                anyhow::ensure!(
                    matches!(r.as_str(), "approver" | "auditor" | "admin"),
                    "unknown role '{r}' (approver, auditor, admin)"
                );
            }
            let key = crate::ids::new_admin_key();
            let id = args.id.unwrap_or_else(new_key_id);
            eprintln!(
                "New admin key for {} ({}), shown only this once:\n\n    {key}\n",
                args.name,
                args.roles.join(", ")
            );
            let list = |v: &[String]| v.iter().map(|s| yaml_str(s)).collect::<Vec<_>>().join(", ");
            let entry = format!(
                "{{ id: {}, name: {}, roles: [{}], groups: [{}], sha256: {} }}",
                yaml_str(&id),
                yaml_str(&args.name),
                list(&args.roles),
                list(&args.groups),
                hex::encode(hash_key(&key))
            );
            match &args.config {
                Some(path) => {
                    add_entry(path, &["admin", "keys"], &entry, |c| {
                        c.admin.keys.iter().any(|k| k.id == id)
                    })?;
                    eprintln!(
                        "Added admin key {id} to {} (its hash only).",
                        path.display()
                    );
                }
                None => {
                    eprintln!(
                        "Add the entry below under `admin: keys:` in warden.yaml (it holds only the key's hash),\nor run this again with --config warden.yaml to have it written there:"
                    );
                    println!("    - {entry}");
                }
            }
            Ok(())
        }
        KeysCommand::New(args) => {
            anyhow::ensure!(!args.team.trim().is_empty(), "--team must not be empty");
            anyhow::ensure!(
                !args.principal.trim().is_empty(),
                "--principal must not be empty"
            );
            let key = new_warden_key();
            let id = args.id.unwrap_or_else(new_key_id);
            eprintln!(
                "New Warden key for {} (team {}), shown only this once:\n\n    {key}\n",
                args.principal, args.team
            );
            let entry = format!(
                "{{ id: {}, principal: {}, team: {}, sha256: {} }}",
                yaml_str(&id),
                yaml_str(&args.principal),
                yaml_str(&args.team),
                hex::encode(hash_key(&key))
            );
            match &args.config {
                Some(path) => {
                    add_entry(path, &["keys"], &entry, |c| {
                        c.keys.iter().any(|k| k.id == id)
                    })?;
                    eprintln!(
                        "Added key {id} to {} (its hash only). A running Warden takes it on SIGHUP or restart.",
                        path.display()
                    );
                }
                None => {
                    eprintln!(
                        "Add the entry below under `keys:` in warden.yaml (it holds only the key's hash),\nor run this again with --config warden.yaml to have it written there:"
                    );
                    println!("  - {entry}");
                }
            }
            Ok(())
        }
    }
}

/// A YAML flow scalar: JSON string quoting is valid YAML.
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Writes `entry` as a new item of the list at `path` (`["keys"]`, `["admin", "keys"]`) in the
/// config file, creating the file, the section or the list as needed. The edit is made on the
/// text, so comments and layout stay; the result must load as a config in which `added` finds
/// the new entry, or the file is left as it was. (A YAML library that round-trips comments
/// would do this more generally; none maintained does for serde_yaml's documents, and the edit
/// here is one list item.)
fn add_entry(
    file: &Path,
    path: &[&str],
    entry: &str,
    added: impl Fn(&Config) -> bool,
) -> anyhow::Result<()> {
    let before = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let origin = file.display().to_string();
    if !before.trim().is_empty() {
        Config::from_yaml(&origin, &before, Vec::new())
            .with_context(|| format!("{origin} does not load as it is; fix it first"))?;
    }
    let after = insert_list_item(&before, path, entry).map_err(|why| {
        anyhow::anyhow!(
            "cannot add the entry to {origin}: {why}. Add it by hand under `{}:`:\n  - {entry}",
            path.join(": ")
        )
    })?;
    let config = Config::from_yaml(&origin, &after, Vec::new())
        .with_context(|| format!("adding the entry would break {origin}; it was left as it was"))?;
    anyhow::ensure!(
        added(&config),
        "the entry did not land under `{}:` in {origin}; it was left as it was",
        path.join(": ")
    );
    // Replace the file in one step, keeping its permissions.
    let tmp = file.with_extension("yaml.warden-tmp");
    std::fs::write(&tmp, &after).with_context(|| format!("cannot write {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(file) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, file).with_context(|| format!("cannot replace {origin}"))?;
    Ok(())
}

/// How far a line is indented, or `None` for a blank or comment-only line.
fn indent(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| line.len() - trimmed.len())
}

/// The value after `key:` on `line` (at indentation `at`), if the line is that key.
fn key_value<'a>(line: &'a str, at: usize, key: &str) -> Option<&'a str> {
    let rest = line.get(at..)?.strip_prefix(key)?.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with([' ', '#'])).then(|| rest.trim())
}

/// The text with `item` added to the block list at `path`. Lines are kept as they are.
fn insert_list_item(text: &str, path: &[&str], item: &str) -> Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // The range of lines to search, and the indentation of keys in it.
    let (mut from, mut to, mut at) = (0, lines.len(), 0);
    for (depth, key) in path.iter().enumerate() {
        let last = depth == path.len() - 1;
        let found = (from..to)
            .find(|&i| indent(&lines[i]) == Some(at) && key_value(&lines[i], at, key).is_some());
        let Some(i) = found else {
            // Missing from here down: written at the end of the enclosing block.
            let mut add = Vec::new();
            for (d, k) in path[depth..].iter().enumerate() {
                add.push(format!("{}{k}:", " ".repeat(at + 2 * d)));
            }
            add.push(format!(
                "{}- {item}",
                " ".repeat(at + 2 * (path.len() - depth))
            ));
            let end = last_content_line(&lines, from, to).map_or(to, |l| l + 1);
            lines.splice(end..end, add);
            return Ok(joined(lines));
        };
        let value = key_value(&lines[i], at, key).unwrap_or_default();
        let value = value.split(" #").next().unwrap_or("").trim();
        // The block under the key: the lines after it indented deeper (or, for a list, `- `
        // items at the key's own indentation, which YAML allows).
        let mut end = i + 1;
        while end < to {
            match indent(&lines[end]) {
                None => end += 1,
                Some(n) if n > at => end += 1,
                Some(n) if n == at && last && lines[end][n..].starts_with("- ") => end += 1,
                Some(_) => break,
            }
        }
        if !last {
            if !value.is_empty() {
                return Err(format!("`{key}:` is not a block mapping"));
            }
            let child = (i + 1..end)
                .find_map(|l| indent(&lines[l]))
                .unwrap_or(at + 2);
            (from, to, at) = (i + 1, end, child);
            continue;
        }
        match value {
            "" => {}
            "[]" => lines[i] = format!("{}{key}:", " ".repeat(at)),
            _ => return Err(format!("`{key}:` is written as a flow list ({value})")),
        }
        let item_indent = (i + 1..end)
            .find(|&l| indent(&lines[l]).is_some())
            .and_then(|l| indent(&lines[l]))
            .unwrap_or(at + 2);
        let after = last_content_line(&lines, i + 1, end).map_or(i + 1, |l| l + 1);
        lines.insert(after, format!("{}- {item}", " ".repeat(item_indent)));
        return Ok(joined(lines));
    }
    Err("an empty path".into())
}

/// The last line in `from..to` that is neither blank nor a comment.
fn last_content_line(lines: &[String], from: usize, to: usize) -> Option<usize> {
    (from..to).rev().find(|&i| indent(&lines[i]).is_some())
}

fn joined(lines: Vec<String>) -> String {
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "{ id: \"key_new\", principal: \"me\", team: \"default\", sha256: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" }";

    fn keys_of(text: &str) -> Vec<String> {
        Config::from_yaml("t", text, Vec::new())
            .expect("loads")
            .keys
            .into_iter()
            .map(|k| k.id)
            .collect()
    }

    #[test]
    fn the_entry_lands_under_keys_wherever_the_file_has_them() {
        let old = "{ id: \"key_old\", principal: \"a\", team: \"default\", sha256: \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\" }";
        for (case, text) in [
            ("empty file", String::new()),
            (
                "no keys section",
                "admin:\n  listen: 127.0.0.1:9081\n".to_string(),
            ),
            (
                "keys before admin",
                format!("keys:\n  - {old}\nadmin:\n  listen: 127.0.0.1:9081\n"),
            ),
            (
                "keys after admin",
                format!("# mine\nadmin:\n  listen: 127.0.0.1:9081\n\nkeys:\n- {old}\n# end\n"),
            ),
            (
                "empty flow list",
                "keys: []\nlisten: 127.0.0.1:8080\n".to_string(),
            ),
            ("bare keys line", "keys:\n".to_string()),
        ] {
            let out = insert_list_item(&text, &["keys"], ENTRY).expect(case);
            let ids = keys_of(&out);
            assert!(ids.contains(&"key_new".to_string()), "{case}:\n{out}");
            if text.contains("key_old") {
                assert!(ids.contains(&"key_old".to_string()), "{case}:\n{out}");
            }
            for line in text.lines().filter(|l| l.starts_with('#')) {
                assert!(out.contains(line), "{case}: comment kept\n{out}");
            }
        }
        let flow = format!("keys: [{ENTRY}]\n");
        assert!(insert_list_item(&flow, &["keys"], ENTRY).is_err());
    }

    #[test]
    fn an_admin_key_lands_under_admin_keys() {
        let entry = "{ id: \"key_adm\", name: \"Ann\", roles: [\"approver\"], groups: [], sha256: \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\" }";
        for text in [
            "",
            "keys: []\n",
            "admin:\n  listen: 127.0.0.1:9081\nkeys: []\n",
            "admin:\n  listen: 127.0.0.1:9081\n  keys:\n    - { id: \"key_a\", name: \"A\", roles: [\"admin\"], sha256: \"0000000000000000000000000000000000000000000000000000000000000000\" }\n",
        ] {
            let out = insert_list_item(text, &["admin", "keys"], entry).expect("edits");
            let c = Config::from_yaml("t", &out, Vec::new()).expect("loads");
            assert!(c.admin.keys.iter().any(|k| k.id == "key_adm"), "{out}");
            if text.contains("key_a") {
                assert_eq!(c.admin.keys.len(), 2, "{out}");
            }
            if text.contains("9081") {
                assert_eq!(c.admin.listen.port(), 9081, "{out}");
            }
        }
    }

    #[test]
    fn a_file_that_does_not_load_is_left_as_it_was() {
        let dir = std::env::temp_dir().join(format!("warden-keys-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("warden.yaml");
        std::fs::write(&file, "  - { id: x }\n").expect("write");
        let e = add_entry(&file, &["keys"], ENTRY, |_| true).expect_err("refused");
        assert!(format!("{e:#}").contains("does not load"), "{e:#}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            "  - { id: x }\n"
        );
        // A missing file is created with the entry.
        let fresh = dir.join("new.yaml");
        add_entry(&fresh, &["keys"], ENTRY, |c| c.keys.len() == 1).expect("created");
        assert_eq!(
            keys_of(&std::fs::read_to_string(&fresh).expect("read")),
            ["key_new"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
