//! `berth serve [-H unix:///path] [-H tcp://IP:PORT --tlsverify --tlscacert F --tlscert F --tlskey F]
//! [--api-cors-header ORIGIN] [--api-allow-host NAME] [--kube IP:PORT]`: the Docker Engine API,
//! for the docker CLI, docker-compose and Docker SDKs (browsers only from the origins given),
//! and with `--kube` the Kubernetes API for kubectl (HTTPS, client certificates from
//! `berth kube config`).

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// Socket(s) to listen on: unix:///path (default $BERTH_RUN/berth.sock) or tcp://IP:PORT
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Require clients to present a certificate signed by --tlscacert (mutual TLS)
    #[arg(long)]
    tlsverify: bool,
    /// CA certificate that client certificates must be signed by
    #[arg(long)]
    tlscacert: Option<String>,
    /// The server's TLS certificate
    #[arg(long)]
    tlscert: Option<String>,
    /// The server's TLS key
    #[arg(long)]
    tlskey: Option<String>,
    /// Serve TCP without TLS (anyone who reaches the port controls the machine)
    #[arg(long)]
    insecure_tcp: bool,
    /// Serve browser requests from this origin (scheme://host[:port], or * for any) and answer
    /// them with CORS headers; any other request with an Origin header is refused (repeatable)
    #[arg(long = "api-cors-header", value_name = "ORIGIN")]
    api_cors_header: Vec<String>,
    /// Answer this host name on a TCP listener without TLS; IP addresses and localhost are
    /// always answered, other names refused against DNS rebinding (repeatable; * for any)
    #[arg(long = "api-allow-host", value_name = "NAME")]
    api_allow_host: Vec<String>,
    /// Also serve the Kubernetes API on this address (HTTPS with client-certificate auth; get a
    /// kubeconfig with `berth kube config --server https://IP:PORT`)
    #[arg(long, value_name = "IP:PORT")]
    kube: Option<std::net::SocketAddr>,
}

pub fn run(args: Args) -> Result<i32, CliError> {
    let endpoints = args
        .hosts
        .iter()
        .map(|h| berth_api::Endpoint::parse(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::usage)?;
    let tls = match (args.tlsverify, args.tlscacert, args.tlscert, args.tlskey) {
        (_, Some(ca), Some(cert), Some(key)) => Some(berth_api::TlsFiles {
            ca: ca.into(),
            cert: cert.into(),
            key: key.into(),
        }),
        (false, None, None, None) => None,
        _ => {
            return Err(CliError::usage(
                "--tlsverify needs all of --tlscacert, --tlscert and --tlskey",
            ));
        }
    };
    // Containers whose shim dies are repaired, and restarted by their policy, right away.
    let supervisor = berth_engine::Engine::open()?;
    if let Some(addr) = args.kube {
        // Bound here, so a taken port fails the command; served on a thread of its own.
        let kube = berth_kube::KubeServer::bind(addr, &berth_kube::kube_dir(&supervisor))?;
        eprintln!(
            "berth serve: Kubernetes API on https://{}",
            kube.local_addr().unwrap_or(addr)
        );
        std::thread::spawn(move || {
            if let Err(e) = kube.run() {
                eprintln!("berth serve: the Kubernetes API stopped: {e}");
            }
        });
    }
    std::thread::spawn(move || supervisor.supervise_shims());
    berth_api::serve(berth_api::ServeOptions {
        endpoints,
        tls,
        insecure_tcp: args.insecure_tcp,
        access: berth_api::AccessPolicy {
            cors_origins: args.api_cors_header,
            allowed_hosts: args.api_allow_host,
        },
    })
    .map_err(CliError::usage)?;
    Ok(0)
}
