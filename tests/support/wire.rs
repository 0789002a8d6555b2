//! The one raw HTTP/1.x request reader every fake server of the harness uses ([`super::http`],
//! [`super::doh`], [`super::globalping`], [`super::httpproxy`],
//! [`super::hostile`]). It is deliberately strict where a lenient reader would hide a client bug
//! (a malformed head, a `Transfer-Encoding` body it cannot resync after, an oversized head or
//! body is answered with the status a real server would give) and keeps the bytes it read past
//! the request in the caller's buffer, so a keep-alive server can read the next pipelined request
//! and a proxy can forward what followed a `CONNECT`.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One request as received: names of headers as sent, values trimmed.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent (a path, `host:port` for CONNECT, or an absolute URL).
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The head as text (request line and header lines, without the blank line).
    pub head: String,
}

impl Request {
    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn http10(&self) -> bool {
        self.version == "HTTP/1.0"
    }

    /// Whether the client wants the connection kept open after this exchange.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("Connection").map(str::to_ascii_lowercase);
        if self.http10() {
            conn.is_some_and(|c| c.contains("keep-alive"))
        } else {
            !conn.is_some_and(|c| c.contains("close"))
        }
    }
}

/// Why no request was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Connection closed or failed before a whole request arrived: nothing to answer.
    Gone,
    /// Answer this status and close (the stream position is lost).
    Reject(u16),
}

/// How much a server accepts.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest head (request line and headers).
    pub head: usize,
    /// Largest `Content-Length` body.
    pub body: usize,
}

/// 16 KiB of head, 64 KiB of body.
pub const DEFAULT_LIMITS: Limits = Limits {
    head: 16 * 1024,
    body: 64 * 1024,
};

/// Reads one request: the head up to the blank line, then a `Content-Length` body. `buf` holds
/// bytes already read past the previous request and keeps what follows this one. Rejects: 431
/// for an oversized head, 400 for a malformed one, 505 for an HTTP version other than 1.0 and
/// 1.1, 411 for `Transfer-Encoding`, 413 for a body over the limit.
pub async fn read_request<S>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limits: Limits,
) -> Result<Request, ReadError>
where
    S: AsyncRead + Unpin,
{
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > limits.head {
            return Err(ReadError::Reject(431));
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if end > limits.head {
        return Err(ReadError::Reject(431));
    }
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| ReadError::Reject(400))?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) = (
        request_line.next(),
        request_line.next(),
        request_line.next(),
        request_line.next(),
    ) else {
        return Err(ReadError::Reject(400));
    };
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") => return Err(ReadError::Reject(505)),
        _ => return Err(ReadError::Reject(400)),
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ReadError::Reject(400))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
        body: Vec::new(),
        head: text.to_owned(),
    };
    if req.header("Transfer-Encoding").is_some() {
        // Chunked bodies are not supported; without a length the stream cannot be resynced.
        return Err(ReadError::Reject(411));
    }
    let len = match req.header("Content-Length") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| ReadError::Reject(400))?,
    };
    if len > limits.body {
        return Err(ReadError::Reject(413));
    }
    buf.drain(..end + 4);
    while buf.len() < len {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    req.body = buf.drain(..len).collect();
    Ok(req)
}
