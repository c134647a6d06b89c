//! A pod's resolv.conf under the API server: with dnsPolicy ClusterFirst (the default) it asks
//! the cluster DNS first, with the kubelet's search list (`NS.svc.cluster.local
//! svc.cluster.local cluster.local`) and `ndots:5`, so `web` and `web.NS` find a Service.
//! Without a cluster DNS (`berth kube play`) or with policy Default or None, the pod's
//! dnsConfig alone (already applied) decides.

use berth_engine::types::CreateRequest;
use k8s_openapi::api::core::v1::PodSpec;

/// The cluster DNS's service address (kube-dns in kube-system), as kubeadm's clusters have it.
pub const CLUSTER_DNS_IP: &str = "10.96.0.10";

/// Puts the cluster DNS before what dnsConfig already set on the infra container's request.
pub fn apply(request: &mut CreateRequest, spec: &PodSpec, namespace: &str, cluster_dns: &str) {
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_network = spec.host_network == Some(true);
    let cluster_first = match policy {
        "ClusterFirst" => !host_network,
        "ClusterFirstWithHostNet" => true,
        _ => false,
    };
    if !cluster_first {
        return;
    }
    let hc = &mut request.host_config;
    let mut nameservers = vec![cluster_dns.to_string()];
    nameservers.extend(hc.dns.take().unwrap_or_default());
    hc.dns = Some(nameservers);
    let mut searches = vec![
        format!("{namespace}.svc.cluster.local"),
        "svc.cluster.local".to_string(),
        "cluster.local".to_string(),
    ];
    searches.extend(hc.dns_search.take().unwrap_or_default());
    hc.dns_search = Some(searches);
    let mut options = hc.dns_options.take().unwrap_or_default();
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.insert(0, "ndots:5".to_string());
    }
    hc.dns_options = Some(options);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_first_pods_ask_the_cluster_dns_with_the_namespace_search_list() {
        let mut request = CreateRequest::default();
        request.host_config.dns_search = Some(vec!["example.org".into()]);
        apply(&mut request, &PodSpec::default(), "shop", CLUSTER_DNS_IP);
        let hc = &request.host_config;
        assert_eq!(hc.dns.as_deref().unwrap(), ["10.96.0.10"]);
        assert_eq!(
            hc.dns_search.as_deref().unwrap(),
            [
                "shop.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local",
                "example.org"
            ]
        );
        assert_eq!(hc.dns_options.as_deref().unwrap(), ["ndots:5"]);
        let mut host = CreateRequest::default();
        let spec = PodSpec {
            host_network: Some(true),
            ..PodSpec::default()
        };
        apply(&mut host, &spec, "shop", CLUSTER_DNS_IP);
        assert!(host.host_config.dns.is_none());
    }
}
