//! Loopback HTTP servers for the credential tests: a smart-HTTP git server that demands basic
//! auth, and a redirector to another origin; both record the Authorization headers they see.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hhdash::git::TOKEN_USERNAME;
use tempfile::TempDir;

use super::{Repo, git};

// ---------------------------------------------------------------------------------------------
// a loopback server that redirects every request to another port (another origin) and records
// any Authorization header it is sent

pub(super) struct Redirector {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl Redirector {
    pub(super) fn start(target_port: u16) -> Redirector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen_by_server = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = redirect(stream, target_port, &seen_by_server);
            }
        });
        Redirector { port, seen }
    }

    pub(super) fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    pub(super) fn authorizations(&self) -> Vec<String> {
        self.seen.lock().unwrap().authorizations.clone()
    }
}

fn redirect(stream: TcpStream, target_port: u16, seen: &Mutex<Seen>) -> std::io::Result<()> {
    let (_, mut writer, request_line, headers) = read_request_head(stream)?;
    if let Some(auth) = headers.get("authorization") {
        seen.lock().unwrap().authorizations.push(auth.clone());
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    writer.write_all(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target_port}{target}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )?;
    writer.flush()
}

// ---------------------------------------------------------------------------------------------
// a smart-HTTP git server on loopback: `git http-backend` behind a tiny CGI bridge that demands
// basic auth with a given password

pub(super) struct GitHttpServer {
    pub(super) port: u16,
    root: TempDir,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    authorizations: Vec<String>,
    request_lines: Vec<String>,
}

impl GitHttpServer {
    pub(super) fn start(password: Option<&str>) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = TempDir::new().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let expected = password.map(|p| {
            format!(
                "Basic {}",
                base64(format!("{TOKEN_USERNAME}:{p}").as_bytes())
            )
        });
        let project_root = root.path().to_owned();
        let seen_by_server = seen.clone();
        // Ends with the test process; it only ever listens on loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let expected = expected.clone();
                let project_root = project_root.clone();
                let seen = seen_by_server.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, expected.as_deref(), &project_root, &seen);
                });
            }
        });
        GitHttpServer { port, root, seen }
    }

    pub(super) fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// (Re)publishes `repo` as a bare repository named `name`.
    pub(super) fn publish(&self, name: &str, repo: &Repo) {
        let target = self.root.path().join(name);
        if target.exists() {
            std::fs::remove_dir_all(&target).unwrap();
        }
        git(
            self.root.path(),
            &[
                "clone",
                "-q",
                "--bare",
                repo.path().to_str().unwrap(),
                target.to_str().unwrap(),
            ],
        );
    }

    pub(super) fn authorizations(&self) -> Vec<String> {
        self.seen.lock().unwrap().authorizations.clone()
    }

    pub(super) fn request_lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().request_lines.clone()
    }
}

fn serve(
    stream: TcpStream,
    expected: Option<&str>,
    root: &Path,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    let (mut reader, mut writer, request_line, headers) = read_request_head(stream)?;
    {
        let mut seen = seen.lock().unwrap();
        seen.request_lines.push(request_line.trim().to_owned());
        if let Some(auth) = headers.get("authorization") {
            seen.authorizations.push(auth.clone());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_owned();
    let target = parts.next().unwrap_or("/").to_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));

    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        read_chunked(&mut reader)?
    } else {
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };

    if let Some(expected) = expected
        && headers.get("authorization").map(String::as_str) != Some(expected)
    {
        return writer.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }

    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(v) = headers.get("content-type") {
        cgi.env("CONTENT_TYPE", v);
    }
    if let Some(v) = headers.get("git-protocol") {
        cgi.env("GIT_PROTOCOL", v);
    }
    if let Some(v) = headers.get("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", v);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&body));
    let mut output = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut output)?;
    let _ = feeder.join();
    child.wait()?;

    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4))
        .or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let (head, payload) = match split {
        Some((p, n)) => (
            String::from_utf8_lossy(&output[..p]).into_owned(),
            &output[p + n..],
        ),
        None => (String::new(), &output[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut response = Vec::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                status = value.trim().to_owned()
            }
            Some(_) => response.extend_from_slice(format!("{}\r\n", line.trim_end()).as_bytes()),
            None => {}
        }
    }
    writer.write_all(format!("HTTP/1.1 {status}\r\n").as_bytes())?;
    writer.write_all(&response)?;
    writer.write_all(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            payload.len()
        )
        .as_bytes(),
    )?;
    writer.write_all(payload)?;
    writer.flush()
}

/// The head of one HTTP request: a reader for the body, the writer for the answer, the request
/// line and the headers (names lower-cased).
type RequestHead = (
    BufReader<TcpStream>,
    TcpStream,
    String,
    BTreeMap<String, String>,
);

fn read_request_head(stream: TcpStream) -> std::io::Result<RequestHead> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Ok((reader, stream, request_line, headers))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            let mut trailer = String::new();
            while reader.read_line(&mut trailer)? > 2 {
                trailer.clear();
            }
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

pub(super) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
