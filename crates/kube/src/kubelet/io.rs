//! A pod's containers for the API's `pods/log` and `pods/exec`: found by the pod and the
//! container's name (the first app container by default, as kubectl's), then the engine's
//! log stream or an exec through the engine's exec helper.

use berth_engine::containers::ContainerRecord;
use berth_engine::exec::ExecRequest;
use berth_engine::logs::{LogLine, LogOptions};
use k8s_openapi::api::core::v1::Pod;

use super::{Error, Kubelet, identity_of, label, names};

impl Kubelet {
    /// The record of the pod's container `container` (its first app container when None).
    pub fn container_of(
        &self,
        pod: &Pod,
        container: Option<&str>,
    ) -> Result<ContainerRecord, Error> {
        let identity = identity_of(pod)?;
        let wanted = match container.filter(|c| !c.is_empty()) {
            Some(c) => c.to_string(),
            None => pod
                .spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        };
        self.records_of(&identity.uid)?
            .into_iter()
            .find(|r| label(r, names::CONTAINER_NAME) == Some(wanted.as_str()))
            .ok_or(Error::NoSuchContainer {
                pod: identity.name,
                container: wanted,
            })
    }

    /// `kubectl logs [-c CONTAINER] [-f]`: the container's log lines to `sink` (which returns
    /// false to stop), following while `keep_going` holds.
    pub fn logs(
        &self,
        pod: &Pod,
        container: Option<&str>,
        options: &LogOptions,
        sink: &mut dyn FnMut(LogLine) -> bool,
        keep_going: &dyn Fn() -> bool,
    ) -> Result<(), Error> {
        let rec = self.container_of(pod, container)?;
        self.engine
            .logs_while(&rec.id, options, sink, keep_going)
            .map_err(Error::engine(format!("reading the log of {}", rec.name)))
    }

    /// `kubectl exec [-c CONTAINER] -- CMD`: a `berth exec-helper` command running `request`
    /// in the container; the caller gives it its stdio (a terminal for `tty`) and spawns it.
    /// Its exit code is the command's.
    pub fn exec_command(
        &self,
        pod: &Pod,
        container: Option<&str>,
        request: &ExecRequest,
        interactive: bool,
    ) -> Result<std::process::Command, Error> {
        let rec = self.container_of(pod, container)?;
        self.engine
            .exec_check(&rec.id, request)
            .map_err(Error::engine(format!("exec in {}", rec.name)))?;
        self.engine
            .exec_helper_command(&rec.id, request, interactive)
            .map_err(Error::engine(format!("exec in {}", rec.name)))
    }
}
