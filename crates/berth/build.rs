//! Links the berth binary as a position-dependent executable: it is exec'd for every CLI
//! command and every container's shim, and a PIE of this size spends milliseconds applying
//! ~24,000 relative relocations at each start (and keeps the relocated pages as private memory).
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
