//! `warden approvals list|show|approve|reject`: the admin API from a terminal. The admin key comes
//! from `--key` or `WARDEN_ADMIN_KEY`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Pending tool calls, oldest first.
    List(Conn),
    /// One call, with its decision if it has one.
    Show {
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Let a held call go out unchanged.
    Approve {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Replace a held call with a refusal the model and the user see.
    Reject {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Debug, Args)]
pub struct Conn {
    /// The admin listener of any Warden replica.
    #[arg(
        long,
        env = "WARDEN_ADMIN_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    url: String,
    /// An admin key (`wadm_…`).
    #[arg(long, env = "WARDEN_ADMIN_KEY", hide_env_values = true)]
    key: String,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: ApprovalsCommand) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            ApprovalsCommand::List(conn) => {
                let v = call(&conn, reqwest::Method::GET, "/admin/approvals", None).await?;
                if conn.json {
                    println!("{v}");
                    return Ok(());
                }
                let rows = v["data"].as_array().cloned().unwrap_or_default();
                if rows.is_empty() {
                    println!("No pending approvals.");
                    return Ok(());
                }
                let table: Vec<[String; 6]> = rows
                    .iter()
                    .map(|a| {
                        let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
                        [
                            s("id"),
                            short_time(&s("requested_at")),
                            short_time(&s("expires_at")),
                            format!("{} ({})", s("principal"), s("team")),
                            s("tool_name"),
                            a["input"].to_string(),
                        ]
                    })
                    .collect();
                super::print_table(
                    ["ID", "REQUESTED", "EXPIRES", "WHO", "TOOL", "INPUT"],
                    &table,
                );
                Ok(())
            }
            ApprovalsCommand::Show { id, conn } => {
                let v = call(
                    &conn,
                    reqwest::Method::GET,
                    &format!("/admin/approvals/{id}"),
                    None,
                )
                .await?;
                println!("{}", serde_json::to_string_pretty(&v)?);
                Ok(())
            }
            ApprovalsCommand::Approve { id, reason, conn } => {
                decide(&conn, &id, "approve", reason).await
            }
            ApprovalsCommand::Reject { id, reason, conn } => {
                decide(&conn, &id, "reject", reason).await
            }
        }
    })
}

async fn decide(conn: &Conn, id: &str, verb: &str, reason: Option<String>) -> anyhow::Result<()> {
    let v = call(
        conn,
        reqwest::Method::POST,
        &format!("/admin/approvals/{id}/{verb}"),
        Some(json!({"reason": reason})),
    )
    .await?;
    if conn.json {
        println!("{v}");
    } else {
        println!(
            "{}: {} by {}",
            v["id"].as_str().unwrap_or(id),
            v["decision"].as_str().unwrap_or(""),
            v["decided_by"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

async fn call(
    conn: &Conn,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", conn.url.trim_end_matches('/'));
    let mut req = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(&conn.key);
    if let Some(b) = body {
        req = req
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(b.to_string());
    }
    let res = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the admin API at {url}: {e}"))?;
    let status = res.status();
    let v: Value = serde_json::from_slice(&res.bytes().await?).unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "{} ({})",
            v["error"]["message"].as_str().unwrap_or("request failed"),
            status
        );
    }
    Ok(v)
}

/// An RFC 3339 time to the second, in UTC (`2026-12-07 21:40:05Z`).
fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%SZ")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}
