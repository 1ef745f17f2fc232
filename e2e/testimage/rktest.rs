//! `rktest`: the program inside rkube's e2e test image, in the spirit of upstream's agnhost. One
//! statically linked binary (std only, compiled by `e2e/build.rs`) whose first argument picks a
//! behaviour the tests need:
//!
//! ```text
//! rktest pause                                  sleep until SIGTERM/SIGINT (exit 0)
//! rktest sleep SECONDS                          sleep, then exit 0
//! rktest exit CODE [MESSAGE [FILE]]             write MESSAGE to FILE (default
//!                                               /dev/termination-log) and stdout, exit with CODE
//! rktest echo WORDS...                          print the words on one line
//! rktest print-env                              print the environment, sorted, NAME=VALUE
//! rktest cat FILES...                           print files ("-": stdin until EOF)
//! rktest write FILE TEXT                        write TEXT to FILE
//! rktest lines COUNT [INTERVAL_MS]              print "line 1".. "line COUNT", then pause
//! rktest serve-hostname [PORT]                  HTTP: every path answers the hostname (9376)
//! rktest netexec [HTTP_PORT [UDP_PORT]]         HTTP (8080) and UDP (8081) echo servers
//! rktest liveness [PORT [HEALTHY_SECONDS]]      HTTP /healthz: 200, then 500 after the delay
//! ```
//!
//! netexec's HTTP paths: `/` and `/hostname` (the hostname), `/echo?msg=M` (M), `/healthz`
//! (ok), `/env?name=N` (the variable), `/exit?code=C` (exits with C). Its UDP server answers
//! `hostname` with the hostname and echoes anything else.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::raw::c_int;
use std::time::{Duration, Instant};

unsafe extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn _exit(status: c_int) -> !;
}

extern "C" fn on_stop(_: c_int) {
    unsafe { _exit(0) }
}

/// PID 1 of a container ignores SIGTERM without a handler: every long-running mode installs
/// one, so a graceful delete ends the container at once.
fn exit_on_sigterm() {
    unsafe {
        signal(2, on_stop);
        signal(15, on_stop);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("");
    let rest = &args[args.len().min(2)..];
    let code = match mode {
        "pause" => pause(),
        "sleep" => {
            exit_on_sigterm();
            std::thread::sleep(Duration::from_secs_f64(number(rest.first(), 0.0)));
            0
        }
        "exit" => exit_with(rest),
        "echo" => {
            println!("{}", rest.join(" "));
            0
        }
        "print-env" => {
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            for (name, value) in vars {
                println!("{name}={value}");
            }
            0
        }
        "cat" => cat(rest),
        "write" => match (rest.first(), rest.get(1)) {
            (Some(file), Some(text)) => report(std::fs::write(file, text)),
            _ => usage(),
        },
        "lines" => {
            exit_on_sigterm();
            let count = number(rest.first(), 10.0) as u64;
            let interval = Duration::from_millis(number(rest.get(1), 0.0) as u64);
            for i in 1..=count {
                println!("line {i}");
                std::thread::sleep(interval);
            }
            pause()
        }
        "serve-hostname" => serve_http(number(rest.first(), 9376.0) as u16, |_| Reply::ok(hostname())),
        "netexec" => netexec(number(rest.first(), 8080.0) as u16, number(rest.get(1), 8081.0) as u16),
        "liveness" => {
            let started = Instant::now();
            let healthy_for = Duration::from_secs_f64(number(rest.get(1), 10.0));
            serve_http(number(rest.first(), 8080.0) as u16, move |_| {
                if started.elapsed() < healthy_for {
                    Reply::ok("ok".into())
                } else {
                    Reply { status: 500, body: format!("unhealthy after {healthy_for:?}") }
                }
            })
        }
        _ => usage(),
    };
    std::process::exit(code);
}

fn usage() -> i32 {
    eprintln!("usage: rktest pause|sleep|exit|echo|print-env|cat|write|lines|serve-hostname|netexec|liveness ...");
    2
}

fn number(arg: Option<&String>, default: f64) -> f64 {
    arg.and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn report(result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rktest: {e}");
            1
        }
    }
}

fn pause() -> i32 {
    exit_on_sigterm();
    loop {
        std::thread::park();
    }
}

fn exit_with(rest: &[String]) -> i32 {
    let code = number(rest.first(), 0.0) as i32;
    if let Some(message) = rest.get(1) {
        println!("{message}");
        let file = rest.get(2).map(String::as_str).unwrap_or("/dev/termination-log");
        if let Err(e) = std::fs::write(file, message) {
            eprintln!("rktest: writing {file}: {e}");
        }
    }
    code
}

fn cat(files: &[String]) -> i32 {
    let mut out = std::io::stdout().lock();
    for file in files {
        let result = if file == "-" {
            std::io::copy(&mut std::io::stdin().lock(), &mut out).map(|_| ())
        } else {
            std::fs::read(file).and_then(|bytes| out.write_all(&bytes))
        };
        if let Err(e) = result {
            eprintln!("rktest: {file}: {e}");
            return 1;
        }
    }
    report(out.flush())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    fn ok(body: String) -> Self {
        Self { status: 200, body }
    }
}

/// A minimal HTTP/1.1 server: one thread per connection, one request per connection.
fn serve_http(port: u16, handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> i32 {
    exit_on_sigterm();
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("rktest: listen on {port}: {e}");
            return 1;
        }
    };
    println!("serving HTTP on port {port}");
    let handler = std::sync::Arc::new(handler);
    for stream in listener.incoming().flatten() {
        let handler = handler.clone();
        std::thread::spawn(move || answer(stream, &*handler));
    }
    0
}

fn answer(stream: TcpStream, handler: &dyn Fn(&str) -> Reply) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers; bodies are not used.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        line.clear();
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let reply = handler(target);
    let reason = if reply.status == 200 { "OK" } else { "Error" };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.body.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.body.as_bytes()));
}

fn query<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = target.split_once('?')?;
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn netexec(http_port: u16, udp_port: u16) -> i32 {
    match UdpSocket::bind(("0.0.0.0", udp_port)) {
        Ok(socket) => {
            std::thread::spawn(move || udp_echo(socket));
        }
        Err(e) => {
            eprintln!("rktest: udp {udp_port}: {e}");
            return 1;
        }
    }
    serve_http(http_port, |target| {
        let path = target.split('?').next().unwrap_or("/");
        match path {
            "/" | "/hostname" => Reply::ok(hostname()),
            "/healthz" => Reply::ok("ok".into()),
            "/echo" => Reply::ok(query(target, "msg").unwrap_or("").to_string()),
            "/env" => Reply::ok(query(target, "name").and_then(|n| std::env::var(n).ok()).unwrap_or_default()),
            "/exit" => std::process::exit(query(target, "code").and_then(|c| c.parse().ok()).unwrap_or(0)),
            _ => Reply { status: 404, body: format!("no such path: {path}") },
        }
    })
}

fn udp_echo(socket: UdpSocket) {
    let mut buf = [0u8; 2048];
    while let Ok((n, peer)) = socket.recv_from(&mut buf) {
        let reply = if &buf[..n] == b"hostname" || &buf[..n] == b"hostname\n" {
            hostname().into_bytes()
        } else {
            buf[..n].to_vec()
        };
        let _ = socket.send_to(&reply, peer);
    }
}
