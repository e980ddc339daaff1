//! `warden keys new`: a fresh Warden key. The key goes to stderr, shown once; stdout gets only the
//! config entry with its hash, so `>> warden.yaml` never writes the key to disk.

use clap::{Args, Subcommand};

use crate::ids::{new_key_id, new_warden_key};
use crate::server::auth::hash_key;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key for a principal in a team.
    New(NewKeyArgs),
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
