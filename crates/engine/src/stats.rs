//! `stats`: how a container's resource usage is sampled, once for every front end.
//!
//! A [`StatsReading`] is one read of a container's cgroup counters, its network interfaces and
//! the host's CPU clock; a [`StatsSample`] is two readings put together as Docker does (CPU %
//! is the container's share of the host's CPU time between them, times the online CPUs). The
//! front ends only format samples (a table row, the Engine API's JSON); they never read the
//! runtime's counters themselves.

use std::time::Duration;

use crate::store::ContainerRecord;
use crate::{Engine, Error};

/// The gap between the two readings of a one-shot sample (`stats --no-stream`, `stream=false`).
pub const SAMPLE_GAP: Duration = Duration::from_millis(500);

/// The interval between two samples of a stream.
pub const STREAM_INTERVAL: Duration = Duration::from_secs(1);

/// CPU counters at one reading (Docker's `cpu_stats` / `precpu_stats`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuStats {
    /// The container's CPU time, nanoseconds.
    pub total_ns: u64,
    /// The container's CPU time per CPU, nanoseconds.
    pub per_cpu_ns: Vec<u64>,
    /// The host's CPU time since boot, nanoseconds (Docker's `system_cpu_usage`).
    pub system_ns: u64,
    pub online_cpus: u32,
}

/// One network interface's counters inside the container's network namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceStats {
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// One read of a container's counters. Not shown on its own: [`StatsReading::since`] makes a
/// sample of two of them.
#[derive(Debug, Clone)]
pub struct StatsReading {
    record: ContainerRecord,
    at: chrono::DateTime<chrono::Utc>,
    cpu: CpuStats,
    memory_used: u64,
    memory_limit: u64,
    pids: u64,
    pids_limit: u64,
    block_read: u64,
    block_write: u64,
    networks: Vec<InterfaceStats>,
}

/// A container's resource usage as Docker reports it.
#[derive(Debug, Clone)]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// When the later reading was made (RFC 3339, nanoseconds).
    pub read: String,
    /// When the earlier reading was made.
    pub preread: String,
    pub cpu: CpuStats,
    pub precpu: CpuStats,
    /// Memory in use, page cache excluded (as Docker shows it), bytes.
    pub memory_used: u64,
    /// The memory limit, bytes; the host's memory when the container has none.
    pub memory_limit: u64,
    pub pids: u64,
    pub pids_limit: u64,
    /// Bytes read from and written to block devices.
    pub block_read: u64,
    pub block_write: u64,
    /// The container's interfaces (loopback excluded; none for `--network host`).
    pub networks: Vec<InterfaceStats>,
}

impl StatsSample {
    /// Docker's CPU %: the container's CPU time over the host's between the two readings,
    /// times the online CPUs.
    pub fn cpu_percent(&self) -> f64 {
        let container = self.cpu.total_ns.saturating_sub(self.precpu.total_ns) as f64;
        let system = self.cpu.system_ns.saturating_sub(self.precpu.system_ns) as f64;
        if system > 0.0 && container > 0.0 {
            container / system * f64::from(self.cpu.online_cpus.max(1)) * 100.0
        } else {
            0.0
        }
    }

    /// Memory in use as a share of the limit, in %.
    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit > 0 {
            self.memory_used as f64 / self.memory_limit as f64 * 100.0
        } else {
            0.0
        }
    }

    /// Bytes received and sent over all the container's interfaces.
    pub fn network_io(&self) -> (u64, u64) {
        self.networks.iter().fold((0, 0), |(rx, tx), i| {
            (rx.saturating_add(i.rx_bytes), tx.saturating_add(i.tx_bytes))
        })
    }
}

impl StatsReading {
    /// The container's full id.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The sample from `before` to this reading.
    pub fn since(&self, before: &StatsReading) -> StatsSample {
        let stamp = |t: &chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        };
        StatsSample {
            id: self.record.id.clone(),
            name: self.record.name.clone(),
            read: stamp(&self.at),
            preread: stamp(&before.at),
            cpu: self.cpu.clone(),
            precpu: before.cpu.clone(),
            memory_used: self.memory_used,
            memory_limit: self.memory_limit,
            pids: self.pids,
            pids_limit: self.pids_limit,
            block_read: self.block_read,
            block_write: self.block_write,
            networks: self.networks.clone(),
        }
    }
}

impl Engine {
    /// One reading of a container's counters (zeros when it is not running).
    pub fn stats_reading(&self, name_or_id: &str) -> Result<StatsReading, Error> {
        let record = self.container(name_or_id)?;
        let (system_ns, online_cpus) = crate::sandbox::host_cpu();
        let usage = if record.state.has_shim() {
            self.sandbox_for(&record).stats().map_err(Error::Sandbox)?
        } else {
            Default::default()
        };
        let networks = if record.state.has_shim()
            && record.pid > 0
            && record.config.host_config.network_mode != "host"
        {
            interfaces(record.pid)
        } else {
            Vec::new()
        };
        Ok(StatsReading {
            at: chrono::Utc::now(),
            cpu: CpuStats {
                total_ns: usage.cpu_total_ns,
                per_cpu_ns: usage.per_cpu_ns,
                system_ns,
                online_cpus,
            },
            memory_used: usage.memory_used,
            memory_limit: usage.memory_limit,
            pids: usage.pids,
            pids_limit: usage.pids_limit,
            block_read: usage.block_read,
            block_write: usage.block_write,
            networks,
            record,
        })
    }

    /// `stats --no-stream`: one sample per container, each over the same [`SAMPLE_GAP`]
    /// (read all, wait once, read all again).
    pub fn stats_samples(&self, names: &[String]) -> Result<Vec<StatsSample>, Error> {
        let first = names
            .iter()
            .map(|n| self.stats_reading(n))
            .collect::<Result<Vec<_>, _>>()?;
        std::thread::sleep(SAMPLE_GAP);
        first
            .iter()
            .map(|before| Ok(self.stats_reading(before.id())?.since(before)))
            .collect()
    }
}

/// The interfaces of the network namespace `pid` is in, loopback excluded (Docker counts the
/// container's endpoints only).
fn interfaces(pid: i32) -> Vec<InterfaceStats> {
    std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .map(|text| parse_net_dev(&text))
        .unwrap_or_default()
}

/// `/proc/net/dev`: two header lines, then `name: rx(bytes packets errs drop fifo frame
/// compressed multicast) tx(bytes packets errs drop fifo colls carrier compressed)`.
fn parse_net_dev(text: &str) -> Vec<InterfaceStats> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let v: Vec<u64> = counters
                .split_whitespace()
                .map(|n| n.parse().unwrap_or(0))
                .collect();
            if v.len() < 12 {
                return None;
            }
            Some(InterfaceStats {
                name: name.to_string(),
                rx_bytes: v[0],
                rx_packets: v[1],
                rx_errors: v[2],
                rx_dropped: v[3],
                tx_bytes: v[8],
                tx_packets: v[9],
                tx_errors: v[10],
                tx_dropped: v[11],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_skips_loopback_and_reads_both_directions() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n  eth0:    1500      10    1    2    0     0          0         0      700       5    3    4    0     0       0          0\n";
        let got = parse_net_dev(text);
        assert_eq!(got.len(), 1);
        let eth0 = &got[0];
        assert_eq!(eth0.name, "eth0");
        assert_eq!((eth0.rx_bytes, eth0.rx_packets), (1500, 10));
        assert_eq!((eth0.rx_errors, eth0.rx_dropped), (1, 2));
        assert_eq!((eth0.tx_bytes, eth0.tx_packets), (700, 5));
        assert_eq!((eth0.tx_errors, eth0.tx_dropped), (3, 4));
    }

    fn sample(total: (u64, u64), system: (u64, u64), cpus: u32) -> StatsSample {
        StatsSample {
            id: "x".into(),
            name: "x".into(),
            read: String::new(),
            preread: String::new(),
            cpu: CpuStats {
                total_ns: total.1,
                system_ns: system.1,
                online_cpus: cpus,
                ..Default::default()
            },
            precpu: CpuStats {
                total_ns: total.0,
                system_ns: system.0,
                online_cpus: cpus,
                ..Default::default()
            },
            memory_used: 256,
            memory_limit: 1024,
            pids: 1,
            pids_limit: 0,
            block_read: 0,
            block_write: 0,
            networks: vec![
                InterfaceStats {
                    rx_bytes: 10,
                    tx_bytes: 1,
                    ..Default::default()
                },
                InterfaceStats {
                    rx_bytes: 5,
                    tx_bytes: 2,
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn percentages_as_docker_computes_them() {
        // Half of one CPU's time on a 2-CPU host: 25% of the host's time, shown as 50%.
        let s = sample((0, 250), (1000, 2000), 2);
        assert!((s.cpu_percent() - 50.0).abs() < 1e-9);
        assert!((s.memory_percent() - 25.0).abs() < 1e-9);
        assert_eq!(s.network_io(), (15, 3));
        // No host time passed, or counters going backwards: 0%, never NaN or huge.
        assert_eq!(sample((0, 250), (1000, 1000), 2).cpu_percent(), 0.0);
        assert_eq!(sample((300, 250), (1000, 2000), 2).cpu_percent(), 0.0);
    }
}
