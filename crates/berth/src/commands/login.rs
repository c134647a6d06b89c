//! `berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]`
use std::io::Read;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Username
    #[arg(short, long)]
    username: Option<String>,
    /// Password
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    server: Option<String>,
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    let fail = |message: String| CliError {
        message,
        code: 1,
        daemon: false,
    };
    if args.password_stdin && args.password.is_some() {
        return Err(fail(
            "--password and --password-stdin are mutually exclusive".into(),
        ));
    }
    let password = if args.password_stdin {
        if args.username.is_none() {
            return Err(fail("Must provide --username with --password-stdin".into()));
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| fail(format!("reading the password from stdin: {e}")))?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = args.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else {
        return Err(fail(
            "password required: use -p/--password or --password-stdin".into(),
        ));
    };
    let Some(user) = args.username.filter(|u| !u.is_empty()) else {
        return Err(fail("username required: use -u/--username".into()));
    };
    engine
        .login(args.server.as_deref(), &user, &password)
        .map_err(|e| fail(format!("login attempt failed: {e}")))?;
    println!("Login Succeeded");
    Ok(0)
}
