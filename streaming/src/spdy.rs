//! SPDY/3.1 as Kubernetes speaks it (moby/spdystream), client side: the framing, the
//! zlib-compressed name/value header blocks, and a session that opens streams, waits for their
//! SYN_REPLY, sends data (with FIN for a half-close), hands each stream's incoming data to its
//! reader and echoes pings. spdystream has no flow control (it never sends WINDOW_UPDATE), so
//! neither does this. A client never needs to read header blocks (servers only reply, with
//! empty headers), so they are skipped rather than inflated.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, FlushCompress};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

pub const SYN_STREAM: u16 = 1;
pub const SYN_REPLY: u16 = 2;
pub const RST_STREAM: u16 = 3;
pub const SETTINGS: u16 = 4;
pub const PING: u16 = 6;
pub const GOAWAY: u16 = 7;
pub const HEADERS: u16 = 8;
pub const WINDOW_UPDATE: u16 = 9;
pub const FLAG_FIN: u8 = 0x01;
/// RST_STREAM status CANCEL.
pub const CANCEL: u32 = 5;

/// A frame as read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Control { kind: u16, flags: u8, payload: Bytes },
    Data { stream: u32, flags: u8, payload: Bytes },
}

/// The name/value block of SPDY/3 (32-bit lengths, lowercase names), before compression.
pub fn header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u32(headers.len() as u32);
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        out.put_u32(name.len() as u32);
        out.put_slice(name.as_bytes());
        out.put_u32(value.len() as u32);
        out.put_slice(value.as_bytes());
    }
    out
}

pub fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.put_u16(0x8003);
    out.put_u16(kind);
    out.put_u32((u32::from(flags) << 24) | (payload.len() as u32 & 0x00ff_ffff));
    out.put_slice(payload);
    out
}

pub fn data(stream: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.put_u32(stream & 0x7fff_ffff);
    out.put_u32((u32::from(flags) << 24) | (payload.len() as u32 & 0x00ff_ffff));
    out.put_slice(payload);
    out
}

/// Reads one frame.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Frame> {
    let mut head = [0u8; 8];
    reader.read_exact(&mut head).await?;
    let mut h = &head[..];
    let first = h.get_u32();
    let second = h.get_u32();
    let flags = (second >> 24) as u8;
    let length = (second & 0x00ff_ffff) as usize;
    let mut payload = vec![0u8; length];
    reader.read_exact(&mut payload).await?;
    Ok(if first & 0x8000_0000 != 0 {
        Frame::Control { kind: (first & 0xffff) as u16, flags, payload: Bytes::from(payload) }
    } else {
        Frame::Data { stream: first & 0x7fff_ffff, flags, payload: Bytes::from(payload) }
    })
}

/// The write side: frames go out whole, one at a time; header blocks share one zlib stream,
/// sync-flushed after each block, as the SPDY/3 reader on the other side expects.
struct Writer<W> {
    io: W,
    zlib: Compress,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    fn compress(&mut self, block: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut input = block;
        loop {
            out.reserve(256);
            let before = self.zlib.total_in();
            self.zlib.compress_vec(input, &mut out, FlushCompress::Sync).map_err(std::io::Error::other)?;
            input = &input[(self.zlib.total_in() - before) as usize..];
            // Done when all input is in and the flush did not run out of room.
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }

    async fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        self.io.write_all(frame).await?;
        self.io.flush().await
    }
}

/// One stream's incoming side: its data, ending at FIN or reset.
pub type Incoming = mpsc::UnboundedReceiver<Bytes>;

#[derive(Default)]
struct Streams {
    readers: HashMap<u32, mpsc::UnboundedSender<Bytes>>,
    replies: HashMap<u32, oneshot::Sender<()>>,
    closed: bool,
}

/// A client session on an upgraded connection.
pub struct Session<W> {
    writer: Arc<tokio::sync::Mutex<Writer<W>>>,
    streams: Arc<Mutex<Streams>>,
    next_id: Mutex<u32>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> Session<W> {
    /// Starts the session: `reader` and `writer` are the two halves of the connection.
    pub fn start<R: AsyncRead + Unpin + Send + 'static>(reader: R, writer: W) -> Arc<Self> {
        let session = Arc::new(Session {
            writer: Arc::new(tokio::sync::Mutex::new(Writer {
                io: writer,
                zlib: Compress::new(Compression::fast(), true),
            })),
            streams: Arc::new(Mutex::new(Streams::default())),
            next_id: Mutex::new(1),
        });
        let (streams, writer) = (session.streams.clone(), session.writer.clone());
        tokio::spawn(async move {
            let mut reader = reader;
            loop {
                match read_frame(&mut reader).await {
                    Ok(frame) => {
                        if !dispatch(&streams, &writer, frame).await {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "SPDY session ended");
                        break;
                    }
                }
            }
            let mut s = streams.lock().unwrap_or_else(|e| e.into_inner());
            s.closed = true;
            s.readers.clear();
            s.replies.clear();
        });
        session
    }

    /// Opens a stream with `headers` and waits for the server's SYN_REPLY (data sent before it
    /// would be dropped by spdystream).
    pub async fn open(&self, headers: &[(&str, &str)]) -> std::io::Result<(u32, Incoming)> {
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|e| e.into_inner());
            let id = *next;
            *next += 2;
            id
        };
        let (reader, incoming) = mpsc::unbounded_channel();
        let (replied, reply) = oneshot::channel();
        {
            let mut s = self.streams.lock().unwrap_or_else(|e| e.into_inner());
            if s.closed {
                return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "SPDY session closed"));
            }
            s.readers.insert(id, reader);
            s.replies.insert(id, replied);
        }
        {
            let mut writer = self.writer.lock().await;
            let block = writer.compress(&header_block(headers))?;
            let mut payload = BytesMut::with_capacity(10 + block.len());
            payload.put_u32(id);
            payload.put_u32(0);
            payload.put_u8(0);
            payload.put_u8(0);
            payload.put_slice(&block);
            writer.send(&control(SYN_STREAM, 0, &payload)).await?;
        }
        match tokio::time::timeout(std::time::Duration::from_secs(30), reply).await {
            Ok(Ok(())) => Ok((id, incoming)),
            Ok(Err(_)) => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "stream refused")),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply to a new stream within 30s")),
        }
    }

    /// Sends `bytes` on `stream`; `fin` half-closes it.
    pub async fn send(&self, stream: u32, bytes: &[u8], fin: bool) -> std::io::Result<()> {
        let mut writer = self.writer.lock().await;
        // spdystream refuses frames over 16 MiB; chunk to stay far below.
        let mut chunks = bytes.chunks(32 * 1024).peekable();
        if chunks.peek().is_none() {
            return writer.send(&data(stream, if fin { FLAG_FIN } else { 0 }, &[])).await;
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            writer.send(&data(stream, if fin && last { FLAG_FIN } else { 0 }, chunk)).await?;
        }
        Ok(())
    }

    /// Resets `stream` (RST_STREAM CANCEL).
    pub async fn reset(&self, stream: u32) -> std::io::Result<()> {
        let mut payload = Vec::with_capacity(8);
        payload.put_u32(stream);
        payload.put_u32(CANCEL);
        self.writer.lock().await.send(&control(RST_STREAM, 0, &payload)).await
    }

    /// Ends the session (GOAWAY).
    pub async fn close(&self) {
        let mut payload = Vec::with_capacity(8);
        payload.put_u32(0);
        payload.put_u32(0);
        let mut writer = self.writer.lock().await;
        let _ = writer.send(&control(GOAWAY, 0, &payload)).await;
        let _ = writer.io.shutdown().await;
    }
}

/// Handles one incoming frame; `false` ends the session.
async fn dispatch<W: AsyncWrite + Unpin>(
    streams: &Mutex<Streams>,
    writer: &tokio::sync::Mutex<Writer<W>>,
    frame: Frame,
) -> bool {
    match frame {
        Frame::Data { stream, flags, payload } => {
            let mut s = streams.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(reader) = s.readers.get(&stream)
                && !payload.is_empty()
            {
                let _ = reader.send(payload);
            }
            if flags & FLAG_FIN != 0 {
                s.readers.remove(&stream);
            }
        }
        Frame::Control { kind, flags, payload } => {
            let stream = (payload.len() >= 4).then(|| (&payload[..4]).get_u32() & 0x7fff_ffff);
            match kind {
                SYN_REPLY => {
                    let mut s = streams.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(id) = stream {
                        if let Some(replied) = s.replies.remove(&id) {
                            let _ = replied.send(());
                        }
                        if flags & FLAG_FIN != 0 {
                            s.readers.remove(&id);
                        }
                    }
                }
                RST_STREAM => {
                    let mut s = streams.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(id) = stream {
                        s.readers.remove(&id);
                        s.replies.remove(&id);
                    }
                }
                HEADERS => {
                    if let (Some(id), true) = (stream, flags & FLAG_FIN != 0) {
                        streams.lock().unwrap_or_else(|e| e.into_inner()).readers.remove(&id);
                    }
                }
                PING
                    // Odd IDs are ours (client); the server's even pings are echoed.
                    if stream.is_some_and(|id| id % 2 == 0) => {
                        let _ = writer.lock().await.send(&control(PING, 0, &payload)).await;
                    }
                GOAWAY => return false,
                // SETTINGS, WINDOW_UPDATE and the rest carry nothing a client here needs.
                _ => {}
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_header_blocks_inflate() {
        let payload = control(SYN_REPLY, FLAG_FIN, &[0, 0, 0, 7]);
        let frame = read_frame(&mut &payload[..]).await.unwrap();
        assert_eq!(
            frame,
            Frame::Control { kind: SYN_REPLY, flags: FLAG_FIN, payload: Bytes::from_static(&[0, 0, 0, 7]) }
        );
        let bytes = data(5, 0, b"hello");
        assert_eq!(&bytes[..8], &[0, 0, 0, 5, 0, 0, 0, 5]);
        assert_eq!(
            read_frame(&mut &bytes[..]).await.unwrap(),
            Frame::Data { stream: 5, flags: 0, payload: Bytes::from_static(b"hello") }
        );

        // Two blocks from one zlib stream, as a SPDY peer reads them.
        let mut writer = Writer { io: Vec::new(), zlib: Compress::new(Compression::fast(), true) };
        let first = writer.compress(&header_block(&[("streamType", "error")])).unwrap();
        let second = writer.compress(&header_block(&[("streamtype", "stdout")])).unwrap();
        let mut inflate = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(1024);
        inflate.decompress_vec(&first, &mut out, flate2::FlushDecompress::Sync).unwrap();
        assert_eq!(out, header_block(&[("streamtype", "error")]));
        out.clear();
        inflate.decompress_vec(&second, &mut out, flate2::FlushDecompress::Sync).unwrap();
        assert_eq!(out, header_block(&[("streamtype", "stdout")]));
    }
}
