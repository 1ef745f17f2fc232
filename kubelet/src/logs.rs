//! Container logs in the CRI format the runtime writes (`<RFC3339Nano> <stdout|stderr> <F|P>
//! <content>`, `P` for a partial line continued by the next entry) and what `kubectl logs`
//! asks of them (upstream's `kuberuntime/logs`): tailLines, sinceTime, timestamps and
//! limitBytes over a file, and following it while the container runs.

use std::path::Path;

use k8s_openapi::jiff::Timestamp;

/// One entry of a CRI log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub time: &'a str,
    pub stream: &'a str,
    /// `false` for a `P` entry: the line goes on in the next entry.
    pub full: bool,
    pub content: &'a [u8],
}

/// Parses one line of a CRI log file (without its newline).
pub fn parse(line: &[u8]) -> Option<Entry<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?;
    let tag = parts.next()?;
    let content = parts.next().unwrap_or_default();
    if stream != "stdout" && stream != "stderr" {
        return None;
    }
    // Tags are `F`, `P` or several separated by `:`; the first says full or partial.
    let full = tag.split(|b| *b == b':').next() != Some(b"P");
    Some(Entry { time, stream, full, content })
}

/// The timestamp as upstream prints it with `--timestamps`: RFC 3339 with exactly nine
/// fraction digits.
pub fn fixed_nanos(time: &str) -> String {
    match time.parse::<Timestamp>() {
        Ok(t) => format!("{}.{:09}Z", t.strftime("%Y-%m-%dT%H:%M:%S"), t.subsec_nanosecond()),
        Err(_) => time.to_string(),
    }
}

/// What `kubectl logs` asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub tail_lines: Option<usize>,
    pub since: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

/// Renders entries as the client sees them: the content, a newline after full lines, the
/// timestamp in front when asked (only at the start of a line).
pub struct Renderer {
    timestamps: bool,
    at_line_start: bool,
}

impl Renderer {
    pub fn new(timestamps: bool) -> Self {
        Renderer { timestamps, at_line_start: true }
    }

    pub fn render(&mut self, entry: &Entry<'_>, out: &mut Vec<u8>) {
        if self.timestamps && self.at_line_start {
            out.extend_from_slice(fixed_nanos(entry.time).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(entry.content);
        if entry.full {
            out.push(b'\n');
        }
        self.at_line_start = entry.full;
    }
}

/// Offset in `data` where the last `lines` full lines start (entries of partial lines belong
/// to the line they end in).
fn tail_start(data: &[u8], lines: usize) -> usize {
    if lines == 0 {
        return data.len();
    }
    let mut seen = 0;
    let mut end = data.len();
    // Walk entries backwards; count an entry that ends a line (F).
    while end > 0 {
        let line_end = if data[end - 1] == b'\n' { end - 1 } else { end };
        let start = data[..line_end].iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
        if parse(&data[start..line_end]).is_some_and(|e| e.full) {
            seen += 1;
            if seen > lines {
                return end;
            }
        }
        end = start;
    }
    0
}

/// Renders what `options` select from the log bytes `data` (a whole file as read now).
pub fn select(data: &[u8], options: &Options) -> Vec<u8> {
    let start = options.tail_lines.map(|n| tail_start(data, n)).unwrap_or(0);
    let mut renderer = Renderer::new(options.timestamps);
    let mut out = Vec::new();
    for line in data[start..].split(|b| *b == b'\n') {
        let Some(entry) = parse(line) else { continue };
        if let Some(since) = options.since
            && entry.time.parse::<Timestamp>().is_ok_and(|t| t < since)
        {
            continue;
        }
        renderer.render(&entry, &mut out);
        if options.limit_bytes.is_some_and(|limit| out.len() >= limit) {
            break;
        }
    }
    if let Some(limit) = options.limit_bytes {
        out.truncate(limit);
    }
    out
}

/// The last `lines` lines of a container's log as text, at most `max_bytes` (termination
/// messages with FallbackToLogsOnError).
pub fn tail_text(path: &Path, lines: usize, max_bytes: usize) -> String {
    let Ok(data) = std::fs::read(path) else { return String::new() };
    let mut text = select(&data, &Options { tail_lines: Some(lines), ..Options::default() });
    if text.len() > max_bytes {
        text.drain(..text.len() - max_bytes);
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-01-01T00:00:01.5Z stdout F one\n2026-01-01T00:00:02Z stderr P tw\n2026-01-01T00:00:02.1Z stderr F o\n2026-01-01T00:00:03.123456789Z stdout F three\n";

    #[test]
    fn entries_parse_with_partial_lines() {
        let e = parse(b"2026-01-01T00:00:02Z stderr P tw").unwrap();
        assert_eq!((e.time, e.stream, e.full, e.content), ("2026-01-01T00:00:02Z", "stderr", false, &b"tw"[..]));
        assert!(parse(b"garbage").is_none());
        assert_eq!(parse(b"2026-01-01T00:00:02Z stdout F ").unwrap().content, b"");
    }

    #[test]
    fn selection_follows_kubectl_options() {
        assert_eq!(select(LOG, &Options::default()), b"one\ntwo\nthree\n");
        assert_eq!(select(LOG, &Options { tail_lines: Some(2), ..Options::default() }), b"two\nthree\n");
        assert_eq!(select(LOG, &Options { tail_lines: Some(0), ..Options::default() }), b"");
        assert_eq!(select(LOG, &Options { tail_lines: Some(10), ..Options::default() }), b"one\ntwo\nthree\n");
        assert_eq!(select(LOG, &Options { limit_bytes: Some(6), ..Options::default() }), b"one\ntw");
        let since = "2026-01-01T00:00:03Z".parse().unwrap();
        assert_eq!(select(LOG, &Options { since: Some(since), ..Options::default() }), b"three\n");
        let stamped = select(LOG, &Options { timestamps: true, tail_lines: Some(1), ..Options::default() });
        assert_eq!(stamped, b"2026-01-01T00:00:03.123456789Z three\n");
        assert_eq!(fixed_nanos("2026-01-01T00:00:01.5Z"), "2026-01-01T00:00:01.500000000Z");
        assert_eq!(fixed_nanos("2026-01-01T00:00:02Z"), "2026-01-01T00:00:02.000000000Z");
    }
}
