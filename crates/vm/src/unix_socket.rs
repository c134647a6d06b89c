//! Connecting to a unix socket by a path of any length: a socket's path is limited to 108
//! bytes (sun_path), and berth's run directories under a test's or a user's state root can be
//! longer. Used by the relay's control clients and by the terminal's console-socket client.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Connects to the unix socket at `path`; a path too long for sun_path is reached by a short
/// name through /proc/self/fd of its directory.
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    if path.as_os_str().len() < 100 {
        return UnixStream::connect(path);
    }
    let dir = std::fs::File::open(path.parent().unwrap_or(Path::new("/")))?;
    let short = format!(
        "/proc/self/fd/{}/{}",
        dir.as_raw_fd(),
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    UnixStream::connect(short)
}
