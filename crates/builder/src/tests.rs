//! The executor over a fake host: a real image store in a temporary directory, the cache as a
//! map, RUN steps recorded instead of run, and "mounts" that are a symlink to the upper dir.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::{BuildError, BuildHost, BuildRequest, Dirs, HostError, RunStep, StepExit};

#[derive(Debug, thiserror::Error)]
#[error("fake host: {0}")]
struct FakeError(String);

impl HostError for FakeError {
    fn exit_code(&self) -> i32 {
        125
    }
}

#[derive(Default)]
struct Recorded {
    cache: BTreeMap<String, String>,
    cache_puts: usize,
    /// The argv and env of every RUN the host was asked for.
    runs: Vec<(Vec<String>, Vec<String>)>,
    /// The exit code a RUN gets.
    run_exit: i32,
    registered: Vec<(String, Vec<String>)>,
}

struct FakeHost {
    store: berth_image::Store,
    work: PathBuf,
    recorded: Arc<Mutex<Recorded>>,
}

impl FakeHost {
    fn recorded(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap()
    }
}

fn fake(e: impl std::fmt::Display) -> FakeError {
    FakeError(e.to_string())
}

impl BuildHost for FakeHost {
    type Error = FakeError;

    fn another(&self) -> Result<Self, FakeError> {
        Ok(FakeHost {
            store: berth_image::Store::open(self.store.root()).map_err(fake)?,
            work: self.work.clone(),
            recorded: self.recorded.clone(),
        })
    }

    fn images(&self) -> &berth_image::Store {
        &self.store
    }

    fn base_image(
        &self,
        name: &str,
        _platform: Option<&str>,
        _pull: bool,
        _say: &dyn Fn(&str),
    ) -> Result<String, FakeError> {
        Err(FakeError(format!("No such image: {name}")))
    }

    fn cache_get(&self, key: &str) -> Result<Option<String>, FakeError> {
        Ok(self.recorded().cache.get(key).cloned())
    }

    fn cache_put(&self, key: &str, image_id: &str, _created: &str) -> Result<(), FakeError> {
        let mut r = self.recorded();
        r.cache_puts += 1;
        r.cache.insert(key.into(), image_id.into());
        Ok(())
    }

    fn cache_forget(&self, key: &str) -> Result<(), FakeError> {
        self.recorded().cache.remove(key);
        Ok(())
    }

    fn mount_overlay(
        &self,
        _lowers: &[PathBuf],
        upper: &Path,
        _work: &Path,
        merged: &Path,
    ) -> Result<(), FakeError> {
        // No mount: what is written to `merged` lands in `upper`. The lower layers are not
        // seen, so a test's COPY names its destination directory with a trailing `/`.
        std::fs::remove_dir(merged).map_err(fake)?;
        std::os::unix::fs::symlink(upper, merged).map_err(fake)
    }

    fn unmount(&self, _target: &Path) {}

    fn run_step(
        &self,
        step: &RunStep<'_>,
        output: &dyn crate::StepOutput,
        _stop: &AtomicBool,
    ) -> Result<StepExit, FakeError> {
        let code = {
            let mut r = self.recorded();
            r.runs.push((step.argv.to_vec(), step.env.clone()));
            r.run_exit
        };
        output.line("ran", false);
        if code != 0 {
            return Ok(StepExit::Failed {
                code,
                message: None,
            });
        }
        let upper = self
            .work
            .join(format!("run-upper-{}", self.recorded().runs.len()));
        std::fs::create_dir_all(&upper).map_err(fake)?;
        std::fs::write(upper.join("ran"), "yes").map_err(fake)?;
        let (layer, diff_id) = self.store.add_layer_from_upper(&upper).map_err(fake)?;
        Ok(StepExit::Done(layer, diff_id))
    }

    fn resolve_user(&self, _rootfs: &Path, spec: &str) -> Result<(u32, u32), FakeError> {
        Err(FakeError(format!("unknown user {spec}")))
    }

    fn download(&self, url: &str, _out: &mut dyn Write) -> Result<Option<i64>, FakeError> {
        Err(FakeError(format!("no network for {url}")))
    }

    fn register(&self, image_id: &str, tags: &[String]) -> Result<(), FakeError> {
        self.recorded()
            .registered
            .push((image_id.into(), tags.to_vec()));
        Ok(())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    host: FakeHost,
    context: PathBuf,
    dirs: Dirs,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("hello.txt"), "hello\n").unwrap();
    let dirs = Dirs {
        scratch: dir.path().join("scratch"),
        state: dir.path().join("state"),
    };
    std::fs::create_dir_all(&dirs.scratch).unwrap();
    let host = FakeHost {
        store: berth_image::Store::open(dir.path().join("store")).unwrap(),
        work: dir.path().join("work"),
        recorded: Default::default(),
    };
    Setup {
        _dir: dir,
        host,
        context,
        dirs,
    }
}

type Built = (
    Result<crate::BuildResult, BuildError<FakeError>>,
    Vec<String>,
);

fn build(s: &Setup, dockerfile: &str, build_args: &[(&str, &str)]) -> Built {
    let request = BuildRequest {
        context_dir: s.context.clone(),
        dockerfile: dockerfile.into(),
        dockerfile_name: "Dockerfile".into(),
        build_args: build_args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let lines = Mutex::new(Vec::new());
    let progress = |line: &str| lines.lock().unwrap().push(line.to_string());
    let result = crate::build(
        &s.host,
        &request,
        vec!["example.com/app:1".into()],
        &s.dirs,
        &progress,
    );
    (result, lines.into_inner().unwrap())
}

const COPY_ENV_WORKDIR: &str = "FROM scratch\nENV GREETING=hi\nWORKDIR /app\nCOPY hello.txt ./\n";

#[test]
fn copy_env_workdir_make_the_config_layers_and_cache_keys() {
    let s = setup();
    let (result, lines) = build(&s, COPY_ENV_WORKDIR, &[]);
    let built = result.unwrap();
    let image = s.host.images().image(&built.image_id).unwrap();
    let config = &image.config;
    assert_eq!(config.config.env, Some(vec!["GREETING=hi".to_string()]));
    assert_eq!(config.config.working_dir.as_deref(), Some("/app"));
    assert_eq!(config.os, "linux");
    // WORKDIR made /app, COPY wrote /app/hello.txt: one layer each; ENV is an empty layer.
    assert_eq!(config.rootfs.diff_ids.len(), 2);
    let created_by: Vec<_> = config
        .history
        .iter()
        .map(|h| (h.created_by.clone().unwrap_or_default(), h.empty_layer))
        .collect();
    assert_eq!(
        created_by,
        vec![
            ("/bin/sh -c #(nop) ENV GREETING=hi".to_string(), true),
            ("WORKDIR /app".to_string(), false),
            ("COPY hello.txt ./".to_string(), false),
        ]
    );
    // The COPY's layer holds the file where the WORKDIR put it.
    let layers = s.host.images().layer_dirs(&built.image_id).unwrap();
    let copied = layers.last().unwrap().join("app/hello.txt");
    assert_eq!(std::fs::read_to_string(copied).unwrap(), "hello\n");
    // One cache row per filesystem step (WORKDIR, COPY), and one for the state the first of
    // them mounts (FROM scratch + ENV, committed as its parent).
    let r = s.host.recorded();
    assert_eq!(r.cache_puts, 3);
    assert_eq!(r.cache.len(), 3);
    assert!(r.cache.values().any(|id| id == &built.image_id));
    assert!(r.runs.is_empty());
    assert_eq!(
        r.registered,
        vec![(
            built.image_id.clone(),
            vec!["example.com/app:1".to_string()]
        )]
    );
    assert!(lines.iter().any(|l| l == "#1 [1/3] FROM scratch"));
    assert!(
        lines
            .iter()
            .any(|l| l == "#4 naming to example.com/app:1 done"),
        "{lines:?}"
    );
    // Nothing left in the scratch dir.
    assert_eq!(std::fs::read_dir(&s.dirs.scratch).unwrap().count(), 0);
}

#[test]
fn a_cached_rebuild_asks_the_host_for_no_run_and_commits_nothing() {
    let s = setup();
    let dockerfile = "FROM scratch\nCOPY hello.txt /\nARG V=1\nRUN echo $V\n";
    let (first, _) = build(&s, dockerfile, &[]);
    let first = first.unwrap();
    {
        let r = s.host.recorded();
        assert_eq!(r.runs.len(), 1);
        let (argv, env) = &r.runs[0];
        assert_eq!(argv, &["/bin/sh", "-c", "echo $V"]);
        assert_eq!(env, &["V=1"]);
    }
    let puts = s.host.recorded().cache_puts;

    let (second, lines) = build(&s, dockerfile, &[]);
    assert_eq!(second.unwrap().image_id, first.image_id);
    let r = s.host.recorded();
    assert_eq!(r.runs.len(), 1, "a cached RUN runs nothing");
    assert_eq!(r.cache_puts, puts, "a cached rebuild writes no cache row");
    assert_eq!(lines.iter().filter(|l| l.ends_with(" CACHED")).count(), 2);
    drop(r);

    // Another value of the ARG the RUN sees is another state: the RUN runs again.
    let (third, _) = build(&s, dockerfile, &[("V", "2")]);
    assert_ne!(third.unwrap().image_id, first.image_id);
    let r = s.host.recorded();
    assert_eq!(r.runs.len(), 2);
    assert_eq!(r.runs[1].1, ["V=2"]);
}

#[test]
fn a_failing_run_is_a_step_failure_with_its_exit_code_and_caches_nothing() {
    let s = setup();
    s.host.recorded().run_exit = 3;
    let (result, lines) = build(&s, "FROM scratch\nRUN false\n", &[]);
    match result {
        Err(BuildError::StepFailed { message, code }) => {
            assert_eq!(code, 3);
            assert_eq!(
                message,
                "Dockerfile:2: The command '/bin/sh -c false' returned a non-zero code: 3"
            );
        }
        other => panic!("expected a step failure, got {other:?}"),
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("#2 ") && l.ends_with(" ran"))
    );
    let r = s.host.recorded();
    assert!(r.registered.is_empty());
    // The parent (scratch) was committed for the step's container; the step itself was not.
    assert_eq!(r.cache_puts, 1);
}

#[test]
fn host_errors_keep_their_message_and_exit_code() {
    let s = setup();
    let (result, _) = build(&s, "FROM scratch\nCOPY --chown=nobody hello.txt /\n", &[]);
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:2: COPY --chown=nobody: fake host: unknown user nobody"
    );
    assert_eq!(err.exit_code(), 1);
    let (result, _) = build(&s, "FROM busybox\n", &[]);
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Dockerfile:1: FROM busybox: fake host: No such image: busybox"
    );
}

#[test]
fn the_classic_style_shows_dockerds_steps_and_nothing_of_buildkits() {
    let s = setup();
    let request = BuildRequest {
        context_dir: s.context.clone(),
        dockerfile: "FROM scratch\nCOPY hello.txt /\nENV A=b\nRUN build\n".into(),
        dockerfile_name: "Dockerfile".into(),
        style: crate::ProgressStyle::Classic,
        ..Default::default()
    };
    let messages = Mutex::new(Vec::new());
    let progress = |text: &str| messages.lock().unwrap().push(text.to_string());
    let run = || crate::build(&s.host, &request, Vec::new(), &s.dirs, &progress);
    let built = run().unwrap();
    let first = std::mem::take(&mut *messages.lock().unwrap());
    let short = crate::short_id(&built.image_id);
    let arrow = |m: &String| m.starts_with(" ---> ") && m.len() == " ---> ".len() + 13;
    assert_eq!(first[0], "Step 1/4 : FROM scratch");
    assert_eq!(first[1], "\n");
    assert_eq!(first[2], " ---> \n", "scratch has no image");
    assert_eq!(first[3], "Step 2/4 : COPY hello.txt /");
    assert!(arrow(&first[5]), "{first:?}");
    assert_eq!(first[6], "Step 3/4 : ENV A=b");
    assert!(arrow(&first[8]), "{first:?}");
    assert_eq!(first[9], "Step 4/4 : RUN build");
    // The fake host runs no container: its output line only.
    assert_eq!(first[11], "ran\n");
    assert_eq!(first.last().unwrap(), &format!(" ---> {short}\n"));
    assert!(
        !first.iter().any(|m| m.starts_with('#')),
        "no BuildKit line: {first:?}"
    );
    // Again: every step but FROM from the cache, the same image.
    assert_eq!(run().unwrap().image_id, built.image_id);
    let again = messages.into_inner().unwrap();
    assert_eq!(
        again.iter().filter(|m| *m == " ---> Using cache\n").count(),
        3,
        "{again:?}"
    );
}
