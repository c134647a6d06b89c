//! berth-image: the content-addressed image store.
//!
//! Owns: `blobs/sha256/<hex>` (OCI image layout), image configs and manifests, layers unpacked
//! once by chain id under `layers/`, and importing rootfs tarballs as images.
//!
//! Must not: start processes, know container or image *names* (the engine's database maps names
//! to image ids), or write outside its root.
