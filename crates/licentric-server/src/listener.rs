//! The server's TCP listener. Its connections answer even hyper's own refusals with the
//! JSON error envelope.
//!
//! hyper answers a request it cannot parse (a control character in a header, a bad
//! request line, headers too large) itself, before any handler runs, with a bare status
//! and an empty body. Parsing stays as strict as hyper makes it (relaxing it would invite
//! request smuggling); only that canned answer is rewritten on its way out. It is easy to
//! tell apart: every answer of the API's own carries a body, so a 4xx head that declares
//! `content-length: 0` can only be hyper's.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{ready, Context, Poll},
};

use axum::{
    extract::connect_info::Connected,
    serve::{IncomingStream, Listener},
};
use licentric_core::wire::{ErrorBody, ErrorEnvelope};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpSocket, TcpStream},
};

/// Connections the kernel may hold for the server before it accepts them (capped by
/// `net.core.somaxconn`, 4096 on current Linux). The queue `TcpListener::bind` gave (128,
/// as `ss -ltn` shows) overflowed in the overload benchmark when thousands of clients
/// connected at once: the kernel then drops their SYNs, and each waits out TCP's
/// retransmission (1, 3, 7 s…) before it is even seen, so no admission bound can answer
/// it quickly.
pub const BACKLOG: u32 = 4096;

/// Binds `address` for the server, with a listen queue of [`BACKLOG`].
pub fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's own bind does: a restarted server can take its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// A TCP listener whose connections are [`EnvelopeIo`]s.
#[derive(Debug)]
pub struct EnvelopeListener(pub TcpListener);

impl Listener for EnvelopeListener {
    type Io = EnvelopeIo<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, address) = Listener::accept(&mut self.0).await;
        (EnvelopeIo::new(io), address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The client's address, for handlers and middleware (`ConnectInfo<ClientAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, EnvelopeListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, EnvelopeListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A connection that replaces hyper's empty parse-error answers with the envelope.
#[derive(Debug)]
pub struct EnvelopeIo<T> {
    inner: T,
    /// A replacement answer being written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> EnvelopeIo<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> EnvelopeIo<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EnvelopeIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EnvelopeIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            self.pending = Some((replacement, 0));
            // Taken in full: the rest is written by later polls (write, flush, shutdown).
            if let Poll::Ready(Err(error)) = self.poll_pending(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored, so hyper hands each answer's head over as one buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The envelope answer that replaces `head`, when `head` is one of hyper's own bodiless
/// parse-error answers.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let status_line = text.lines().next()?;
    let status = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    if !status.starts_with('4')
        || !text.ends_with("\r\n\r\n")
        || !text.contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let (code, message) = match status {
        "431" => (
            "headers_too_large",
            "The request's headers are too large. Send fewer or shorter headers.",
        ),
        "414" => (
            "uri_too_long",
            "The request's URL is too long. Send long values in a JSON body instead.",
        ),
        _ => (
            "malformed_request",
            "The request could not be parsed as HTTP: a header holds a character that is not allowed (such as a control character), or the request line is malformed. Check the headers and send it again.",
        ),
    };
    let body = serde_json::to_string(&ErrorEnvelope {
        error: ErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
            details: None,
        },
    })
    .ok()?;
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bodiless_refusals_are_replaced_and_nothing_else_is() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 10:59:34 GMT\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(hyper).unwrap()).unwrap();
        let (head, body) = replaced.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "malformed_request");

        let too_large = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(String::from_utf8(replacement_for(too_large).unwrap())
            .unwrap()
            .contains("headers_too_large"));

        // The API's own answers carry bodies; successes and bodies pass as they are.
        for untouched in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 52\r\n\r\n"[..],
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
            b"{\"error\": {}}",
        ] {
            assert!(replacement_for(untouched).is_none());
        }
    }
}
