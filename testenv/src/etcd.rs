//! etcd: command line, health check and compaction through etcd's HTTP/JSON
//! gateway (`/health`, `/v3/kv/range`, `/v3/kv/compaction`). The gateway is
//! plain HTTP on loopback, so a few lines of HTTP/1.0 are enough.

use base64::Engine as _;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// etcd command-line arguments for a single-member, fsync-free test store.
pub(crate) fn args(data_dir: &Path, client_port: u16, peer_port: u16) -> Vec<String> {
    let client = format!("http://127.0.0.1:{client_port}");
    let peer = format!("http://127.0.0.1:{peer_port}");
    vec![
        "--name=testenv".into(),
        format!("--data-dir={}", data_dir.display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=testenv={peer}"),
        "--initial-cluster-state=new".into(),
        // Test data is throw-away: skip fsync (much faster on slow disks).
        "--unsafe-no-fsync".into(),
        // Compaction happens only when a test asks for it.
        "--auto-compaction-retention=0".into(),
        "--log-level=warn".into(),
    ]
}

/// One HTTP/1.0 request to the etcd gateway; returns (status, body).
async fn request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), std::io::Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP response: {head:?}")))?;
    Ok((status, body.to_string()))
}

/// `Ok(())` when etcd's `/health` reports healthy, else a description.
pub(crate) async fn health(port: u16) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(2), request(port, "GET", "/health", "")).await {
        Err(_) => Err("GET /health timed out".into()),
        Ok(Err(e)) => Err(format!("GET /health: {e}")),
        Ok(Ok((200, body))) if body.contains("\"true\"") => Ok(()),
        Ok(Ok((status, body))) => Err(format!("GET /health: {status} {}", body.trim())),
    }
}

async fn post_json(
    port: u16,
    endpoint: &'static str,
    body: serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let fail = |message: String| Error::Etcd { endpoint, message };
    let (status, text) = request(port, "POST", endpoint, &body.to_string())
        .await
        .map_err(|e| fail(e.to_string()))?;
    if status != 200 {
        return Err(fail(format!("HTTP {status}: {}", text.trim())));
    }
    serde_json::from_str(&text).map_err(|e| fail(format!("{e}: {text}")))
}

/// etcd's current revision (the newest resourceVersion of any object).
pub(crate) async fn current_revision(port: u16) -> Result<i64, Error> {
    // Range over the single key "\0" just to read the response header.
    let resp = post_json(port, "/v3/kv/range", serde_json::json!({ "key": "AA==" })).await?;
    let rev = &resp["header"]["revision"];
    rev.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| rev.as_i64())
        .ok_or_else(|| Error::Etcd {
            endpoint: "/v3/kv/range",
            message: format!("no header.revision in {resp}"),
        })
}

/// Write `value` under `key` (outside `/registry`, which kube-apiserver never reads) and return
/// the new revision: moves etcd's revision on without kube-apiserver.
pub(crate) async fn put(port: u16, key: &str, value: &str) -> Result<i64, Error> {
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let resp = post_json(
        port,
        "/v3/kv/put",
        serde_json::json!({ "key": encode(key.as_bytes()), "value": encode(value.as_bytes()) }),
    )
    .await?;
    let rev = &resp["header"]["revision"];
    rev.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| rev.as_i64())
        .ok_or_else(|| Error::Etcd {
            endpoint: "/v3/kv/put",
            message: format!("no header.revision in {resp}"),
        })
}

/// Compact etcd's history up to `revision` and wait until it is physically applied.
pub(crate) async fn compact(port: u16, revision: i64) -> Result<(), Error> {
    post_json(
        port,
        "/v3/kv/compaction",
        serde_json::json!({ "revision": revision.to_string(), "physical": true }),
    )
    .await
    .map(drop)
}
