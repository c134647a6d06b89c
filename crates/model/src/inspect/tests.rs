//! The documents' JSON shape: names, order, and nulls where Docker has them.

use std::collections::BTreeMap;

use super::*;
use crate::types::Health;

#[test]
fn volume_document_has_nulls_for_no_labels() {
    let doc = VolumeInspect {
        created_at: "2026-01-01T00:00:00Z".into(),
        driver: "local".into(),
        labels: None,
        mountpoint: "/var/lib/berth/volumes/v/_data".into(),
        name: "v".into(),
        options: Some(BTreeMap::from([("type".into(), "tmpfs".into())])),
        scope: "local".into(),
    };
    assert_eq!(
        serde_json::to_string(&to_document(&doc)).unwrap(),
        r#"{"CreatedAt":"2026-01-01T00:00:00Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/berth/volumes/v/_data","Name":"v","Options":{"type":"tmpfs"},"Scope":"local"}"#
    );
}

#[test]
fn container_document_shape() {
    let doc = ContainerInspect {
        app_armor_profile: String::new(),
        args: vec!["-c".into()],
        config: serde_json::json!({"Tty": false, "Image": "bb"}),
        created: "c".into(),
        driver: "overlay2".into(),
        exec_ids: None,
        graph_driver: GraphDriver {
            data: GraphDriverData {
                merged_dir: "/m".into(),
                upper_dir: "/u".into(),
                work_dir: "/w".into(),
            },
            name: "overlay2".into(),
        },
        host_config: serde_json::json!({}),
        hostname_path: "/h".into(),
        hosts_path: "/hs".into(),
        id: "id".into(),
        image: "sha256:x".into(),
        log_path: "/l".into(),
        mount_label: String::new(),
        mounts: Vec::new(),
        name: "/n".into(),
        network_settings: NetworkSettings::default(),
        path: "sh".into(),
        platform: "linux".into(),
        process_label: String::new(),
        resolv_conf_path: "/r".into(),
        restart_count: 0,
        size_root_fs: None,
        size_rw: None,
        state: ContainerState {
            status: "running".into(),
            running: true,
            pid: 7,
            health: Some(Health {
                status: "starting".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    let text = serde_json::to_string(&to_document(&doc)).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"AppArmorProfile":"","Args":["-c"],"Config":{"Image":"bb","Tty":false},"#,
            r#""Created":"c","Driver":"overlay2","ExecIDs":null,"#,
            r#""GraphDriver":{"Data":{"MergedDir":"/m","UpperDir":"/u","WorkDir":"/w"},"Name":"overlay2"},"#,
            r#""HostConfig":{},"HostnamePath":"/h","HostsPath":"/hs","Id":"id","Image":"sha256:x","#,
            r#""LogPath":"/l","MountLabel":"","Mounts":[],"Name":"/n","NetworkSettings":{"Bridge":"","Gateway":"","HairpinMode":false,"#,
            r#""IPAddress":"","IPPrefixLen":0,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"#,
            r#""MacAddress":"","Networks":{},"Ports":{},"SandboxID":"","SandboxKey":""},"#,
            r#""Path":"sh","Platform":"linux","ProcessLabel":"","ResolvConfPath":"/r","RestartCount":0,"#,
            r#""State":{"Dead":false,"Error":"","ExitCode":0,"FinishedAt":"","#,
            r#""Health":{"FailingStreak":0,"Log":[],"Status":"starting"},"OOMKilled":false,"#,
            r#""Paused":false,"Pid":7,"Restarting":false,"Running":true,"StartedAt":"","Status":"running"}}"#
        )
    );
    // Declared in JSON-name order: serialized directly, the top level reads the same.
    let direct = serde_json::to_string(&doc).unwrap();
    assert!(direct.starts_with(r#"{"AppArmorProfile":"","Args":["-c"],"Config""#));
    let with_size = ContainerInspect {
        size_rw: Some(1),
        size_root_fs: Some(2),
        ..doc
    };
    let text = serde_json::to_string(&to_document(&with_size)).unwrap();
    assert!(text.contains(r#""RestartCount":0,"SizeRootFs":2,"SizeRw":1,"State""#));
}

#[test]
fn network_document_shape() {
    let predefined = NetworkInspect {
        attachable: false,
        berth_bridge: None,
        config_from: NetworkConfigFrom::default(),
        config_only: false,
        containers: BTreeMap::from([(
            "c1".to_string(),
            NetworkMember {
                name: "web".into(),
                ..Default::default()
            },
        )]),
        created: "t".into(),
        driver: "host".into(),
        enable_ipv4: true,
        enable_ipv6: false,
        ipam: NetworkIpam {
            config: Vec::new(),
            driver: "default".into(),
            options: None,
        },
        id: "id".into(),
        ingress: false,
        internal: false,
        labels: BTreeMap::new(),
        name: "host".into(),
        options: BTreeMap::new(),
        scope: "local".into(),
    };
    assert_eq!(
        serde_json::to_string(&predefined).unwrap(),
        concat!(
            r#"{"Attachable":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"#,
            r#""Containers":{"c1":{"EndpointID":"","IPv4Address":"","IPv6Address":"","MacAddress":"","Name":"web"}},"#,
            r#""Created":"t","Driver":"host","EnableIPv4":true,"EnableIPv6":false,"#,
            r#""IPAM":{"Config":[],"Driver":"default","Options":null},"Id":"id","Ingress":false,"#,
            r#""Internal":false,"Labels":{},"Name":"host","Options":{},"Scope":"local"}"#
        )
    );
    let bridge = NetworkInspect {
        berth_bridge: Some("br-1".into()),
        ipam: NetworkIpam {
            config: vec![IpamPool {
                gateway: "10.0.0.1".into(),
                ip_range: None,
                subnet: "10.0.0.0/24".into(),
                auxiliary_addresses: None,
            }],
            driver: "default".into(),
            options: Some(BTreeMap::new()),
        },
        ..predefined
    };
    let text = serde_json::to_string(&to_document(&bridge)).unwrap();
    assert!(text.contains(r#""BerthBridge":"br-1","#), "{text}");
    assert!(
        text.contains(r#""IPAM":{"Config":[{"Gateway":"10.0.0.1","Subnet":"10.0.0.0/24"}],"Driver":"default","Options":{}}"#),
        "{text}"
    );
}

#[test]
fn image_document_shows_healthcheck_and_shell_only_when_set() {
    let config = ImageInspectConfig {
        cmd: Some(vec!["sh".into()]),
        ..Default::default()
    };
    let text = serde_json::to_string(&config).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"AttachStderr":false,"AttachStdin":false,"AttachStdout":false,"Cmd":["sh"],"#,
            r#""Domainname":"","Entrypoint":null,"Env":null,"ExposedPorts":null,"Hostname":"","#,
            r#""Image":"","Labels":null,"OnBuild":null,"OpenStdin":false,"StdinOnce":false,"#,
            r#""StopSignal":null,"Tty":false,"User":"","Volumes":null,"WorkingDir":""}"#
        )
    );
    let with_shell = ImageInspectConfig {
        shell: Some(vec!["/bin/bash".into(), "-c".into()]),
        healthcheck: Some(serde_json::json!({"Test": ["NONE"]})),
        ..config
    };
    let text = serde_json::to_string(&with_shell).unwrap();
    assert!(
        text.contains(r#""Healthcheck":{"Test":["NONE"]},"Hostname""#),
        "{text}"
    );
    assert!(
        text.contains(r#""OpenStdin":false,"Shell":["/bin/bash","-c"],"StdinOnce""#),
        "{text}"
    );
}

#[test]
fn endpoint_fields_follow_what_docker_shows() {
    // A predefined mode: no IPv6 fields, no DNSNames.
    let predefined = serde_json::to_string(&ContainerEndpoint::default()).unwrap();
    assert_eq!(
        predefined,
        concat!(
            r#"{"Aliases":null,"EndpointID":"","Gateway":"","IPAMConfig":null,"IPAddress":"","#,
            r#""IPPrefixLen":0,"Links":null,"MacAddress":"","NetworkID":""}"#
        )
    );
    // A user network: the IPv6 fields empty, DNSNames the name and short id.
    let joined = ContainerEndpoint {
        dns_names: Some(Some(vec!["web".into(), "0123456789ab".into()])),
        network_id: "n".into(),
        ..Default::default()
    }
    .with_empty_ipv6();
    let doc = to_document(&joined);
    assert_eq!(doc["DNSNames"], serde_json::json!(["web", "0123456789ab"]));
    assert_eq!(doc["GlobalIPv6Address"], "");
    assert_eq!(doc["GlobalIPv6PrefixLen"], 0);
    assert_eq!(doc["IPv6Gateway"], "");
    // The default bridge: DNSNames null, not absent.
    let default_bridge = ContainerEndpoint {
        dns_names: Some(None),
        ..Default::default()
    };
    assert!(to_document(&default_bridge)["DNSNames"].is_null());
    assert!(to_document(&default_bridge).get("DNSNames").is_some());
}

#[test]
fn port_map_has_null_for_exposed_only() {
    let mut settings = NetworkSettings::default();
    settings.ports.insert("53/udp".into(), None);
    settings.ports.insert(
        "80/tcp".into(),
        Some(vec![crate::types::PortBinding {
            host_ip: "".into(),
            host_port: "8080".into(),
        }]),
    );
    let doc = to_document(&settings);
    assert!(doc["Ports"]["53/udp"].is_null());
    assert_eq!(
        doc["Ports"]["80/tcp"],
        serde_json::json!([{"HostIp": "", "HostPort": "8080"}])
    );
}

#[test]
fn mount_points_leave_out_name_and_driver_but_for_volumes() {
    let tmpfs = MountPoint {
        kind: "tmpfs".into(),
        destination: "/scratch".into(),
        rw: true,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&tmpfs).unwrap(),
        r#"{"Destination":"/scratch","Mode":"","Propagation":"","RW":true,"Source":"","Type":"tmpfs"}"#
    );
    let volume = MountPoint {
        name: Some("v".into()),
        driver: Some("local".into()),
        ..tmpfs
    };
    let doc = to_document(&volume);
    assert_eq!(doc["Name"], "v");
    assert_eq!(doc["Driver"], "local");
}
