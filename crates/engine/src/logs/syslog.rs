//! The `syslog` log driver: each line of output is one syslog message, sent to a unix socket
//! (datagram or stream), or over UDP or TCP, formatted as dockerd's driver formats it
//! (`syslog-format` empty, `rfc3164`, `rfc5424`, `rfc5424micro`), with facility `daemon` unless
//! `syslog-facility` says otherwise, severity info for stdout and err for stderr.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::time::Duration;

use super::settings::LogSettings;
use super::writer::{LogSink, Stamp};
use super::{Stream, tag::Source};
use crate::Error;

/// Where syslog lives when `syslog-address` is not given: the local daemon's sockets, as Go's
/// log/syslog looks for them.
const LOCAL_SOCKETS: [&str; 3] = ["/dev/log", "/var/run/syslog", "/var/run/log"];
/// How long connecting to a network syslog may take before the start fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq)]
enum Address {
    /// A unix socket: datagram first, stream when the socket is one (as srslog tries).
    Unix(String),
    UnixDatagram(String),
    Udp(String),
    Tcp(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    /// dockerd's default: the short unix form on a local socket, RFC 3339 times on the network.
    Default,
    Rfc3164,
    Rfc5424,
    Rfc5424Micro,
}

/// Where and how a container's syslog messages go, checked at create time.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    address: Option<Address>,
    facility: u8,
    format: Format,
}

impl Target {
    pub fn from_settings(settings: &LogSettings) -> Result<Target, Error> {
        let address = settings
            .option("syslog-address")
            .filter(|a| !a.is_empty())
            .map(parse_address)
            .transpose()?;
        let facility = match settings.option("syslog-facility") {
            None | Some("") => 3,
            Some(name) => facility(name).ok_or_else(|| {
                Error::InvalidArgument(format!("invalid syslog facility: {name}"))
            })?,
        };
        let format = match settings.option("syslog-format").unwrap_or("") {
            "" => Format::Default,
            "rfc3164" => Format::Rfc3164,
            "rfc5424" => Format::Rfc5424,
            "rfc5424micro" => Format::Rfc5424Micro,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "Invalid syslog format: {other}"
                )));
            }
        };
        if settings.options.keys().any(|k| k.starts_with("syslog-tls")) {
            return Err(Error::InvalidArgument(
                "syslog-tls options are not supported by berth (use udp, tcp or unix)".into(),
            ));
        }
        Ok(Target {
            address,
            facility,
            format,
        })
    }
}

fn parse_address(address: &str) -> Result<Address, Error> {
    let Some((scheme, rest)) = address.split_once("://") else {
        return Err(Error::InvalidArgument(format!(
            "syslog-address should be in form proto://address, got {address:?}"
        )));
    };
    let host_port = || {
        let rest = rest.trim_end_matches('/');
        // A missing port is syslog's, as dockerd fills it in.
        let has_port = match rest.strip_prefix('[') {
            Some(bracketed) => bracketed.contains("]:"),
            None => rest.matches(':').count() == 1,
        };
        if has_port {
            rest.to_string()
        } else {
            format!("{rest}:514")
        }
    };
    match scheme {
        "unix" => Ok(Address::Unix(rest.to_string())),
        "unixgram" => Ok(Address::UnixDatagram(rest.to_string())),
        "udp" => Ok(Address::Udp(host_port())),
        "tcp" => Ok(Address::Tcp(host_port())),
        "tcp+tls" => Err(Error::InvalidArgument(
            "syslog-address tcp+tls:// is not supported by berth".into(),
        )),
        other => Err(Error::InvalidArgument(format!(
            "unsupported scheme: '{other}'"
        ))),
    }
}

fn facility(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse::<u8>() {
        return (n <= 23).then_some(n);
    }
    const NAMES: [&str; 24] = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];
    NAMES
        .iter()
        .position(|n| !n.is_empty() && *n == name)
        .map(|i| i as u8)
}

enum Connection {
    UnixDatagram(UnixDatagram),
    UnixStream(UnixStream),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Connection {
    fn open(address: Option<&Address>) -> std::io::Result<Connection> {
        match address {
            None => {
                let mut last = std::io::Error::from(std::io::ErrorKind::NotFound);
                for path in LOCAL_SOCKETS {
                    match Connection::open(Some(&Address::Unix(path.to_string()))) {
                        Ok(c) => return Ok(c),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
            Some(Address::UnixDatagram(path)) => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(path)?;
                Ok(Connection::UnixDatagram(socket))
            }
            Some(Address::Unix(path)) => {
                let socket = UnixDatagram::unbound()?;
                match socket.connect(path) {
                    Ok(()) => Ok(Connection::UnixDatagram(socket)),
                    // A stream socket refuses a datagram peer with EPROTOTYPE.
                    Err(e) if e.raw_os_error() == Some(libc::EPROTOTYPE) => {
                        Ok(Connection::UnixStream(UnixStream::connect(path)?))
                    }
                    Err(e) => Err(e),
                }
            }
            Some(Address::Udp(addr)) => {
                let target = resolve(addr)?;
                let socket = UdpSocket::bind(if target.is_ipv6() {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                })?;
                socket.connect(target)?;
                Ok(Connection::Udp(socket))
            }
            Some(Address::Tcp(addr)) => {
                let target = resolve(addr)?;
                let stream = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)?;
                stream.set_write_timeout(Some(CONNECT_TIMEOUT))?;
                Ok(Connection::Tcp(stream))
            }
        }
    }

    fn is_stream(&self) -> bool {
        matches!(self, Connection::UnixStream(_) | Connection::Tcp(_))
    }

    fn is_local(&self) -> bool {
        matches!(
            self,
            Connection::UnixStream(_) | Connection::UnixDatagram(_)
        )
    }

    fn send(&mut self, message: &[u8]) -> std::io::Result<()> {
        match self {
            Connection::UnixDatagram(s) => s.send(message).map(drop),
            Connection::Udp(s) => s.send(message).map(drop),
            Connection::UnixStream(s) => s.write_all(message),
            Connection::Tcp(s) => s.write_all(message),
        }
    }
}

fn resolve(addr: &str) -> std::io::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
}

/// A container's connection to syslog.
pub(super) struct Syslog {
    connection: Connection,
    target: Target,
    tag: String,
    hostname: String,
    pid: u32,
    buf: Vec<u8>,
}

impl Syslog {
    /// Connects as the container starts: an unreachable syslog fails the start, as dockerd's
    /// does ("failed to initialize logging driver").
    pub(super) fn connect(settings: &LogSettings, source: &Source) -> Result<Syslog, Error> {
        let target = Target::from_settings(settings)?;
        let tag = source.tag(settings.option("tag"))?;
        let connection = Connection::open(target.address.as_ref()).map_err(|e| {
            Error::Internal(format!(
                "failed to initialize logging driver: syslog: {e}{}",
                match &target.address {
                    Some(a) => format!(" ({a:?})"),
                    None => String::new(),
                }
            ))
        })?;
        Ok(Syslog {
            connection,
            target,
            tag,
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "localhost".into()),
            pid: std::process::id(),
            buf: Vec::with_capacity(512),
        })
    }

    fn format(&mut self, stream: Stream, line: &[u8], stamp: &Stamp) {
        let severity = match stream {
            Stream::Stdout => 6,
            Stream::Stderr => 3,
        };
        let priority = self.target.facility * 8 + severity;
        let local = stamp.utc.with_timezone(&chrono::Local);
        let buf = &mut self.buf;
        buf.clear();
        let (tag, pid, host) = (&self.tag, self.pid, &self.hostname);
        let _ = match self.target.format {
            Format::Default if self.connection.is_local() => write!(
                buf,
                "<{priority}>{} {tag}[{pid}]: ",
                local.format("%b %e %H:%M:%S")
            ),
            Format::Default => write!(
                buf,
                "<{priority}>{} {host} {tag}[{pid}]: ",
                local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            ),
            Format::Rfc3164 => write!(
                buf,
                "<{priority}>{} {host} {tag}[{pid}]: ",
                local.format("%b %e %H:%M:%S")
            ),
            Format::Rfc5424 => write!(
                buf,
                "<{priority}>1 {} {host} {tag} {pid} {tag} - ",
                local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
            ),
            Format::Rfc5424Micro => write!(
                buf,
                "<{priority}>1 {} {host} {tag} {pid} {tag} - ",
                local.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
            ),
        };
        buf.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        if self.connection.is_stream() {
            if matches!(self.target.format, Format::Rfc5424 | Format::Rfc5424Micro)
                && matches!(self.connection, Connection::Tcp(_))
            {
                // RFC 5425 octet counting, as dockerd frames RFC 5424 over TCP.
                let framed = format!("{} ", buf.len()).into_bytes();
                buf.splice(0..0, framed);
            } else {
                buf.push(b'\n');
            }
        }
    }
}

impl LogSink for Syslog {
    fn line(&mut self, stream: Stream, line: &[u8], stamp: &Stamp) {
        self.format(stream, line, stamp);
        // A syslog that went away loses lines; the container carries on (dockerd's blocking
        // mode would stall the container instead).
        let _ = self.connection.send(&self.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_syslogs_port_and_bad_ones_say_why() {
        assert_eq!(
            parse_address("udp://127.0.0.1").unwrap(),
            Address::Udp("127.0.0.1:514".into())
        );
        assert_eq!(
            parse_address("tcp://10.0.0.1:601").unwrap(),
            Address::Tcp("10.0.0.1:601".into())
        );
        assert_eq!(
            parse_address("udp://[::1]:5514").unwrap(),
            Address::Udp("[::1]:5514".into())
        );
        assert_eq!(
            parse_address("unix:///dev/log").unwrap(),
            Address::Unix("/dev/log".into())
        );
        assert!(
            parse_address("localhost:514")
                .unwrap_err()
                .to_string()
                .contains("proto://address")
        );
        assert_eq!(
            parse_address("ftp://x").unwrap_err().to_string(),
            "unsupported scheme: 'ftp'"
        );
        assert_eq!(facility("local3"), Some(19));
        assert_eq!(facility("daemon"), Some(3));
        assert_eq!(facility("nope"), None);
    }
}
