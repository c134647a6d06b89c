//! The relay against a fake agent on the other end of a socket pair: start, output, exec on
//! its own stream, the exit code and the poweroff.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::*;
use crate::config::{Failed, GuestProcess, Started};

struct FakeMachine {
    off: Arc<AtomicBool>,
}

impl Machine for FakeMachine {
    fn pid(&self) -> i32 {
        0
    }
    fn exited(&mut self) -> Option<i32> {
        self.off.load(Ordering::SeqCst).then_some(0)
    }
    fn kill(&mut self) {
        self.off.store(true, Ordering::SeqCst);
    }
    fn pause(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn resume(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn serial_tail(&self) -> String {
        String::new()
    }
}

/// A guest agent: the main process prints "hi" and exits 7 once its stdin closed; an exec
/// echoes its argv and exits 3; a poweroff turns the machine off.
fn fake_agent(mut channel: UnixStream, off: Arc<AtomicBool>) {
    let mut writer = channel.try_clone().unwrap();
    while let Ok(Some(frame)) = Frame::read_from(&mut channel) {
        let stream = frame.stream;
        match frame.kind {
            Kind::Run if stream == MAIN_STREAM => {
                let run: GuestRun = frame.parse().unwrap();
                if run.process.args.first().map(String::as_str) == Some("nope") {
                    let failed = Failed {
                        message: "exec: \"nope\": executable file not found in $PATH".into(),
                        exit_code: 127,
                    };
                    Frame::json(Kind::Failed, stream, &failed)
                        .write_to(&mut writer)
                        .unwrap();
                    Frame::int(Kind::Exit, stream, 127)
                        .write_to(&mut writer)
                        .unwrap();
                    continue;
                }
                assert_eq!(run.hostname, "vm1");
                assert!(run.clock_ns > 0, "the relay sets the clock at start");
                Frame::json(Kind::Started, stream, &Started { pid: 1 })
                    .write_to(&mut writer)
                    .unwrap();
                Frame::new(Kind::Stdout, stream, b"hi\n".to_vec())
                    .write_to(&mut writer)
                    .unwrap();
            }
            Kind::Run => {
                let exec: GuestExec = frame.parse().unwrap();
                Frame::json(Kind::Started, stream, &Started { pid: 9 })
                    .write_to(&mut writer)
                    .unwrap();
                Frame::new(
                    Kind::Stdout,
                    stream,
                    exec.process.args.join(" ").into_bytes(),
                )
                .write_to(&mut writer)
                .unwrap();
                Frame::int(Kind::Exit, stream, 3)
                    .write_to(&mut writer)
                    .unwrap();
            }
            Kind::Stdin if stream == MAIN_STREAM && frame.payload.is_empty() => {
                Frame::int(Kind::Exit, stream, 7)
                    .write_to(&mut writer)
                    .unwrap();
            }
            Kind::Poweroff => {
                off.store(true, Ordering::SeqCst);
                return;
            }
            _ => {}
        }
    }
}

#[test]
fn start_exec_output_and_the_exit_code_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let listener = bind_control(dir.path()).unwrap();
    let (stdout_read, stdout_write) = nix::unistd::pipe().unwrap();
    // The main process runs until its stdin closes, after the exec.
    let (stdin_read, stdin_write) = nix::unistd::pipe().unwrap();
    let io = HostIo::Pipes {
        stdin: File::from(stdin_read),
        stdout: File::from(stdout_write),
        stderr: File::options().write(true).open("/dev/null").unwrap(),
    };
    let run = GuestRun {
        hostname: "vm1".into(),
        ..Default::default()
    };
    let relay = Relay::new("c0ffee", run, io, listener);
    let (host, guest) = UnixStream::pair().unwrap();
    let off = Arc::new(AtomicBool::new(false));
    let agent_off = off.clone();
    std::thread::spawn(move || fake_agent(guest, agent_off));
    let machine = Box::new(FakeMachine { off: off.clone() });

    // The exec waits for the main process; the start for the boot.
    let run_dir = dir.path().to_path_buf();
    let starter = std::thread::spawn(move || {
        let reply = control::call(&run_dir, Request::Start, Duration::from_secs(2)).unwrap();
        assert_eq!(reply.pid, Some(1));
    });
    std::thread::sleep(Duration::from_millis(50));
    let exited = std::thread::spawn(move || relay.booted(host, machine));
    starter.join().unwrap();

    let mut conn = control::connect(dir.path(), Duration::from_secs(1)).unwrap();
    control::write_line(&mut conn, &Request::Exec).unwrap();
    let exec = GuestExec {
        process: GuestProcess {
            args: vec!["echo".into(), "there".into()],
            ..Default::default()
        },
    };
    Frame::json(Kind::Run, 0, &exec)
        .write_to(&mut conn)
        .unwrap();
    let mut kinds = Vec::new();
    let mut text = Vec::new();
    while let Ok(Some(frame)) = Frame::read_from(&mut conn) {
        kinds.push(frame.kind);
        match frame.kind {
            Kind::Stdout => text.extend_from_slice(&frame.payload),
            Kind::Exit => {
                assert_eq!(frame.as_int().unwrap(), 3);
                break;
            }
            _ => {}
        }
    }
    assert_eq!(kinds, [Kind::Started, Kind::Stdout, Kind::Exit]);
    assert_eq!(text, b"echo there");
    drop(stdin_write);

    assert_eq!(exited.join().unwrap(), 7, "the main process's exit code");
    assert!(off.load(Ordering::SeqCst), "the guest was powered off");
    // The relay's threads keep its stdout open (its process exits): read what came.
    let mut output = [0u8; 3];
    File::from(stdout_read).read_exact(&mut output).unwrap();
    assert_eq!(&output, b"hi\n");
}

#[test]
fn a_start_after_a_failed_boot_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let listener = bind_control(dir.path()).unwrap();
    let io = HostIo::Pipes {
        stdin: File::open("/dev/null").unwrap(),
        stdout: File::options().write(true).open("/dev/null").unwrap(),
        stderr: File::options().write(true).open("/dev/null").unwrap(),
    };
    let relay = Relay::new("c0ffee", GuestRun::default(), io, listener);
    // The relay lingers until a start has heard why.
    let failing = std::thread::spawn(move || {
        relay.boot_failed("the guest did not say it was ready within 10 s".into())
    });
    match control::call(dir.path(), Request::Start, Duration::from_secs(1)) {
        Err(control::ControlError::Refused { message, exit_code }) => {
            assert!(message.contains("did not say"), "{message}");
            assert_eq!(exit_code, Some(125));
        }
        other => panic!("{other:?}"),
    }
    failing.join().unwrap();
}

#[test]
fn a_process_that_cannot_start_is_told_to_start_before_the_relay_exits() {
    let dir = tempfile::tempdir().unwrap();
    let listener = bind_control(dir.path()).unwrap();
    let io = HostIo::Pipes {
        stdin: File::open("/dev/null").unwrap(),
        stdout: File::options().write(true).open("/dev/null").unwrap(),
        stderr: File::options().write(true).open("/dev/null").unwrap(),
    };
    let run = GuestRun {
        process: GuestProcess {
            args: vec!["nope".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let relay = Relay::new("c0ffee", run, io, listener);
    let (host, guest) = UnixStream::pair().unwrap();
    let off = Arc::new(AtomicBool::new(false));
    let agent_off = off.clone();
    std::thread::spawn(move || fake_agent(guest, agent_off));
    let machine = Box::new(FakeMachine { off });
    let exited = std::thread::spawn(move || relay.booted(host, machine));
    match control::call(dir.path(), Request::Start, Duration::from_secs(2)) {
        Err(control::ControlError::Refused { message, exit_code }) => {
            assert!(message.contains("executable file not found"), "{message}");
            assert_eq!(exit_code, Some(127));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(exited.join().unwrap(), 127);
}
