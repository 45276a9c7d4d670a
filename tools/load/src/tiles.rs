//! Full hash tiles served per second over HTTP (C2SP tlog-tiles), the way a mirror or an
//! auditor fetching the whole log reads them: keep-alive connections, random full level-0
//! tiles of the current tree, every response checked for status 200 and 8,192 bytes, and one
//! in 1,000 checked against the signed root through its level-1 tile.

use anyhow::{anyhow, bail, Context as _};
use greenledger_core::log::merkle::node_hash;
use greenledger_core::log::tiles::{encode_index, TILE_WIDTH};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One HTTP/1.1 keep-alive connection that GETs paths and returns status and body.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream: BufReader::new(stream), host: addr.to_string() })
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.ok_or_else(|| anyhow!("no Content-Length for {path}"))?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn tile_path(level: u8, index: u64) -> String {
    format!("tile/{level}/{}", encode_index(index))
}

/// Merkle hash of 256 hashes (a full tile's root).
fn tile_root(bytes: &[u8]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = bytes.chunks_exact(32).map(|c| c.try_into().expect("32 bytes")).collect();
    while level.len() > 1 {
        level = level.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// Requests per second of random full level-0 tiles from `addr` (host:port of the HTTP port)
/// on `concurrency` connections for `seconds`.
pub async fn measure_tiles(addr: &str, concurrency: usize, seconds: f64) -> anyhow::Result<serde_json::Value> {
    let mut probe = Conn::open(addr).await?;
    let (status, note) = probe.get("checkpoint").await?;
    if status != 200 {
        bail!("GET /checkpoint answered {status}");
    }
    let note = String::from_utf8(note)?;
    let size: u64 =
        note.lines().nth(1).and_then(|l| l.parse().ok()).ok_or_else(|| anyhow!("checkpoint has no size"))?;
    let full = size / TILE_WIDTH;
    if full == 0 {
        bail!("the tree has no full tile yet ({size} entries)");
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency.max(1) {
        let mut c = Conn::open(addr).await?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1);
            let mut checked = 0u64;
            while Instant::now() < deadline {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let index = x % full;
                let t0 = Instant::now();
                let (status, body) = c.get(&tile_path(0, index)).await?;
                lat.push(t0.elapsed().as_micros() as u64);
                if status != 200 || body.len() != 8192 {
                    bail!("tile 0/{index}: status {status}, {} bytes", body.len());
                }
                if lat.len() % 1000 == 1 && full >= TILE_WIDTH {
                    // The tile's root is hash N mod 256 of its level-1 tile (when that is full).
                    let parent = index / TILE_WIDTH;
                    if parent < full / TILE_WIDTH {
                        let (s, up) = c.get(&tile_path(1, parent)).await?;
                        let at = (index % TILE_WIDTH) as usize * 32;
                        if s != 200 || up.get(at..at + 32) != Some(&tile_root(&body)[..]) {
                            bail!("tile 0/{index} does not hash to its entry in tile 1/{parent}");
                        }
                        checked += 1;
                    }
                }
            }
            anyhow::Ok((lat, checked))
        }));
    }
    let t0 = Instant::now();
    let (mut lat, mut checked) = (Vec::new(), 0);
    for t in tasks {
        let (l, c) = t.await??;
        lat.extend(l);
        checked += c;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64
            / 1000.0
    };
    Ok(serde_json::json!({
        "mode": "tiles",
        "tree_size": size,
        "full_tiles": full,
        "concurrency": concurrency,
        "requests": lat.len(),
        "per_s": lat.len() as f64 / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "checked_against_level_1": checked,
    }))
}
