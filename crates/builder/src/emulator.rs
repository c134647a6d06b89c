//! Whether RUN steps of another architecture can run here: the kernel runs a foreign binary
//! through an emulator registered with binfmt_misc (Debian's qemu-user-static registers
//! `qemu-<arch>` entries with the F flag, so they work inside containers too).

use berth_build::platform::Platform;

const BINFMT: &str = "/proc/sys/fs/binfmt_misc";

/// Ok when an enabled binfmt_misc entry runs `platform`'s binaries; else why not, naming the
/// platform and how to get an emulator.
pub fn check(platform: &Platform) -> Result<(), String> {
    let qemu = match platform.arch.as_str() {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i386",
        "mips64le" => "mips64el",
        "mipsle" => "mipsel",
        other => other,
    };
    let entry = std::path::Path::new(BINFMT).join(format!("qemu-{qemu}"));
    let enabled =
        std::fs::read_to_string(&entry).is_ok_and(|text| text.lines().next() == Some("enabled"));
    if enabled {
        return Ok(());
    }
    Err(format!(
        "RUN for platform {platform} needs an emulator, and none is registered for it in \
         {BINFMT} (no {}): install one (apt-get install qemu-user-static binfmt-support) or \
         build for the host's platform",
        entry.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_emulator_names_the_platform_and_the_remedy() {
        // No binfmt entry has this name on any machine.
        let p = Platform::parse("linux/nosucharch").unwrap();
        let e = check(&p).unwrap_err();
        assert!(e.contains("linux/nosucharch"), "{e}");
        assert!(e.contains("qemu-user-static"), "{e}");
    }
}
