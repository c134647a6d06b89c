//! The running kernel's release, read once and compared as (major, minor), as Docker compares it
//! for a seccomp rule's `minKernel`.

use std::sync::OnceLock;

/// The running kernel's (major, minor) version, from uname(2); None when it cannot be read.
pub fn host_version() -> Option<(u32, u32)> {
    static VERSION: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        // SAFETY: utsname is plain old data; all zeroes is a valid value.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: uname only writes into the struct we pass it.
        if unsafe { libc::uname(&mut uts) } != 0 {
            return None;
        }
        // SAFETY: the kernel NUL-terminates `release`.
        let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy();
        parse_release(&release)
    })
}

/// (major, minor) of a kernel release or a profile's `minKernel`: "6.1.0-18-amd64" -> (6, 1),
/// "5.8" -> (5, 8). Both numbers are required, as moby reads them (`%d.%d`); anything after the
/// minor number is ignored, and so are surrounding blanks (a release file ends in a newline).
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_and_min_kernels() {
        assert_eq!(parse_release("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(parse_release("4.19.112+"), Some((4, 19)));
        assert_eq!(parse_release("6.18.44-foo\n"), Some((6, 18)));
        assert_eq!(parse_release("5.8"), Some((5, 8)));
        assert_eq!(parse_release("99.0"), Some((99, 0)));
        // moby refuses a version without its minor number.
        assert_eq!(parse_release("5"), None);
        assert_eq!(parse_release("garbage"), None);
        assert!(host_version().is_some());
    }
}
