//! Flume's Avro RPC (`AvroSourceProtocol`, what Flume's Avro sink speaks), as pure functions:
//! Avro IPC calls in Netty frames, the handshake, `append` and `appendBatch` requests, and
//! the responses. The receiver does the I/O around them.
//!
//! A Netty frame is a serial number (4 bytes, big-endian), a count of buffers (4 bytes) and
//! each buffer as a 4-byte length and its bytes; a call is the concatenation of a frame's
//! buffers. The first call of a connection starts with a `HandshakeRequest`, and its answer
//! with a `HandshakeResponse`. A call is then metadata (a map of bytes), the message name and
//! its parameters; the answer is metadata, an error flag and the `Status` (`OK`, `FAILED`,
//! `UNKNOWN`) or an error string.

use super::avro::{write_bytes, write_long, AvroError, Reader};

/// The protocol, as Flume declares it (its MD5 is the hash the handshake compares).
pub const PROTOCOL: &str = r#"{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}],"messages":{"append":{"request":[{"name":"event","type":"AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events","type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}}"#;

/// Largest frame accepted (a buffer count or length beyond it is refused before reading).
pub const MAX_FRAME: usize = 256 << 20;

/// One Flume event: its headers and body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlumeEvent {
    /// The event's headers, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The event's body.
    pub body: Vec<u8>,
}

/// The answer to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored.
    Ok,
    /// Not stored (the sink retries).
    Failed,
}

/// What a call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `append` or `appendBatch`, with its events.
    Append(Vec<FlumeEvent>),
    /// A message this protocol does not have.
    Unknown(String),
}

/// The handshake's outcome for a connection's first call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// The client knows this protocol (`BOTH`).
    Both,
    /// The client sent its protocol; this one differs from its guess (`CLIENT`): the call is
    /// answered.
    Client,
    /// The client sent neither this protocol's hash nor its own protocol (`NONE`): it must
    /// call again with its protocol; this call is not answered.
    None,
}

/// The MD5 of [`PROTOCOL`].
pub fn protocol_hash() -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::digest(PROTOCOL.as_bytes()).into()
}

/// Reads a frame from the front of `buf`: `Ok(None)` when it is not complete yet, else the
/// serial, the call's bytes, and how many bytes of `buf` it took.
pub fn read_frame(buf: &[u8]) -> Result<Option<(u32, Vec<u8>, usize)>, AvroError> {
    let int = |at: usize| -> Option<u32> {
        buf.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(serial), Some(count)) = (int(0), int(4)) else {
        return Ok(None);
    };
    let count = count as usize;
    if count > MAX_FRAME / 4 {
        return Err(AvroError(format!("a frame of {count} buffers")));
    }
    let mut at = 8;
    let mut call = Vec::new();
    for _ in 0..count {
        let Some(len) = int(at) else {
            return Ok(None);
        };
        let len = len as usize;
        if call.len() + len > MAX_FRAME {
            return Err(AvroError(format!("a frame of more than {MAX_FRAME} bytes")));
        }
        let Some(data) = buf.get(at + 4..at + 4 + len) else {
            return Ok(None);
        };
        call.extend_from_slice(data);
        at += 4 + len;
    }
    Ok(Some((serial, call, at)))
}

/// A frame holding `payload` in one buffer.
pub fn write_frame(serial: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + payload.len());
    out.extend_from_slice(&serial.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads a `HandshakeRequest` and decides the handshake.
pub fn read_handshake(r: &mut Reader<'_>, ours: &[u8; 16]) -> Result<Handshake, AvroError> {
    let _client_hash = r.fixed(16)?;
    let client_protocol = match r.long()? {
        0 => None,
        1 => Some(r.string()?),
        b => return Err(AvroError(format!("clientProtocol has union branch {b}"))),
    };
    let server_hash = r.fixed(16)?;
    match r.long()? {
        0 => {}
        1 => {
            r.map(|r| r.bytes().map(<[u8]>::to_vec))?;
        }
        b => return Err(AvroError(format!("meta has union branch {b}"))),
    }
    Ok(if server_hash == ours {
        Handshake::Both
    } else if client_protocol.is_some() {
        Handshake::Client
    } else {
        Handshake::None
    })
}

/// Appends the `HandshakeResponse` for `h`.
pub fn write_handshake(out: &mut Vec<u8>, h: &Handshake, ours: &[u8; 16]) {
    match h {
        Handshake::Both => {
            write_long(out, 0); // match BOTH
            write_long(out, 0); // serverProtocol null
            write_long(out, 0); // serverHash null
        }
        Handshake::Client | Handshake::None => {
            write_long(out, if *h == Handshake::Client { 1 } else { 2 });
            write_long(out, 1);
            write_bytes(out, PROTOCOL.as_bytes());
            write_long(out, 1);
            out.extend_from_slice(ours);
        }
    }
    write_long(out, 0); // meta null
}

fn read_event(r: &mut Reader<'_>) -> Result<FlumeEvent, AvroError> {
    let headers = r.map(|r| r.string().map(str::to_string))?;
    let body = r.bytes()?.to_vec();
    Ok(FlumeEvent { headers, body })
}

/// Reads a call (after any handshake): metadata, the message name and its parameters.
pub fn read_call(r: &mut Reader<'_>) -> Result<Call, AvroError> {
    r.map(|r| r.bytes().map(<[u8]>::to_vec))?;
    let name = r.string()?.to_string();
    match name.as_str() {
        "append" => Ok(Call::Append(vec![read_event(r)?])),
        "appendBatch" => Ok(Call::Append(r.array(read_event)?)),
        // An empty name is the handshake-only call of a client that only connects.
        _ => Ok(Call::Unknown(name)),
    }
}

/// Appends the answer to a call: its `Status`.
pub fn write_status(out: &mut Vec<u8>, status: Status) {
    write_long(out, 0); // metadata: empty map
    out.push(0); // no error
    write_long(out, if status == Status::Ok { 0 } else { 1 });
}

/// Appends an error answer (an unknown message, an undecodable call).
pub fn write_error(out: &mut Vec<u8>, message: &str) {
    write_long(out, 0); // metadata
    out.push(1); // error
    write_long(out, 0); // the union's first branch: a string
    write_bytes(out, message.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_bytes(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_long(&mut out, headers.len() as i64);
        for (k, v) in headers {
            write_bytes(&mut out, k.as_bytes());
            write_bytes(&mut out, v.as_bytes());
        }
        if !headers.is_empty() {
            write_long(&mut out, 0);
        }
        write_bytes(&mut out, body);
        out
    }

    #[test]
    fn frames_round_trip_and_wait_for_their_bytes() {
        let f = write_frame(7, b"hello");
        assert_eq!(
            read_frame(&f).unwrap(),
            Some((7, b"hello".to_vec(), f.len()))
        );
        for cut in 0..f.len() {
            assert_eq!(read_frame(&f[..cut]).unwrap(), None, "cut at {cut}");
        }
        let mut huge = 1u32.to_be_bytes().to_vec();
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_frame(&huge).is_err());
    }

    #[test]
    fn calls_are_read() {
        let mut call = Vec::new();
        write_long(&mut call, 0);
        write_bytes(&mut call, b"appendBatch");
        write_long(&mut call, 2);
        call.extend(event_bytes(&[("host", "a")], b"one"));
        call.extend(event_bytes(&[], b"two"));
        write_long(&mut call, 0);
        let got = read_call(&mut Reader::new(&call)).unwrap();
        assert_eq!(
            got,
            Call::Append(vec![
                FlumeEvent {
                    headers: vec![("host".into(), "a".into())],
                    body: b"one".to_vec()
                },
                FlumeEvent {
                    headers: vec![],
                    body: b"two".to_vec()
                },
            ])
        );
    }

    #[test]
    fn the_handshake_follows_the_hashes() {
        let ours = protocol_hash();
        let request = |server: &[u8; 16], protocol: Option<&str>| {
            let mut out = vec![0u8; 16];
            match protocol {
                Some(p) => {
                    write_long(&mut out, 1);
                    write_bytes(&mut out, p.as_bytes());
                }
                None => write_long(&mut out, 0),
            }
            out.extend_from_slice(server);
            write_long(&mut out, 0);
            out
        };
        let decide = |b: Vec<u8>| read_handshake(&mut Reader::new(&b), &ours).unwrap();
        assert_eq!(decide(request(&ours, None)), Handshake::Both);
        assert_eq!(decide(request(&[0; 16], Some("{}"))), Handshake::Client);
        assert_eq!(decide(request(&[0; 16], None)), Handshake::None);
    }
}
