//! How a pod's containers are named and labelled: as the dockershim did, so `berth ps` (and
//! anything that knew `docker ps` on a Kubernetes node) reads them.

use std::collections::BTreeMap;

pub const POD_NAME: &str = "io.kubernetes.pod.name";
pub const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub const POD_UID: &str = "io.kubernetes.pod.uid";
pub const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// "podsandbox" for the infra container, "container" for the others (the dockershim's).
pub const CONTAINER_TYPE: &str = "io.kubernetes.docker.type";
/// Set on init containers: they run to completion before the app containers start.
pub const INIT: &str = "io.berth.kube.init";
/// The hash of the container's spec it was made from (the dockershim's
/// `annotation.io.kubernetes.container.hash`): a container whose spec changed is made again.
pub const CONTAINER_HASH: &str = "io.kubernetes.container.hash";
/// The infra container's name in `io.kubernetes.container.name`.
pub const INFRA: &str = "POD";

/// Who a pod is: what its containers' names and labels carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentity {
    pub name: String,
    pub namespace: String,
    pub uid: String,
}

impl PodIdentity {
    /// `k8s_POD_<pod>_<ns>_<uid>_0`
    pub fn infra_name(&self) -> String {
        format!(
            "k8s_{INFRA}_{}_{}_{}_0",
            self.name, self.namespace, self.uid
        )
    }

    /// `k8s_<ctr>_<pod>_<ns>_<uid>_<attempt>`
    pub fn container_name(&self, container: &str, attempt: u32) -> String {
        format!(
            "k8s_{container}_{}_{}_{}_{attempt}",
            self.name, self.namespace, self.uid
        )
    }

    /// The labels of the pod's container `container` (`POD` for its infra container).
    pub fn labels(&self, container: &str, init: bool) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (POD_NAME.to_string(), self.name.clone()),
            (POD_NAMESPACE.to_string(), self.namespace.clone()),
            (POD_UID.to_string(), self.uid.clone()),
            (CONTAINER_NAME.to_string(), container.to_string()),
            (
                CONTAINER_TYPE.to_string(),
                if container == INFRA {
                    "podsandbox"
                } else {
                    "container"
                }
                .to_string(),
            ),
        ]);
        if init {
            labels.insert(INIT.to_string(), "true".to_string());
        }
        labels
    }

    /// The name of a volume the kubelet makes for this pod (an emptyDir, a configMap's files).
    pub fn volume_name(&self, volume: &str) -> String {
        format!("k8s_{volume}_{}_{}_{}", self.name, self.namespace, self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_dockershims() {
        let pod = PodIdentity {
            name: "web".into(),
            namespace: "default".into(),
            uid: "1234".into(),
        };
        assert_eq!(pod.infra_name(), "k8s_POD_web_default_1234_0");
        assert_eq!(
            pod.container_name("nginx", 2),
            "k8s_nginx_web_default_1234_2"
        );
        let labels = pod.labels("POD", false);
        assert_eq!(labels[CONTAINER_TYPE], "podsandbox");
        assert_eq!(labels[POD_UID], "1234");
    }
}
