//! A Kubernetes YAML file as typed documents, each with where it starts: a syntax or type
//! error names the file's line and column.
//!
//! The file is split at its `---` lines here (rather than with `from_str_multiple`) so that
//! each document can be read into its kind's type with positions in the whole file.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, PodTemplateSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// One document of the file, by kind.
#[derive(Debug, Clone)]
pub enum Document {
    Pod(Box<Pod>),
    /// A Deployment, DaemonSet (one pod: this host is its one node) or Job (one pod).
    Workload(Box<Workload>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    /// A kind `kube play` has no use for without a server (Service, Namespace): skipped.
    Skipped {
        kind: String,
        line: usize,
    },
}

/// What `kube play` makes of a Deployment, DaemonSet or Job: `replicas` pods of `template`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub metadata: ObjectMeta,
    pub replicas: i32,
    pub template: PodTemplateSpec,
}

/// Why the file cannot be played: where, and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DocumentError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The kinds skipped rather than refused.
const SKIPPED_KINDS: [&str; 2] = ["Service", "Namespace"];

/// Reads every document of `text` (named `file` in errors).
pub fn parse(file: &str, text: &str) -> Result<Vec<(usize, Document)>, DocumentError> {
    let mut documents = Vec::new();
    for (first_line, body) in split(text) {
        let error = |e: serde_saphyr::Error| {
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            DocumentError {
                file: file.to_string(),
                line: first_line + line.max(1) - 1,
                column: column.max(1),
                message: message_of(&e),
            }
        };
        let value: Option<serde_json::Value> = read(body).map_err(error)?;
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        let at = |message: String| DocumentError {
            file: file.to_string(),
            line: first_line,
            column: 1,
            message,
        };
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| at("a document without a kind".into()))?
            .to_string();
        let document = match kind.as_str() {
            "Pod" => Document::Pod(Box::new(read(body).map_err(error)?)),
            "Deployment" => {
                let d: Deployment = read(body).map_err(error)?;
                Document::Workload(Box::new(Workload {
                    metadata: d.metadata,
                    replicas: d.spec.replicas.unwrap_or(1),
                    template: d.spec.template,
                }))
            }
            "DaemonSet" => {
                let d: DaemonSet = read(body).map_err(error)?;
                Document::Workload(Box::new(Workload {
                    metadata: d.metadata,
                    replicas: 1,
                    template: d.spec.template,
                }))
            }
            "Job" => {
                let j: Job = read(body).map_err(error)?;
                let template = j.spec.map(|s| s.template).unwrap_or_default();
                Document::Workload(Box::new(Workload {
                    metadata: j.metadata,
                    replicas: 1,
                    template,
                }))
            }
            "ConfigMap" => Document::ConfigMap(Box::new(read(body).map_err(error)?)),
            "Secret" => Document::Secret(Box::new(read(body).map_err(error)?)),
            "PersistentVolumeClaim" => {
                Document::PersistentVolumeClaim(Box::new(read(body).map_err(error)?))
            }
            other if SKIPPED_KINDS.contains(&other) => Document::Skipped {
                kind,
                line: first_line,
            },
            other => {
                return Err(at(format!(
                    "kind {other:?} is not supported by kube play (Pod, Deployment, DaemonSet, Job, ConfigMap, Secret, PersistentVolumeClaim)"
                )));
            }
        };
        documents.push((first_line, document));
    }
    Ok(documents)
}

/// One document as `T`. Numbers with a leading 0 are octal, as in the YAML 1.1 that
/// Kubernetes reads (`defaultMode: 0644`).
fn read<'de, T: serde::Deserialize<'de>>(body: &'de str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(body, serde_saphyr::options! { legacy_octal_numbers: true })
}

/// The parser's message without its own (document-relative) position and snippet.
fn message_of(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line L column C: ..." and "... at line L, column C" are the document's; the caller
    // gives the file's.
    let first = match first.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((_, rest)) => rest,
        None => first,
    };
    match first.rfind(" at line ") {
        Some(at) => first[..at].trim_end_matches(':').to_string(),
        None => first.to_string(),
    }
}

/// The documents of `text` with the line (1-based) each starts on.
fn split(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            parts.push((start_line, &text[start_byte..offset]));
            start_byte = offset + line.len();
            start_line = index + 2;
        }
        offset += line.len();
    }
    parts.push((start_line, &text[start_byte..]));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: x\n    image: busybox\n";

    #[test]
    fn documents_are_read_by_kind() {
        let docs = parse("f.yaml", FILE).unwrap();
        assert_eq!(docs.len(), 2);
        assert!(matches!(docs[0].1, Document::ConfigMap(_)));
        assert_eq!(docs[1].0, 8);
        let Document::Pod(pod) = &docs[1].1 else {
            panic!("not a pod")
        };
        assert_eq!(pod.spec.as_ref().unwrap().containers[0].name, "x");
    }

    #[test]
    fn deployments_daemon_sets_and_jobs_are_workloads() {
        let template =
            "  template:\n    spec:\n      containers:\n      - name: x\n        image: bb\n";
        let text = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 3\n  selector: {{}}\n{template}---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: ds\nspec:\n  selector: {{}}\n{template}---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n{template}"
        );
        let docs = parse("f.yaml", &text).unwrap();
        let replicas: Vec<(String, i32)> = docs
            .iter()
            .map(|(_, d)| match d {
                Document::Workload(w) => (w.metadata.name.clone().unwrap(), w.replicas),
                other => panic!("not a workload: {other:?}"),
            })
            .collect();
        assert_eq!(
            replicas,
            [("d".into(), 3), ("ds".into(), 1), ("j".into(), 1)]
        );
    }

    #[test]
    fn a_leading_zero_is_octal_as_kubernetes_reads_it() {
        let text = format!(
            "{FILE}  volumes:\n  - name: s\n    secret:\n      secretName: s\n      defaultMode: 0400\n"
        );
        let docs = parse("f.yaml", &text).unwrap();
        let Document::Pod(pod) = &docs[1].1 else {
            panic!("not a pod")
        };
        let volumes = pod.spec.as_ref().unwrap().volumes.as_ref().unwrap();
        assert_eq!(
            volumes[0].secret.as_ref().unwrap().default_mode,
            Some(0o400)
        );
    }

    #[test]
    fn a_syntax_error_names_the_files_line() {
        let bad = FILE.replace("    image: busybox", "    image: [busybox");
        let e = parse("f.yaml", &bad).unwrap_err();
        assert_eq!(e.file, "f.yaml");
        assert!(e.line >= 15, "{e}");
    }

    #[test]
    fn a_type_error_names_the_files_line() {
        let bad = FILE.replace("image: busybox", "image: {name: busybox}");
        let e = parse("f.yaml", &bad).unwrap_err();
        assert_eq!(e.line, 15, "{e}");
        assert!(!e.message.starts_with("line "), "{e}");
    }

    #[test]
    fn an_unknown_kind_is_refused_with_its_line() {
        let bad = FILE.replace("kind: Pod", "kind: Frobnicator");
        let e = parse("f.yaml", &bad).unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.message.contains("Frobnicator"));
    }
}
