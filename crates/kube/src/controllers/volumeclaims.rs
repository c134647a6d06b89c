//! The PersistentVolumeClaim binder (the provisioner of a one-node cluster): a claim of a
//! storage class this node has (`standard`, the default, as kind's clusters name theirs) is
//! bound at once to a berth named volume `pvc-UID` (made by the engine on first mount, kept
//! when the claim goes: the data outlives its pods, as with Retain); a claim naming another
//! class stays Pending with the event kube-controller-manager records.

use serde_json::{Value, json};

use super::{kind, meta_str, write_status};
use crate::objects::{ListQuery, Objects, WriteOptions};
use crate::status::ApiError;

/// The one storage class: claims without a class get it.
pub const STORAGE_CLASS: &str = "standard";

/// The berth volume a claim is bound to.
pub fn volume_name(claim: &Value) -> String {
    format!("pvc-{}", meta_str(claim, "uid"))
}

pub fn sync_all(objects: &Objects) -> Result<(), ApiError> {
    let claims_kind = kind("", "persistentvolumeclaims");
    let (claims, _, _) = objects.list(claims_kind, None, &ListQuery::default())?;
    for claim in claims {
        if claim["status"]["phase"] == "Bound" || !claim["metadata"]["deletionTimestamp"].is_null()
        {
            continue;
        }
        let class = claim["spec"]["storageClassName"]
            .as_str()
            .unwrap_or_default();
        if !class.is_empty() && class != STORAGE_CLASS {
            // Said once: the claim's status carries no trace of it, so the event is the record.
            let said = claim["metadata"]["annotations"]["berth.dev/provisioning-failed"] == "true";
            if !said {
                let message = format!("storageclass.storage.k8s.io \"{class}\" not found");
                super::events::warning(
                    objects,
                    &claim,
                    "persistentvolume-controller",
                    "ProvisioningFailed",
                    &message,
                );
                let mut marked = claim.clone();
                marked["metadata"]["annotations"]["berth.dev/provisioning-failed"] = json!("true");
                let ns = meta_str(&claim, "namespace");
                match objects.update(
                    claims_kind,
                    ns,
                    meta_str(&claim, "name"),
                    None,
                    marked,
                    &WriteOptions::default(),
                ) {
                    Err(e) if e.code != 409 && e.code != 404 => return Err(e),
                    _ => {}
                }
            }
            continue;
        }
        bind(objects, &claim)?;
    }
    Ok(())
}

/// Binds a claim: its volume name and class in the spec, Bound with the asked size.
fn bind(objects: &Objects, claim: &Value) -> Result<(), ApiError> {
    let claims_kind = kind("", "persistentvolumeclaims");
    let ns = meta_str(claim, "namespace");
    let name = meta_str(claim, "name");
    let mut next = claim.clone();
    next["spec"]["volumeName"] = json!(volume_name(claim));
    next["spec"]["storageClassName"] = json!(STORAGE_CLASS);
    next["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
    next["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] = json!("berth");
    let updated = match objects.update(claims_kind, ns, name, None, next, &WriteOptions::default())
    {
        Ok((updated, _)) => updated,
        Err(e) if e.code == 409 || e.code == 404 => return Ok(()),
        Err(e) => return Err(e),
    };
    let storage = claim["spec"]["resources"]["requests"]["storage"].clone();
    let status = json!({
        "phase": "Bound",
        "accessModes": claim["spec"]["accessModes"],
        "capacity": {"storage": storage},
    });
    write_status(objects, claims_kind, &updated, status)
}
