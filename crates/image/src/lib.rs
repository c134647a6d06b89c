//! berth-image: the content-addressed image store.
//!
//! Owns, under its root directory: `blobs/sha256/<hex>` (OCI image layout: layer tars, image
//! configs, OCI manifests), `images/<config hex>` (which manifest an image id uses), layers
//! unpacked once by chain id under `layers/<chain id hex>/` (each holds one layer's diff, with
//! overlayfs whiteouts, ready to be an overlay lowerdir), and `tmp/` for in-progress writes.
//! It imports rootfs tarballs as images, parses and writes Docker/OCI image configs, and applies
//! `docker import/commit --change` instructions to a config ([`apply_change`]).
//!
//! Every write is atomic (tmp/ -> fsync -> rename); a killed process leaves at most junk in tmp/,
//! which [`Store::gc`] removes. Layer tars are untrusted: see `unpack.rs` for the extraction rules.
//!
//! Must not: start processes, know container or image *names* (the engine's database maps names
//! to image ids), mount anything, or write outside its root.

pub mod archive;
mod change;
mod config;
pub mod diff;
pub mod digest;
mod error;
pub mod rootpath;
mod store;
mod unpack;

pub use change::{apply_change, apply_change_with, clean_abs};
pub use config::{
    ContainerConfig, Descriptor, History, ImageConfig, MEDIA_CONFIG_OCI, MEDIA_DOCKER_LAYER_GZIP,
    MEDIA_DOCKER_LAYER_TAR, MEDIA_LAYER_GZIP, MEDIA_LAYER_TAR, MEDIA_LAYER_ZSTD,
    MEDIA_MANIFEST_OCI, Manifest, RootFs, host_arch,
};
pub use error::Error;
pub use store::{Image, Store};

#[cfg(test)]
mod tests;
