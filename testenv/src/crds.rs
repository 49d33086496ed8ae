//! Installing CRDs: server-side apply every `*.yaml`/`*.yml` document of a
//! directory, then wait until each CRD is `Established` and its resource
//! answers a list request (the API server serves a CRD shortly after it is
//! Established, not at the same instant).

use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::try_join_all;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;

use crate::plane::FIELD_MANAGER;
use crate::{Error, paths};

/// Read every CRD document from the YAML files of `dir`, sorted by file name.
pub(crate) fn load(dir: &Path) -> Result<Vec<CustomResourceDefinition>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::SharedDirMissing {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut crds = Vec::new();
    for file in &files {
        for doc in paths::read_yaml_docs(file)? {
            let crd: CustomResourceDefinition = serde_json::from_value(doc).map_err(|e| {
                Error::State(format!(
                    "{} is not a CustomResourceDefinition: {e}",
                    file.display()
                ))
            })?;
            crds.push(crd);
        }
    }
    if crds.is_empty() {
        return Err(Error::State(format!("no CRDs found in {}", dir.display())));
    }
    Ok(crds)
}

/// Server-side apply `crds` and wait until all of them are served.
pub(crate) async fn install(
    client: &kube::Client,
    crds: Vec<CustomResourceDefinition>,
    timeout: Duration,
) -> Result<Vec<ApiResource>, Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    try_join_all(crds.iter().map(|crd| {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let (api, pp) = (&api, &pp);
        async move {
            api.patch(&name, pp, &Patch::Apply(crd))
                .await
                .map_err(Error::kube(format!("applying CRD {name}")))
        }
    }))
    .await?;

    let resources: Vec<ApiResource> = crds.iter().map(api_resource).collect();
    let deadline = Instant::now() + timeout;
    try_join_all(crds.iter().map(|crd| {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let api = &api;
        async move {
            loop {
                let live = api
                    .get(&name)
                    .await
                    .map_err(Error::kube(format!("reading CRD {name}")))?;
                let established = live
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    });
                if established {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(Error::State(format!(
                        "CRD {name} not Established after {timeout:?}: {:?}",
                        live.status
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }))
    .await?;
    wait_served(client, &resources, timeout).await?;
    Ok(resources)
}

/// Wait until a cluster-wide list of each resource succeeds.
pub(crate) async fn wait_served(
    client: &kube::Client,
    resources: &[ApiResource],
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    try_join_all(resources.iter().map(|ar| async move {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
        loop {
            match api.list(&ListParams::default().limit(1)).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(Error::kube(format!(
                        "{}.{} not served after {timeout:?}",
                        ar.plural, ar.group
                    ))(e));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }))
    .await?;
    Ok(())
}

/// The storage version's resource of a CRD.
fn api_resource(crd: &CustomResourceDefinition) -> ApiResource {
    let spec = &crd.spec;
    let version = spec
        .versions
        .iter()
        .find(|v| v.storage)
        .or_else(|| spec.versions.first())
        .map(|v| v.name.clone())
        .unwrap_or_default();
    ApiResource {
        group: spec.group.clone(),
        api_version: format!("{}/{version}", spec.group),
        version,
        kind: spec.names.kind.clone(),
        plural: spec.names.plural.clone(),
    }
}
