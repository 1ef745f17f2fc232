//! Compiles `testimage/rktest.rs`, the program inside the e2e test image, into a statically
//! linked executable (std only, so plain `rustc` builds it); `testimage.rs` packages it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let source = "testimage/rktest.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("rktest");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024", "-C", "opt-level=s", "-C", "strip=symbols"])
        .args(["-C", "target-feature=+crt-static", "-o"])
        .arg(&out)
        .arg(source)
        .status()
        .expect("running rustc for the test program");
    assert!(status.success(), "compiling {source} failed");
}
