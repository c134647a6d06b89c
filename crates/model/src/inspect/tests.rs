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
        network_settings: serde_json::json!({}),
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
            r#""LogPath":"/l","MountLabel":"","Mounts":[],"Name":"/n","NetworkSettings":{},"#,
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
