//! Build and target platforms as the Dockerfile sees them: `os/arch[/variant]` normalized the
//! way BuildKit (containerd's `platforms.Normalize`) does, and the automatic platform ARGs
//! (`TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `TARGETVARIANT`, `BUILDPLATFORM`, `BUILDOS`,
//! `BUILDARCH`, `BUILDVARIANT`), usable in FROM lines and, after `ARG NAME`, in a stage.

/// A normalized platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    /// "" when the architecture has none (amd64, arm64).
    pub variant: String,
}

/// The names of the automatic platform ARGs.
pub const AUTOMATIC: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

impl Platform {
    /// Parses and normalizes `os/arch[/variant]` (`linux/x86_64` is `linux/amd64`,
    /// `linux/aarch64` is `linux/arm64`, `linux/arm` is `linux/arm/v7`).
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<String> = text.trim().split('/').map(str::to_lowercase).collect();
        let bad = || format!("invalid platform {text:?}: expected os/arch[/variant]");
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (os.clone(), arch.clone(), String::new()),
            [os, arch, variant] => (os.clone(), arch.clone(), variant.clone()),
            _ => return Err(bad()),
        };
        if os.is_empty() || arch.is_empty() {
            return Err(bad());
        }
        let (arch, variant) = match (arch.as_str(), variant.as_str()) {
            ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v.to_string()),
            ("aarch64" | "arm64", "v8" | "") => ("arm64", String::new()),
            ("aarch64" | "arm64", v) => ("arm64", v.to_string()),
            ("armhf", _) => ("arm", "v7".to_string()),
            ("armel", _) => ("arm", "v6".to_string()),
            ("arm", "") => ("arm", "v7".to_string()),
            ("arm", v) => ("arm", format!("v{}", v.trim_start_matches('v'))),
            ("i386" | "i686" | "x86", v) => ("386", v.to_string()),
            (a, v) => (a, v.to_string()),
        };
        Ok(Platform {
            os,
            arch: arch.to_string(),
            variant,
        })
    }

    /// `linux/<arch>` of the machine berth runs on (`host_arch` in the image crate's names).
    pub fn of_host(arch: &str) -> Platform {
        Platform {
            os: "linux".into(),
            arch: arch.into(),
            variant: String::new(),
        }
    }

    /// The same OS and architecture (variants ignored, as a local image's match is).
    pub fn same_machine(&self, other: &Platform) -> bool {
        self.os == other.os && self.arch == other.arch
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// The automatic ARGs' values for a build on `build` for `target`.
pub fn automatic_args(build: &Platform, target: &Platform) -> Vec<(String, String)> {
    vec![
        ("TARGETPLATFORM".into(), target.to_string()),
        ("TARGETOS".into(), target.os.clone()),
        ("TARGETARCH".into(), target.arch.clone()),
        ("TARGETVARIANT".into(), target.variant.clone()),
        ("BUILDPLATFORM".into(), build.to_string()),
        ("BUILDOS".into(), build.os.clone()),
        ("BUILDARCH".into(), build.arch.clone()),
        ("BUILDVARIANT".into(), build.variant.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_like_buildkit() {
        let p = |t| Platform::parse(t).unwrap().to_string();
        assert_eq!(p("linux/x86_64"), "linux/amd64");
        assert_eq!(p("linux/aarch64"), "linux/arm64");
        assert_eq!(p("linux/arm64/v8"), "linux/arm64");
        assert_eq!(p("linux/arm"), "linux/arm/v7");
        assert_eq!(p("linux/arm/6"), "linux/arm/v6");
        assert_eq!(p("Linux/AMD64"), "linux/amd64");
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux/").is_err());
    }

    #[test]
    fn automatic_args_name_both_platforms() {
        let args = automatic_args(
            &Platform::of_host("amd64"),
            &Platform::parse("linux/arm/v7").unwrap(),
        );
        let get = |k: &str| args.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("TARGETPLATFORM"), "linux/arm/v7");
        assert_eq!(get("TARGETVARIANT"), "v7");
        assert_eq!(get("BUILDPLATFORM"), "linux/amd64");
        assert_eq!(get("BUILDVARIANT"), "");
        assert_eq!(args.len(), AUTOMATIC.len());
    }
}
