//! The kubelet: a Pod becomes berth containers (one sandbox holding the pod's network, IPC and
//! UTS namespaces, then its init and app containers), and their state becomes the Pod's status.
