//! Compiles `pause/pause.rs`, the pod sandbox's process, into a statically linked executable
//! that `image.rs` packages as the sandbox image (containerd cannot pull one here, and a user's
//! machine should not need to). std only, so plain `rustc` builds it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "pause/pause.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("pause");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024", "-C", "opt-level=s", "-C", "panic=abort", "-C", "strip=symbols"])
        .args(["-C", "target-feature=+crt-static", "-o"])
        .arg(&out)
        .arg(source)
        .status()
        .expect("running rustc for the pause program");
    assert!(status.success(), "compiling {source} failed");
}
