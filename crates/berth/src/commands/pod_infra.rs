//! `berth pod-infra` (hidden): a pod's infra process, PID 1 of its sandbox container (see
//! `berth_kube::kubelet`): it holds the pod's namespaces until SIGTERM.

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> i32 {
    berth_kube::kubelet::run_infra_process()
}
