//! Just enough HTTP/1.1 for the API server's webhook client: `POST` with a `Content-Length`
//! body, keep-alive, one JSON response per request. ALPN offers only `http/1.1`, so the Go
//! client never tries HTTP/2. Anything else (chunked bodies, oversized requests) is answered
//! with an error status and the connection is closed: with `failurePolicy: Fail` the API
//! server then refuses the write, so a gap here shows up as a failing test, not as a silently
//! skipped check.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One parsed request.
pub(crate) struct Request {
    pub path: String,
    pub body: Vec<u8>,
}

/// A response: status code and JSON body.
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        _ => "Error",
    }
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
    close: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        response.status,
        reason(response.status),
        response.body.len(),
        if close { "close" } else { "keep-alive" }
    );
    // One write, so head and body leave in one TLS record rather than waiting on each other.
    let mut message = head.into_bytes();
    message.extend_from_slice(&response.body);
    stream.write_all(&message).await?;
    stream.flush().await
}

fn error(status: u16, message: &str) -> Response {
    Response {
        status,
        body: serde_json::json!({ "error": message })
            .to_string()
            .into_bytes(),
    }
}

/// Serves requests on one connection until the peer closes it (or sends something this
/// server does not speak).
pub(crate) async fn serve_connection<S, F, Fut>(mut stream: S, handler: F) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    loop {
        // The head: up to the blank line.
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if buffer.len() > MAX_HEAD {
                return write_response(&mut stream, &error(413, "request head too large"), true)
                    .await;
            }
            let mut chunk = [0u8; 8192];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(()); // the client closed the connection between requests
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut content_length = None;
        let mut close = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.parse::<usize>().ok(),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "transfer-encoding" => {
                    let response = error(411, "only Content-Length bodies are supported");
                    return write_response(&mut stream, &response, true).await;
                }
                _ => {}
            }
        }
        if method != "POST" {
            return write_response(&mut stream, &error(405, "only POST is served"), true).await;
        }
        let Some(length) = content_length else {
            return write_response(&mut stream, &error(411, "Content-Length required"), true).await;
        };
        if length > MAX_BODY {
            return write_response(&mut stream, &error(413, "request body too large"), true).await;
        }
        while buffer.len() < length {
            let mut chunk = vec![0u8; (length - buffer.len()).min(64 * 1024)];
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..read]);
        }
        let body: Vec<u8> = buffer.drain(..length).collect();
        let response = handler(Request { path, body }).await;
        write_response(&mut stream, &response, close).await?;
        if close {
            return Ok(());
        }
    }
}
