//! `berth shim ID` (hidden): the per-container monitor. Started by the engine with its
//! channel on fd 3 and an attached client's stdin/stdout/stderr on fds 4/5/6.
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(clap::Args)]
pub struct Args {
    id: String,
    #[arg(long)]
    stdin: bool,
    #[arg(long)]
    stdout: bool,
    #[arg(long)]
    stderr: bool,
}

pub fn run(args: Args) -> i32 {
    // SAFETY: the engine set up fds 3..6 for us before exec (see lifecycle::start_container);
    // each is taken once.
    let take = |present: bool, fd: i32| present.then(|| unsafe { OwnedFd::from_raw_fd(fd) });
    let Some(channel) = take(true, 3) else {
        return 1;
    };
    let attach = berth_engine::shim::AttachFds {
        stdin: take(args.stdin, 4),
        stdout: take(args.stdout, 5),
        stderr: take(args.stderr, 6),
    };
    berth_engine::shim::run(&args.id, channel, attach)
}
