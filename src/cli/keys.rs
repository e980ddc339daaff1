//! `warden keys new`: a fresh Warden key. The key goes to stderr, shown once; stdout gets only the
//! config entry with its hash, so `>> warden.yaml` never writes the key to disk.

use clap::{Args, Subcommand};

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
            eprintln!(
                "Add the entry below under `admin: keys:` in warden.yaml (it holds only the key's hash):"
            );
            let list = |v: &[String]| v.iter().map(|s| yaml_str(s)).collect::<Vec<_>>().join(", ");
            println!(
                "    - {{ id: {}, name: {}, roles: [{}], groups: [{}], sha256: {} }}",
                yaml_str(&id),
                yaml_str(&args.name),
                list(&args.roles),
                list(&args.groups),
                hex::encode(hash_key(&key))
            );
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
            eprintln!(
                "Add the entry below under `keys:` in warden.yaml (it holds only the key's hash):"
            );
            println!(
                "  - {{ id: {}, principal: {}, team: {}, sha256: {} }}",
                yaml_str(&id),
                yaml_str(&args.principal),
                yaml_str(&args.team),
                hex::encode(hash_key(&key))
            );
            Ok(())
        }
    }
}

/// A YAML flow scalar: JSON string quoting is valid YAML.
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
