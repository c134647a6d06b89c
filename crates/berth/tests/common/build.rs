//! What the build tests share: a context directory of given files, and `berth build` on it.

use std::path::{Path, PathBuf};

use super::{Env, Run};

/// A context directory `name` beside the test's state root holding `files` (path, content).
pub fn context(env: &Env, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = env.root.parent().unwrap().join(name);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `berth build ARGS CTX`.
pub fn build(env: &Env, args: &[&str], ctx: &Path) -> Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let ctx = ctx.to_string_lossy().into_owned();
    all.push(&ctx);
    env.berth(&all)
}

/// `berth build ARGS CTX`, which must succeed; its progress (stderr).
pub fn build_ok(env: &Env, args: &[&str], ctx: &Path) -> String {
    let r = build(env, args, ctx);
    assert_eq!(r.code, 0, "build failed:\n{}{}", r.stdout, r.stderr);
    r.stderr
}
