//! `berth manifest inspect NAME`: the manifest (or manifest list) NAME points at in its
//! registry, printed as `docker manifest inspect` prints it (tab-indented, keys in the
//! registry's order).

use super::CliError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Display an image manifest, or manifest list
    Inspect(InspectArgs),
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Allow communication with an insecure registry
    #[arg(long)]
    insecure: bool,
    /// Output additional info including layers and platform
    #[arg(short, long)]
    verbose: bool,
    name: String,
}

pub fn run(engine: &berth_engine::Engine, command: Command) -> Result<i32, CliError> {
    match command {
        Command::Inspect(args) => {
            let _ = (args.insecure, args.verbose);
            let bytes = engine.manifest_inspect(&args.name)?;
            println!("{}", indent_json(&String::from_utf8_lossy(&bytes)));
            Ok(0)
        }
    }
}

/// Go's `json.Indent(.., "", "\t")`: the same tokens in the same order, one member per line.
fn indent_json(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.trim().chars().collect();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n('\t', depth));
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                let next = chars[i..].iter().position(|c| !c.is_whitespace());
                if next.is_some_and(|n| chars[i + n] == close) {
                    out.push(close);
                    i += next.unwrap_or(0) + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn indents_as_go_does() {
        assert_eq!(
            super::indent_json(r#"{"b":1,"a":[{"x":"y, z"}],"e":{}}"#),
            "{\n\t\"b\": 1,\n\t\"a\": [\n\t\t{\n\t\t\t\"x\": \"y, z\"\n\t\t}\n\t],\n\t\"e\": {}\n}"
        );
    }
}
