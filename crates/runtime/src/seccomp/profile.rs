//! A user's seccomp profile (`--security-opt seccomp=FILE`): Docker's JSON format (the OCI
//! `linux.seccomp` shape too), resolved for this machine as moby's `setupSeccomp` does: the
//! `includes`/`excludes` conditions against the container's final capabilities, this machine's
//! architecture and the running kernel.

use std::collections::HashSet;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall, LinuxSyscallBuilder,
};
use serde::Deserialize;

use crate::capabilities::canonical_name;

/// Why a seccomp profile cannot be used; every message names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("not a valid profile JSON document: {0}")]
    Json(#[source] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("building the OCI seccomp section: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileJson {
    default_action: Option<String>,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMapJson>>,
    flags: Option<Vec<String>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<SyscallJson>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapJson {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallJson {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: Option<String>,
    errno_ret: Option<u32>,
    args: Option<Vec<ArgJson>>,
    includes: Option<FilterJson>,
    excludes: Option<FilterJson>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct FilterJson {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArgJson {
    index: u32,
    value: u64,
    value_two: Option<u64>,
    op: String,
}

/// Parses one of the crate's SCREAMING_SNAKE_CASE enums, or says what `what` was expected.
fn parse_enum<T: serde::de::DeserializeOwned>(
    value: &str,
    field: &str,
    expected: &str,
) -> Result<T, ProfileError> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).map_err(|_| {
        ProfileError::Invalid(format!(
            "{field}: unknown value {value:?} (expected {expected})"
        ))
    })
}

/// This machine's architecture in Go's naming (`includes.arches` in Docker profiles) and in
/// libseccomp's (`archMap`).
fn native_arch() -> (&'static str, Option<&'static str>) {
    match std::env::consts::ARCH {
        "x86_64" => ("amd64", Some("SCMP_ARCH_X86_64")),
        "x86" => ("386", Some("SCMP_ARCH_X86")),
        "aarch64" => ("arm64", Some("SCMP_ARCH_AARCH64")),
        "arm" => ("arm", Some("SCMP_ARCH_ARM")),
        "riscv64" => ("riscv64", Some("SCMP_ARCH_RISCV64")),
        "s390x" => ("s390x", Some("SCMP_ARCH_S390X")),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", Some("SCMP_ARCH_PPC64LE")),
        "powerpc64" => ("ppc64", Some("SCMP_ARCH_PPC64")),
        "loongarch64" => ("loong64", Some("SCMP_ARCH_LOONGARCH64")),
        "mips64" if cfg!(target_endian = "little") => ("mips64le", Some("SCMP_ARCH_MIPSEL64")),
        "mips64" => ("mips64", Some("SCMP_ARCH_MIPS64")),
        other => (other, None),
    }
}

/// Parses a Docker-format seccomp profile (also accepts the OCI `linux.seccomp` shape) into an
/// OCI `LinuxSeccomp`, resolving `includes`/`excludes` against `caps` (the container's final
/// capabilities), this machine's architecture and kernel version, as moby's `setupSeccomp` does.
pub fn parse_profile(json: &str, caps: &[String]) -> Result<LinuxSeccomp, ProfileError> {
    let p: ProfileJson = serde_json::from_str(json).map_err(ProfileError::Json)?;
    let default_action = p
        .default_action
        .as_deref()
        .ok_or_else(|| ProfileError::Invalid("\"defaultAction\" is missing".to_string()))?;
    let default_action: LinuxSeccompAction = parse_enum(
        default_action,
        "defaultAction",
        "an action such as SCMP_ACT_ERRNO",
    )?;

    let (go_arch, scmp_arch) = native_arch();
    let arch_names: Vec<String> = match (&p.architectures, &p.arch_map) {
        (Some(a), Some(m)) if !a.is_empty() && !m.is_empty() => {
            return Err(ProfileError::Invalid(
                "both \"architectures\" and \"archMap\" are set; use one of them".to_string(),
            ));
        }
        (Some(a), _) if !a.is_empty() => a.clone(),
        (_, Some(map)) => {
            let mut names = Vec::new();
            for entry in map {
                if Some(entry.architecture.as_str()) == scmp_arch {
                    names.push(entry.architecture.clone());
                    names.extend(entry.sub_architectures.clone().unwrap_or_default());
                }
            }
            names
        }
        _ => Vec::new(),
    };
    let mut architectures: Vec<Arch> = Vec::new();
    for (i, a) in arch_names.iter().enumerate() {
        let arch = parse_enum(a, &format!("architectures[{i}]"), "an SCMP_ARCH_* name")?;
        if !architectures.contains(&arch) {
            architectures.push(arch);
        }
    }

    let caps: HashSet<String> = caps.iter().map(|c| canonical_name(c)).collect();
    // An unreadable kernel version counts as the oldest: a rule for newer kernels stays out.
    let kernel = crate::kernel::host_version().unwrap_or((0, 0));
    let min_kernel =
        |v: &Option<String>, field: String| -> Result<Option<(u32, u32)>, ProfileError> {
            match v.as_deref().filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => crate::kernel::parse_release(s).map(Some).ok_or_else(|| {
                    ProfileError::Invalid(format!(
                        "{field}: {s:?} is not a kernel version (expected e.g. \"5.8\")"
                    ))
                }),
            }
        };

    let mut syscalls: Vec<LinuxSyscall> = Vec::new();
    for (i, sc) in p.syscalls.unwrap_or_default().into_iter().enumerate() {
        let at = format!("syscalls[{i}]");
        let names = match (
            sc.name.filter(|n| !n.is_empty()),
            sc.names.filter(|n| !n.is_empty()),
        ) {
            (Some(_), Some(_)) => {
                return Err(ProfileError::Invalid(format!(
                    "{at}: both \"name\" and \"names\" are set; use one of them"
                )));
            }
            (Some(n), None) => vec![n],
            (None, Some(n)) => n,
            (None, None) => {
                return Err(ProfileError::Invalid(format!(
                    "{at}: no syscall \"names\" given"
                )));
            }
        };
        let action = sc
            .action
            .as_deref()
            .ok_or_else(|| ProfileError::Invalid(format!("{at}: \"action\" is missing")))?;
        let action: LinuxSeccompAction = parse_enum(
            action,
            &format!("{at}.action"),
            "an action such as SCMP_ACT_ALLOW",
        )?;

        let ex = sc.excludes.unwrap_or_default();
        let inc = sc.includes.unwrap_or_default();
        let ex_kernel = min_kernel(&ex.min_kernel, format!("{at}.excludes.minKernel"))?;
        let inc_kernel = min_kernel(&inc.min_kernel, format!("{at}.includes.minKernel"))?;
        let has = |c: &String| caps.contains(&canonical_name(c));
        let skip = ex
            .arches
            .as_ref()
            .is_some_and(|a| a.iter().any(|a| a == go_arch))
            || ex.caps.as_ref().is_some_and(|c| c.iter().any(has))
            || ex_kernel.is_some_and(|k| kernel >= k)
            || inc
                .arches
                .as_ref()
                .is_some_and(|a| !a.is_empty() && !a.iter().any(|a| a == go_arch))
            || inc.caps.as_ref().is_some_and(|c| !c.iter().all(has))
            || inc_kernel.is_some_and(|k| kernel < k);
        if skip {
            continue;
        }

        let mut args = Vec::new();
        for (j, a) in sc.args.unwrap_or_default().into_iter().enumerate() {
            if a.index > 5 {
                return Err(ProfileError::Invalid(format!(
                    "{at}.args[{j}].index: {} is out of range (a syscall has arguments 0 to 5)",
                    a.index
                )));
            }
            let op: LinuxSeccompOperator = parse_enum(
                &a.op,
                &format!("{at}.args[{j}].op"),
                "an operator such as SCMP_CMP_EQ or SCMP_CMP_MASKED_EQ",
            )?;
            let mut ab = LinuxSeccompArgBuilder::default()
                .index(a.index as usize)
                .value(a.value)
                .op(op);
            if let Some(v2) = a.value_two {
                ab = ab.value_two(v2);
            }
            args.push(ab.build()?);
        }
        let mut sb = LinuxSyscallBuilder::default().names(names).action(action);
        if let Some(e) = sc.errno_ret {
            sb = sb.errno_ret(e);
        }
        if !args.is_empty() {
            sb = sb.args(args);
        }
        syscalls.push(sb.build()?);
    }

    let mut b = LinuxSeccompBuilder::default()
        .default_action(default_action)
        .syscalls(syscalls);
    if let Some(e) = p.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    if !architectures.is_empty() {
        b = b.architectures(architectures);
    }
    if let Some(flags) = p.flags.filter(|f| !f.is_empty()) {
        let flags = flags
            .iter()
            .enumerate()
            .map(|(i, f)| {
                parse_enum::<LinuxSeccompFilterFlag>(
                    f,
                    &format!("flags[{i}]"),
                    "a flag such as SECCOMP_FILTER_FLAG_LOG",
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.flags(flags);
    }
    if let Some(l) = p.listener_path.filter(|l| !l.is_empty()) {
        b = b.listener_path(l);
    }
    if let Some(m) = p.listener_metadata.filter(|m| !m.is_empty()) {
        b = b.listener_metadata(m);
    }
    Ok(b.build()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    pub(crate) const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "",
             "includes": {}, "excludes": {}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
            {"names": ["chown"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_CHOWN"]}},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
            {"name": "mount", "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["arch_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["nonexistent"]}},
            {"names": ["new_kernel_only"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}}
        ]
    }"#;

    pub(crate) fn names(sc: &LinuxSeccomp) -> Vec<String> {
        sc.syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|s| s.names().clone())
            .collect()
    }

    #[test]
    fn docker_profile_is_parsed_with_cap_conditions() {
        let caps = s(&["CAP_CHOWN"]);
        let sc = parse_profile(PROFILE, &caps).unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(sc.default_errno_ret(), Some(1));
        let n = names(&sc);
        assert_eq!(n, s(&["read", "write", "personality", "mount"]));
        let mount = sc
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|s| s.names()[0] == "mount")
            .unwrap();
        assert_eq!(mount.errno_ret(), Some(38));
        assert_eq!(mount.action(), LinuxSeccompAction::ScmpActErrno);
        let pers = sc
            .syscalls()
            .as_ref()
            .unwrap()
            .iter()
            .find(|s| s.names()[0] == "personality")
            .unwrap();
        let arg = pers.args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.value(), arg.op()),
            (0, 8, LinuxSeccompOperator::ScmpCmpEq)
        );
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(
                sc.architectures().as_ref().unwrap(),
                &vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
            );
        }

        // With CAP_SYS_PTRACE and without CAP_CHOWN: ptrace in, chown in.
        let sc = parse_profile(PROFILE, &s(&["sys_ptrace"])).unwrap();
        let n = names(&sc);
        assert!(
            n.contains(&"ptrace".to_string()) && n.contains(&"chown".to_string()),
            "{n:?}"
        );
    }

    #[test]
    fn bad_seccomp_profiles_say_what_is_wrong() {
        let err = |json: &str| parse_profile(json, &[]).unwrap_err().to_string();
        assert!(err("{not json").contains("not a valid profile JSON"));
        assert!(err("{}").contains("defaultAction"));
        assert!(err(r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).contains("\"SCMP_ACT_NOPE\""));
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "ALLOW"}]}"#,
        );
        assert!(
            e.contains("syscalls[0].action") && e.contains("ALLOW"),
            "{e}"
        );
        let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"]}]}"#);
        assert!(e.contains("syscalls[0]") && e.contains("action"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "EQUALS"}]}]}"#,
        );
        assert!(e.contains("syscalls[0].args[0].op"), "{e}");
        let e = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_PDP11"]}"#);
        assert!(e.contains("architectures[0]"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#,
        );
        assert!(e.contains("archMap"), "{e}");
        let e = err(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": 5, "action": "SCMP_ACT_ALLOW"}]}"#,
        );
        assert!(e.contains("invalid type"), "{e}");
    }
}
