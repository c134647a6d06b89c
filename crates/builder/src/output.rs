//! `--output type=local|tar`: the result's filesystem exported out of the image store, read
//! through a read-only view of the image's layers (a scratch overlay, removed afterwards).

use std::path::Path;

use crate::fs_step::Scratch;
use crate::{BuildError, BuildHost, Output};

impl Output {
    pub fn describe(&self) -> String {
        match self {
            Output::Local(dir) => format!("client directory {}", dir.display()),
            Output::Tar(file) => format!("client tarball {}", file.display()),
        }
    }
}

/// Writes `image`'s files to `output`.
pub fn export<H: BuildHost>(
    host: &H,
    scratch: &Path,
    image: &str,
    output: &Output,
) -> Result<(), BuildError<H::Error>> {
    let view = Scratch::mount(host, scratch, Some(image))?;
    match output {
        Output::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| BuildError::io(format!("creating {}", dir.display()), e))?;
            let files = [crate::copy::SourceFile {
                path: view.merged.clone(),
                keep_owner: true,
                extract: false,
            }];
            let options = crate::copy::CopyOptions {
                in_context: None,
                owner: None,
                mode: None,
                extract_archives: false,
            };
            crate::copy::copy(dir, &files, "/", &options).map_err(|e| {
                BuildError::Internal(format!("exporting to {}: {e}", dir.display()))
            })?;
        }
        Output::Tar(file) => {
            let out = std::fs::File::create(file)
                .map_err(|e| BuildError::io(format!("creating {}", file.display()), e))?;
            let mut tar = tar::Builder::new(std::io::BufWriter::new(out));
            tar.follow_symlinks(false);
            tar.append_dir_all(".", &view.merged)
                .and_then(|_| tar.into_inner().map(drop))
                .map_err(|e| BuildError::io(format!("writing {}", file.display()), e))?;
        }
    }
    Ok(())
}
