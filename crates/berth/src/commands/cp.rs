//! `berth cp [-a] SRC DEST`: copies between a container and the host with docker cp's rules
//! (`CONTAINER:PATH` on one side, `-` for a tar on stdin/stdout). The container side goes through
//! the same engine calls as `GET/PUT /containers/{id}/archive`; the host side is this file's.
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_engine::container_archive::ExtractOptions;

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    follow_link: bool,
    src: String,
    dest: String,
}

/// `CONTAINER:PATH` -> (container, path); a host path (with no colon before any slash) -> None.
fn split_container(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    let (container, path) = arg.split_once(':')?;
    (!container.is_empty() && !container.contains('/')).then_some((container, path))
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::usage(message.into())
}

/// The name the last component of `path` has (`/a/b/` -> `b`, `/a/b/.` -> `b`).
fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches("/.").trim_end_matches('/');
    trimmed
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(".")
        .to_string()
}

fn copies_contents(path: &str) -> bool {
    path.ends_with("/.") || path == "."
}

pub fn run(engine: &berth_engine::Engine, args: Args) -> Result<i32, CliError> {
    match (split_container(&args.src), split_container(&args.dest)) {
        (Some(_), Some(_)) => Err(usage("copying between containers is not supported")),
        (None, None) => Err(usage("must specify at least one container source")),
        (Some((container, path)), None) => copy_out(engine, container, path, &args.dest),
        (None, Some((container, path))) => copy_in(engine, &args, container, path),
    }
}

fn copy_out(
    engine: &berth_engine::Engine,
    container: &str,
    path: &str,
    dest: &str,
) -> Result<i32, CliError> {
    if dest == "-" {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        engine.container_archive(container, path, &mut out)?;
        out.flush()
            .map_err(|e| CliError::usage(format!("writing the archive: {e}")))?;
        return Ok(0);
    }
    let stat = engine.container_path_stat(container, path)?;
    let is_dir = stat.mode & (1 << 31) != 0;
    let dest_path = Path::new(dest);
    let dest_is_dir = dest_path.is_dir();
    if !dest_path.exists() && dest.ends_with('/') && !is_dir {
        return Err(CliError::usage(format!(
            "destination directory {dest} does not exist"
        )));
    }
    if dest_path.exists() && !dest_is_dir && is_dir {
        return Err(CliError::usage(format!(
            "cannot copy a directory to a file: {dest}"
        )));
    }
    // Where the copied path itself lands, and whether its contents merge into an existing dir.
    let (target, merge) = if dest_is_dir && !(is_dir && copies_contents(path)) {
        (dest_path.join(&stat.name), false)
    } else {
        (dest_path.to_path_buf(), dest_is_dir)
    };
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".berth-cp-")
        .tempdir_in(parent)
        .map_err(|e| CliError::usage(format!("{}: {e}", parent.display())))?;
    // The archive streams through a pipe into the unpacker, never whole in memory. tar's
    // unpack keeps every entry inside the scratch dir, whatever links the archive holds.
    let (reader, writer) =
        std::io::pipe().map_err(|e| CliError::usage(format!("creating a pipe: {e}")))?;
    let unpacker = std::thread::spawn({
        let scratch = scratch.path().to_path_buf();
        move || tar::Archive::new(reader).unpack(scratch)
    });
    let archived = engine.container_archive(container, path, writer);
    let unpacked = unpacker
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the unpacker panicked")));
    archived?;
    unpacked.map_err(|e| CliError::usage(format!("extracting {path}: {e}")))?;
    let unpacked = scratch.path().join(if stat.name == "/" {
        "."
    } else {
        stat.name.as_str()
    });
    move_into(&unpacked, &target, merge)
        .map_err(|e| CliError::usage(format!("copying to {}: {e}", target.display())))?;
    Ok(0)
}

/// Renames `from` onto `to`; with `merge`, a directory's entries go into the existing `to`.
fn move_into(from: &Path, to: &Path, merge: bool) -> std::io::Result<()> {
    let existing_dir = std::fs::symlink_metadata(to)
        .map(|m| m.is_dir())
        .unwrap_or(false);
    if merge && existing_dir && from.is_dir() {
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let into: PathBuf = to.join(entry.file_name());
            let merge_child = entry.file_type()?.is_dir();
            move_into(&entry.path(), &into, merge_child)?;
        }
        return Ok(());
    }
    if existing_dir && !from.is_dir() {
        return Err(std::io::Error::other(
            "cannot overwrite a directory with a file",
        ));
    }
    if existing_dir {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::rename(from, to)
}

fn copy_in(
    engine: &berth_engine::Engine,
    args: &Args,
    container: &str,
    path: &str,
) -> Result<i32, CliError> {
    let options = ExtractOptions {
        no_overwrite_dir_non_dir: true,
        copy_uid_gid: args.archive,
    };
    if args.src == "-" {
        engine.extract_to_container(container, path, std::io::stdin().lock(), options)?;
        return Ok(0);
    }
    let src = Path::new(&args.src);
    let src_meta = if args.follow_link {
        std::fs::metadata(src)
    } else {
        std::fs::symlink_metadata(src)
    }
    .map_err(|e| CliError::usage(format!("lstat {}: {e}", args.src)))?;
    let dest_stat = match engine.container_path_stat(container, path) {
        Ok(stat) => Some(stat),
        Err(berth_engine::Error::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let dest_is_dir = dest_stat.as_ref().is_some_and(|s| s.mode & (1 << 31) != 0);
    let (extract_at, name, contents) = if dest_is_dir {
        (
            path.to_string(),
            base_name(&args.src),
            src_meta.is_dir() && copies_contents(&args.src),
        )
    } else {
        if dest_stat.is_none() && path.ends_with('/') && !src_meta.is_dir() {
            return Err(CliError::usage(format!(
                "destination directory {path} does not exist"
            )));
        }
        if dest_stat.is_some() && src_meta.is_dir() {
            return Err(CliError::usage(format!(
                "cannot copy a directory to a file: {path}"
            )));
        }
        let trimmed = path.trim_end_matches('/');
        let parent = match trimmed.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((p, _)) => p.to_string(),
        };
        (parent, base_name(path), false)
    };
    // The archive is made by a thread into a pipe while the engine extracts from it.
    let (reader, writer) =
        std::io::pipe().map_err(|e| CliError::usage(format!("creating a pipe: {e}")))?;
    let follow_link = args.follow_link;
    let source = src.to_path_buf();
    let archiver = std::thread::spawn(move || -> std::io::Result<()> {
        let mut tar = tar::Builder::new(writer);
        tar.follow_symlinks(follow_link);
        if src_meta.is_dir() {
            tar.append_dir_all(if contents { "." } else { name.as_str() }, &source)?;
        } else {
            tar.append_path_with_name(&source, &name)?;
        }
        tar.into_inner()?.flush()
    });
    let extracted = engine.extract_to_container(container, &extract_at, reader, options);
    let archived = archiver
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the archiver panicked")));
    // A failed archive ends the pipe early: its own error says more than the extractor's.
    archived.map_err(|e| CliError::usage(format!("archiving {}: {e}", args.src)))?;
    extracted?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_arguments_are_told_from_host_paths() {
        assert_eq!(split_container("c1:/etc"), Some(("c1", "/etc")));
        assert_eq!(split_container("./a:b"), None);
        assert_eq!(split_container("/tmp/x:y"), None);
        assert_eq!(split_container("file"), None);
        assert_eq!(base_name("/a/b/."), "b");
        assert_eq!(base_name("/a/b/"), "b");
    }
}
