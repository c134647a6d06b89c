//! Plain HTTP(S) downloads for the Dockerfile builder's `ADD <url>`: same client stack as the
//! registry (reqwest + rustls/ring), streamed to a writer, with the response's Last-Modified.

use std::io::Write;

use crate::{Error, Result};

/// What a download returned besides the body.
#[derive(Debug, Clone, Default)]
pub struct Downloaded {
    /// The `Last-Modified` header as a unix time, when the server sent a valid one.
    pub last_modified: Option<i64>,
    pub size: u64,
}

/// GETs `url` and streams the body into `out`. Fails on a non-2xx status.
pub fn download(url: &str, out: &mut dyn Write) -> Result<Downloaded> {
    super::session::install_crypto();
    let rt = super::session::runtime()?;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| Error::Transport(e.to_string()))?;
    let transport = |e: reqwest::Error| Error::Transport(format!("downloading {url}: {e}"));
    rt.block_on(async {
        let mut res = client.get(url).send().await.map_err(transport)?;
        if !res.status().is_success() {
            return Err(Error::Transport(format!(
                "downloading {url}: the server answered {}",
                res.status()
            )));
        }
        let last_modified = res
            .headers()
            .get(reqwest::header::LAST_MODIFIED)
            .and_then(|h| h.to_str().ok())
            .and_then(parse_http_date);
        let mut size = 0u64;
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            out.write_all(&chunk)
                .map_err(|e| Error::io(format!("writing {url}"), e))?;
            size += chunk.len() as u64;
        }
        Ok(Downloaded {
            last_modified,
            size,
        })
    })
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into a unix time.
fn parse_http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4]
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(super::parse_http_date("garbage"), None);
    }
}
