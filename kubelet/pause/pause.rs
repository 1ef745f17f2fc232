//! The pod sandbox's process: it holds the pod's namespaces open and does nothing else. PID 1 of
//! a shared PID namespace must reap orphans, and PID 1 ignores signals it has no handler for, so
//! it handles SIGINT/SIGTERM (exit) and SIGCHLD (reap). Compiled statically by `build.rs`
//! (std only, no crates) and packaged as the sandbox image in `image.rs`.

use std::os::raw::c_int;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
const SIGCHLD: c_int = 17;
const WNOHANG: c_int = 1;

unsafe extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn pause() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(status: c_int) -> !;
}

extern "C" fn on_stop(_: c_int) {
    unsafe { _exit(0) }
}

extern "C" fn on_child(_: c_int) {
    let mut status = 0;
    while unsafe { waitpid(-1, &mut status, WNOHANG) } > 0 {}
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("-v") {
        println!("rkube pause");
        return;
    }
    unsafe {
        signal(SIGINT, on_stop);
        signal(SIGTERM, on_stop);
        signal(SIGCHLD, on_child);
        loop {
            pause();
        }
    }
}
