//! `berth version [--format T]`: the client's and the engine's versions (`GET /version`'s
//! document as the server part), in the docker CLI's layout or through a Go template
//! (`{{.Server.Version}}`, `{{.Client.APIVersion}}`, `{{json .}}`).
use serde_json::{Value, json};

use super::CliError;
use crate::format;
use berth_engine::system_info::{API_VERSION, VERSION, go_arch};

#[derive(clap::Args)]
pub struct Args {
    /// Format output using a custom template
    #[arg(short, long)]
    format: Option<String>,
}

/// The version documents with the docker CLI's Go field names beside the JSON keys (a template
/// says `.Server.APIVersion`, the JSON `ApiVersion`).
fn document() -> Value {
    let mut server = berth_engine::system_info::version_document();
    server["APIVersion"] = server["ApiVersion"].clone();
    server["Experimental"] = json!(false);
    json!({
        "Client": {
            "Platform": {"Name": "berth"}, "Version": VERSION, "ApiVersion": API_VERSION,
            "APIVersion": API_VERSION, "DefaultAPIVersion": API_VERSION, "GitCommit": "",
            "GoVersion": "", "Os": "linux", "Arch": go_arch(), "BuildTime": "", "Context": "default",
        },
        "Server": server,
    })
}

pub fn run(args: Args) -> Result<i32, CliError> {
    let doc = document();
    match args.format.as_deref() {
        Some("json") => print!("{}", format::render("{{json .}}", &[doc], &[])?),
        Some(template) => print!("{}", format::render(template, &[doc], &[])?),
        None => print!("{}", layout(&doc)),
    }
    Ok(0)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The docker CLI's `version` text.
fn layout(doc: &Value) -> String {
    let client = &doc["Client"];
    let server = &doc["Server"];
    let row = |indent: &str, key: &str, value: String| {
        let label = format!("{indent}{key}:");
        format!("{label:<20}{value}\n")
    };
    let mut out = String::from("Client:\n");
    out += &row(" ", "Version", text(&client["Version"]));
    out += &row(" ", "API version", text(&client["ApiVersion"]));
    out += &row(" ", "Go version", text(&client["GoVersion"]));
    out += &row(" ", "Git commit", text(&client["GitCommit"]));
    out += &row(" ", "Built", text(&client["BuildTime"]));
    out += &row(
        " ",
        "OS/Arch",
        format!("{}/{}", text(&client["Os"]), text(&client["Arch"])),
    );
    out += &row(" ", "Context", text(&client["Context"]));
    out += &format!("\nServer: {}\n", text(&server["Platform"]["Name"]));
    for component in server["Components"].as_array().into_iter().flatten() {
        let details = &component["Details"];
        out += &format!(" {}:\n", text(&component["Name"]));
        out += &row("  ", "Version", text(&component["Version"]));
        out += &row(
            "  ",
            "API version",
            format!(
                "{} (minimum version {})",
                text(&details["ApiVersion"]),
                text(&details["MinAPIVersion"])
            ),
        );
        out += &row("  ", "Go version", text(&details["GoVersion"]));
        out += &row("  ", "Git commit", text(&details["GitCommit"]));
        out += &row("  ", "Built", text(&details["BuildTime"]));
        out += &row(
            "  ",
            "OS/Arch",
            format!("{}/{}", text(&details["Os"]), text(&details["Arch"])),
        );
        out += &row("  ", "Experimental", text(&details["Experimental"]));
    }
    out
}
