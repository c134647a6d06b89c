//! `--ulimit name=soft[:hard]` as OCI rlimits, checked against Docker's names and against what
//! this process may raise.

use std::collections::HashSet;

use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::SpecError;

#[derive(Debug, Clone, PartialEq)]
pub struct Ulimit {
    /// Docker's name: "nofile", "nproc", "core", "memlock", ...
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// The OCI rlimit type for a Docker ulimit name ("nofile" -> RLIMIT_NOFILE, ...); None when
/// Docker does not know the name.
pub fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

/// The calling process's current (soft, hard) limits for `typ`. The enum's discriminants are the
/// kernel's RLIMIT_* numbers (libcontainer relies on the same).
fn host_rlimit(typ: PosixRlimitType) -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    let rc = unsafe { libc::getrlimit(typ as u32 as _, &mut lim) };
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    let limits = (lim.rlim_cur as u64, lim.rlim_max as u64);
    (rc == 0).then_some(limits)
}

#[allow(clippy::unnecessary_cast)]
const RLIM_INFINITY: u64 = libc::RLIM_INFINITY as u64;

fn fmt_limit(v: u64) -> String {
    if v == u64::MAX || v == RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        v.to_string()
    }
}

pub(super) fn build_rlimits(ulimits: &[Ulimit]) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out: Vec<PosixRlimit> = Vec::new();
    let mut seen = HashSet::new();
    for u in ulimits {
        let typ = rlimit_type(&u.name).ok_or_else(|| SpecError::UnknownUlimit(u.name.clone()))?;
        if !seen.insert(u.name.clone()) {
            return Err(SpecError::DuplicateUlimit {
                name: u.name.clone(),
            });
        }
        if u.soft > u.hard {
            return Err(SpecError::UlimitSoftAboveHard {
                name: u.name.clone(),
                soft: fmt_limit(u.soft),
                hard: fmt_limit(u.hard),
            });
        }
        if let Some((_, host_hard)) = host_rlimit(typ) {
            let unlimited = host_hard == RLIM_INFINITY;
            if !unlimited && u.hard > host_hard {
                return Err(SpecError::UlimitAboveHost {
                    name: u.name.clone(),
                    hard: fmt_limit(u.hard),
                    host: fmt_limit(host_hard),
                });
            }
        }
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft)
                .hard(u.hard)
                .build()?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::build_spec;
    use crate::spec::test_support::*;

    #[test]
    fn ulimit_names_and_mapping() {
        assert_eq!(rlimit_type("nofile"), Some(PosixRlimitType::RlimitNofile));
        assert_eq!(rlimit_type("nproc"), Some(PosixRlimitType::RlimitNproc));
        assert_eq!(rlimit_type("as"), Some(PosixRlimitType::RlimitAs));
        assert_eq!(rlimit_type("rttime"), Some(PosixRlimitType::RlimitRttime));
        assert_eq!(rlimit_type("files"), None);
        // Discriminants are the kernel's numbers.
        assert_eq!(
            PosixRlimitType::RlimitNofile as u32,
            libc::RLIMIT_NOFILE as i64 as u32
        );
        assert_eq!(
            PosixRlimitType::RlimitAs as u32,
            libc::RLIMIT_AS as i64 as u32
        );
        assert_eq!(
            PosixRlimitType::RlimitRttime as u32,
            libc::RLIMIT_RTTIME as i64 as u32
        );

        let (_, host_hard) = host_rlimit(PosixRlimitType::RlimitNofile).unwrap();
        let hard = if host_hard == RLIM_INFINITY {
            4096
        } else {
            host_hard.min(4096)
        };
        let mut i = input();
        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: hard / 2,
            hard,
        }];
        let spec = build_spec(&i).unwrap();
        let rl = spec.process().as_ref().unwrap().rlimits().clone().unwrap();
        assert_eq!(rl.len(), 1);
        assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((rl[0].soft(), rl[0].hard()), (hard / 2, hard));
    }

    #[test]
    fn ulimit_errors() {
        let mut i = input();
        i.ulimits = vec![Ulimit {
            name: "nofiles".into(),
            soft: 1,
            hard: 1,
        }];
        let err = build_spec(&i).unwrap_err();
        assert!(matches!(err, SpecError::UnknownUlimit(ref n) if n == "nofiles"));
        assert!(err.to_string().contains("nofiles"));

        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 200,
            hard: 100,
        }];
        let err = build_spec(&i).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ulimit nofile: soft limit 200 is greater than hard limit 100"
        );

        let (_, host_hard) = host_rlimit(PosixRlimitType::RlimitNofile).unwrap();
        if host_hard != RLIM_INFINITY {
            let want = host_hard + 1_000_000;
            i.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: want,
            }];
            let err = build_spec(&i).unwrap_err();
            assert!(
                err.to_string().starts_with(&format!(
                    "ulimit nofile: hard limit {want} exceeds the host's hard limit {host_hard}"
                )),
                "{err}"
            );
        }
    }
}
