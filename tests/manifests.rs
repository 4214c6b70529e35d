//! The Kubernetes manifests in `manifests/kubernetes/`, read as data: what an operator relies on
//! when applying them. Every file parses; the Deployment is replicated, probed on the port the
//! Service targets, and hardened; the selectors agree; every variable it sets is one warden
//! reads; the ConfigMaps are the repository's `warden.example.toml` and `commands/*.toml`, byte
//! for byte, and pass warden's own validation (what `warden check` runs) when mounted the way
//! the kubelet mounts them; the kustomization lists every manifest but the Secret template;
//! and the Secret template holds placeholders only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;
use warden::actions::ActionEnv;
use warden::config::Settings;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Secret template: not applied by `kubectl apply -k`, so that it can never overwrite the
/// real Secret with its placeholders.
const SECRET_TEMPLATE: &str = "secret.example.yaml";

/// How a placeholder in the Secret template is spelled.
const PLACEHOLDER: &str = "REPLACE_ME";

fn kube_dir() -> PathBuf {
    Path::new(ROOT).join("manifests/kubernetes")
}

/// One YAML document and the file it came from.
struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }
}

/// Every `*.yaml` file in the directory, sorted.
fn yaml_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(kube_dir())
        .expect("manifests/kubernetes exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect();
    files.sort();
    files
}

/// Every document of every file, parsed; empty documents are skipped.
fn documents() -> Vec<Doc> {
    let mut docs = Vec::new();
    for file in yaml_files() {
        let text = std::fs::read_to_string(kube_dir().join(&file)).unwrap();
        for (i, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{file}: document {} does not parse: {e}", i + 1));
            if !value.is_null() {
                docs.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    docs
}

/// The one document of `kind` (and `name`, when given).
fn one<'a>(docs: &'a [Doc], kind: &str, name: Option<&str>) -> &'a Doc {
    let found: Vec<&Doc> = docs
        .iter()
        .filter(|d| d.kind() == kind && name.is_none_or(|n| d.name() == n))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one {kind} {name:?}, found {}",
        found.len()
    );
    found[0]
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

fn seq_of<'a>(value: &'a Value, what: &str) -> &'a Vec<Value> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("{what} is not a list: {value:?}"))
}

/// A `key: string` mapping (labels, selectors, ConfigMap data) as a sorted map.
fn string_map(value: &Value, what: &str) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} is not a mapping: {value:?}"))
        .iter()
        .map(|(k, v)| (str_of(k, what).to_string(), str_of(v, what).to_string()))
        .collect()
}

fn is_subset(part: &BTreeMap<String, String>, whole: &BTreeMap<String, String>) -> bool {
    part.iter().all(|(k, v)| whole.get(k) == Some(v))
}

/// The pod template's containers and init containers.
fn all_containers(deployment: &Value) -> Vec<&Value> {
    let pod = &deployment["spec"]["template"]["spec"];
    let mut all: Vec<&Value> = seq_of(&pod["containers"], "containers").iter().collect();
    if let Some(init) = pod["initContainers"].as_sequence() {
        all.extend(init.iter());
    }
    all
}

fn main_container(deployment: &Value) -> &Value {
    seq_of(
        &deployment["spec"]["template"]["spec"]["containers"],
        "containers",
    )
    .iter()
    .find(|c| c["name"] == "warden")
    .expect("a container named warden")
}

/// A probe's or a Service's port, resolved against the container's ports (a number, or the
/// name of one of its ports).
fn resolve_port(container: &Value, port: &Value) -> u64 {
    if let Some(number) = port.as_u64() {
        return number;
    }
    let name = str_of(port, "port");
    seq_of(&container["ports"], "ports")
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("the container has no port named {name}"))
}

/// The literal `value` of an environment variable the container sets.
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .and_then(|e| e["value"].as_str())
}

/// The variables warden reads from its environment: every `get("NAME")` in
/// `src/config/settings.rs` (the one place that reads them).
fn settings_variables() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("src/config/settings.rs")).unwrap();
    let pattern = regex::Regex::new(r#"get\("([A-Z][A-Z0-9_]*)"\)"#).unwrap();
    let names: BTreeSet<String> = pattern
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect();
    for expected in [
        "WARDEN_LISTEN",
        "WARDEN_DATABASE_URL",
        "SLACK_SIGNING_SECRET",
    ] {
        assert!(
            names.contains(expected),
            "reading settings.rs found no {expected}: {names:?}"
        );
    }
    names
}

/// The Secret template's `stringData`.
fn secret_values(docs: &[Doc]) -> BTreeMap<String, String> {
    let secret = one(docs, "Secret", None);
    string_map(&secret.value["stringData"], "the Secret's stringData")
}

/// Writes a ConfigMap's data the way the kubelet mounts it: the files in a timestamped
/// folder, `..data` pointing at it, and each key a symlink through `..data`.
fn mount_like_kubelet(data: &BTreeMap<String, String>, at: &Path) {
    let stamp = at.join("..2026_01_01_00_00_00.000000001");
    std::fs::create_dir_all(&stamp).unwrap();
    for (key, text) in data {
        std::fs::write(stamp.join(key), text).unwrap();
    }
    std::os::unix::fs::symlink(stamp.file_name().unwrap(), at.join("..data")).unwrap();
    for key in data.keys() {
        std::os::unix::fs::symlink(Path::new("..data").join(key), at.join(key)).unwrap();
    }
}

#[test]
fn every_file_parses_and_every_kind_is_there() {
    let docs = documents();
    for doc in &docs {
        assert!(
            doc.value["apiVersion"].is_string(),
            "{}: a document has no apiVersion",
            doc.file
        );
        assert!(
            !doc.kind().is_empty(),
            "{}: a document has no kind",
            doc.file
        );
        if doc.kind() != "Kustomization" {
            assert!(
                !doc.name().is_empty(),
                "{}: a {} has no name",
                doc.file,
                doc.kind()
            );
        }
    }
    let kinds: BTreeSet<&str> = docs.iter().map(Doc::kind).collect();
    for kind in [
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
        "Kustomization",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    // Each file holds what its name says.
    for (file, kind) in [
        ("deployment.yaml", "Deployment"),
        ("service.yaml", "Service"),
        ("configmap.yaml", "ConfigMap"),
        ("pdb.yaml", "PodDisruptionBudget"),
        (SECRET_TEMPLATE, "Secret"),
        ("kustomization.yaml", "Kustomization"),
    ] {
        assert!(
            docs.iter()
                .filter(|d| d.file == file)
                .all(|d| d.kind() == kind),
            "{file} holds something other than {kind}"
        );
    }
}

#[test]
fn the_kustomization_lists_every_manifest_but_the_secret_template() {
    let docs = documents();
    let kustomization = one(&docs, "Kustomization", None);
    let listed: BTreeSet<String> = seq_of(&kustomization.value["resources"], "resources")
        .iter()
        .map(|r| str_of(r, "a resource").to_string())
        .collect();
    let expected: BTreeSet<String> = yaml_files()
        .into_iter()
        .filter(|f| f != "kustomization.yaml" && f != SECRET_TEMPLATE)
        .collect();
    assert_eq!(listed, expected, "kustomization.yaml's resources");
    assert!(
        !listed.contains(SECRET_TEMPLATE),
        "the Secret template must not be applied: it would overwrite the real Secret"
    );
}

#[test]
fn the_deployment_is_replicated_probed_and_hardened() {
    let docs = documents();
    let deployment = &one(&docs, "Deployment", Some("warden")).value;
    let pod = &deployment["spec"]["template"]["spec"];
    let replicas = deployment["spec"]["replicas"].as_u64().expect("replicas");
    assert!(replicas >= 2, "replicas is {replicas}");

    // Probes: readiness on /readyz, liveness on /healthz, on the port the Service targets,
    // which is the port warden listens on.
    let warden = main_container(deployment);
    let service = &one(&docs, "Service", Some("warden")).value;
    let service_ports = seq_of(&service["spec"]["ports"], "the Service's ports");
    assert_eq!(service_ports.len(), 1, "the Service has one port");
    let target = resolve_port(warden, &service_ports[0]["targetPort"]);
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &warden[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}'s path");
        assert_eq!(
            resolve_port(warden, &get["port"]),
            target,
            "{probe} and the Service's targetPort differ"
        );
    }
    if !warden["startupProbe"].is_null() {
        assert_eq!(
            resolve_port(warden, &warden["startupProbe"]["httpGet"]["port"]),
            target
        );
    }
    let listen = env_value(warden, "WARDEN_LISTEN").expect("WARDEN_LISTEN is set");
    let listen: std::net::SocketAddr = listen.parse().expect("WARDEN_LISTEN is HOST:PORT");
    assert!(
        listen.ip().is_unspecified(),
        "warden must listen on every interface in a pod, not {listen}"
    );
    assert_eq!(u64::from(listen.port()), target, "WARDEN_LISTEN's port");

    // Hardening, for every container (the migration runs in the same image).
    let pod_security = &pod["securityContext"];
    for container in all_containers(deployment) {
        let name = container["name"].as_str().unwrap_or("?");
        let security = &container["securityContext"];
        let either = |key: &str| {
            if security[key].is_null() {
                &pod_security[key]
            } else {
                &security[key]
            }
        };
        assert_eq!(
            either("runAsNonRoot").as_bool(),
            Some(true),
            "{name}: runAsNonRoot"
        );
        let user = either("runAsUser").as_u64();
        assert!(
            user.is_some_and(|u| u > 0),
            "{name}: runAsUser must be a numeric non-root user (the kubelet cannot check a \
             user name): {user:?}"
        );
        assert_eq!(
            security["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{name}: readOnlyRootFilesystem"
        );
        assert_eq!(
            security["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{name}: allowPrivilegeEscalation"
        );
        let dropped = seq_of(&security["capabilities"]["drop"], "capabilities.drop");
        assert!(
            dropped.iter().any(|c| c == "ALL"),
            "{name}: capabilities must drop ALL"
        );
        for what in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    !container["resources"][what][resource].is_null(),
                    "{name}: resources.{what}.{resource} is not set"
                );
            }
        }
        assert_eq!(
            container["image"], warden["image"],
            "{name} runs another image"
        );
    }

    // A writable /tmp on a read-only root filesystem.
    let volumes = seq_of(&pod["volumes"], "volumes");
    let tmp = seq_of(&warden["volumeMounts"], "volumeMounts")
        .iter()
        .find(|m| m["mountPath"] == "/tmp")
        .expect("/tmp is mounted");
    let tmp_volume = volumes
        .iter()
        .find(|v| v["name"] == tmp["name"])
        .expect("the /tmp volume exists");
    assert!(!tmp_volume["emptyDir"].is_null(), "/tmp is an emptyDir");

    // Shutdown: SIGTERM → 20 s for running jobs, 5 s to hand the rest back (the outbox's 5 s
    // and the HTTP drain run at the same time), after the preStop pause.
    let pre_stop: u64 = warden["lifecycle"]["preStop"]["exec"]["command"]
        .as_sequence()
        .and_then(|c| c.get(1))
        .and_then(|s| s.as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds is set");
    assert!(
        grace > 20 + 5 + pre_stop,
        "terminationGracePeriodSeconds ({grace}) must outlast the shutdown drain"
    );

    // Replicas on different nodes.
    let labels = string_map(
        &deployment["spec"]["template"]["metadata"]["labels"],
        "labels",
    );
    let spread_by_host = pod["topologySpreadConstraints"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|c| {
            c["topologyKey"] == "kubernetes.io/hostname"
                && c["whenUnsatisfiable"] == "DoNotSchedule"
                && is_subset(
                    &string_map(&c["labelSelector"]["matchLabels"], "labelSelector"),
                    &labels,
                )
        });
    let anti_affinity = pod["affinity"]["podAntiAffinity"]
        ["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|t| t["topologyKey"] == "kubernetes.io/hostname");
    assert!(
        spread_by_host || anti_affinity,
        "nothing keeps two replicas off one node"
    );

    // Migrations run before the new version serves.
    let init = seq_of(&pod["initContainers"], "initContainers");
    assert!(
        init.iter()
            .any(|c| seq_of(&c["args"], "args").as_slice() == [Value::from("migrate")]),
        "no init container runs `warden migrate`"
    );

    // The Service's name becomes WARDEN_* variables unless service links are off.
    assert_eq!(pod["enableServiceLinks"].as_bool(), Some(false));
}

#[test]
fn the_selectors_agree_with_the_pod_labels() {
    let docs = documents();
    let deployment = &one(&docs, "Deployment", Some("warden")).value;
    let labels = string_map(
        &deployment["spec"]["template"]["metadata"]["labels"],
        "labels",
    );
    let own = string_map(
        &deployment["spec"]["selector"]["matchLabels"],
        "the Deployment's selector",
    );
    assert!(is_subset(&own, &labels), "the Deployment's selector");

    let service = &one(&docs, "Service", Some("warden")).value;
    let selector = string_map(&service["spec"]["selector"], "the Service's selector");
    assert!(!selector.is_empty());
    assert!(
        is_subset(&selector, &labels),
        "the Service selects {selector:?}, the pods carry {labels:?}"
    );

    let pdb = &one(&docs, "PodDisruptionBudget", None).value;
    let pdb_selector = string_map(
        &pdb["spec"]["selector"]["matchLabels"],
        "the PDB's selector",
    );
    assert!(
        is_subset(&pdb_selector, &labels),
        "the PDB selects {pdb_selector:?}, the pods carry {labels:?}"
    );
    assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(1));
    let replicas = deployment["spec"]["replicas"].as_u64().unwrap();
    assert!(
        replicas > 1,
        "with minAvailable 1, one replica would block every node drain"
    );
}

#[test]
fn every_variable_the_deployment_sets_is_one_warden_reads() {
    let docs = documents();
    let deployment = &one(&docs, "Deployment", Some("warden")).value;
    let secret = one(&docs, "Secret", None);
    let secret_values = secret_values(&docs);

    // warden's settings, plus the variables the shipped commands name (`sign_secret_env`,
    // `inherit_env`), which the registry reports as missing from an empty environment.
    let mut known = settings_variables();
    let env = HashMap::from([
        (
            "WARDEN_CONFIG".to_string(),
            Path::new(ROOT)
                .join("warden.example.toml")
                .display()
                .to_string(),
        ),
        (
            "WARDEN_COMMANDS_DIR".to_string(),
            Path::new(ROOT).join("commands").display().to_string(),
        ),
    ]);
    let settings = Settings::from_env(&env).unwrap();
    let (directory, registry) = warden::app::load_definitions(&settings).expect("commands/ loads");
    let (_, from_commands) = ActionEnv::capture(&registry, &HashMap::new());
    known.extend(from_commands);
    // And the credentials of the alert sources the example names (`token_env`).
    known.extend(
        directory
            .alert_sources
            .values()
            .map(|s| s.auth.env().to_string()),
    );

    let mut set: Vec<(String, String)> = Vec::new();
    for container in all_containers(deployment) {
        let name = container["name"].as_str().unwrap_or("?");
        for var in container["env"].as_sequence().into_iter().flatten() {
            set.push((
                name.to_string(),
                str_of(&var["name"], "env name").to_string(),
            ));
            if let Some(reference) = var["valueFrom"]["secretKeyRef"].as_mapping() {
                let key = str_of(&reference[&Value::from("key")], "secretKeyRef.key");
                assert_eq!(
                    reference[&Value::from("name")].as_str(),
                    Some(secret.name()),
                    "{name}: {key} refers to another Secret"
                );
                assert!(
                    secret_values.contains_key(key),
                    "{name}: the Secret template has no key {key}"
                );
            }
        }
        for source in container["envFrom"].as_sequence().into_iter().flatten() {
            assert_eq!(
                source["secretRef"]["name"].as_str(),
                Some(secret.name()),
                "{name}: envFrom names another Secret"
            );
            // envFrom turns every key of the Secret into a variable.
            set.extend(
                secret_values
                    .keys()
                    .map(|k| (format!("{name} (from the Secret)"), k.clone())),
            );
        }
    }
    for (container, var) in &set {
        assert!(
            known.contains(var),
            "{container} sets {var}, which warden does not read (it reads {known:?})"
        );
    }

    // The database URL comes from the Secret, in every container that needs it.
    for container in all_containers(deployment) {
        let url = container["env"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "WARDEN_DATABASE_URL")
            .unwrap_or_else(|| panic!("{:?} does not set WARDEN_DATABASE_URL", container["name"]));
        assert!(
            url["valueFrom"]["secretKeyRef"].is_mapping(),
            "WARDEN_DATABASE_URL must come from the Secret"
        );
    }

    // What the warden container ends up with (the template's placeholders standing in for
    // the Secret) is a configuration warden accepts.
    let warden = main_container(deployment);
    let mut environment: HashMap<String, String> = secret_values.clone().into_iter().collect();
    for var in warden["env"].as_sequence().into_iter().flatten() {
        if let Some(value) = var["value"].as_str() {
            environment.insert(str_of(&var["name"], "env name").to_string(), value.into());
        }
    }
    let settings = Settings::from_env(&environment).unwrap_or_else(|problems| {
        panic!("warden refuses the Deployment's settings: {problems:?}")
    });
    assert!(settings.database_url.starts_with("postgres://"));
    assert!(settings.public_url.starts_with("https://"));
}

#[test]
fn the_configmaps_are_the_repository_files_and_pass_warden_check() {
    let docs = documents();
    let config = string_map(
        &one(&docs, "ConfigMap", Some("warden-config")).value["data"],
        "warden-config's data",
    );
    let commands = string_map(
        &one(&docs, "ConfigMap", Some("warden-commands")).value["data"],
        "warden-commands' data",
    );

    // Byte for byte, so that the manifests cannot drift from the repository.
    let example = std::fs::read_to_string(Path::new(ROOT).join("warden.example.toml")).unwrap();
    assert_eq!(
        config.keys().collect::<Vec<_>>(),
        vec!["warden.toml"],
        "warden-config holds warden.toml only"
    );
    assert!(
        config["warden.toml"] == example,
        "configmap.yaml's warden.toml differs from warden.example.toml: copy it again"
    );
    let mut shipped = BTreeMap::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("commands")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            shipped.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    assert_eq!(
        commands.keys().collect::<Vec<_>>(),
        shipped.keys().collect::<Vec<_>>(),
        "warden-commands holds other files than commands/"
    );
    for (name, text) in &shipped {
        assert!(
            &commands[name] == text,
            "configmap.yaml's {name} differs from commands/{name}: copy it again"
        );
    }

    // Mounted as the Deployment mounts them, they pass `warden check`'s validation.
    let deployment = &one(&docs, "Deployment", Some("warden")).value;
    let warden = main_container(deployment);
    let volumes = seq_of(
        &deployment["spec"]["template"]["spec"]["volumes"],
        "volumes",
    );
    let mount_of = |config_map: &str| -> String {
        let volume = volumes
            .iter()
            .find(|v| v["configMap"]["name"].as_str() == Some(config_map))
            .unwrap_or_else(|| panic!("no volume for the ConfigMap {config_map}"));
        let mount = seq_of(&warden["volumeMounts"], "volumeMounts")
            .iter()
            .find(|m| m["name"] == volume["name"])
            .unwrap_or_else(|| panic!("the ConfigMap {config_map} is not mounted"));
        assert_eq!(mount["readOnly"].as_bool(), Some(true));
        assert!(
            mount["subPath"].is_null(),
            "a subPath mount never sees updates"
        );
        str_of(&mount["mountPath"], "mountPath").to_string()
    };
    let config_dir = mount_of("warden-config");
    let commands_dir = mount_of("warden-commands");
    assert_eq!(
        env_value(warden, "WARDEN_CONFIG"),
        Some(format!("{config_dir}/warden.toml").as_str()),
        "WARDEN_CONFIG is not the mounted warden.toml"
    );
    assert_eq!(
        env_value(warden, "WARDEN_COMMANDS_DIR"),
        Some(commands_dir.as_str()),
        "WARDEN_COMMANDS_DIR is not the mounted commands"
    );

    let root = tempfile::tempdir().unwrap();
    let config_at = root.path().join(config_dir.trim_start_matches('/'));
    let commands_at = root.path().join(commands_dir.trim_start_matches('/'));
    mount_like_kubelet(&config, &config_at);
    mount_like_kubelet(&commands, &commands_at);
    let env = HashMap::from([
        (
            "WARDEN_CONFIG".to_string(),
            config_at.join("warden.toml").display().to_string(),
        ),
        (
            "WARDEN_COMMANDS_DIR".to_string(),
            commands_at.display().to_string(),
        ),
    ]);
    let settings = Settings::from_env(&env).unwrap();
    let (directory, registry) =
        warden::app::load_definitions(&settings).unwrap_or_else(|problems| {
            panic!(
                "the ConfigMaps fail warden check:\n{}",
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert_eq!(
        registry.len(),
        commands.len(),
        "a mounted command file was skipped (they are symlinks through ..data)"
    );
    assert!(
        !directory.tenants.is_empty(),
        "the mounted warden.toml has no tenant"
    );
}

#[test]
fn the_secret_template_holds_placeholders_only() {
    let docs = documents();
    let secret = one(&docs, "Secret", None);
    assert_eq!(secret.file, SECRET_TEMPLATE);
    assert!(
        secret.value["data"].is_null(),
        "use stringData: base64 `data` hides what the template holds"
    );
    let values = secret_values(&docs);
    assert!(values.contains_key("WARDEN_DATABASE_URL"));
    for (key, value) in &values {
        assert!(
            value.is_empty() || value.contains(PLACEHOLDER),
            "{key} is neither empty nor a {PLACEHOLDER} placeholder"
        );
    }
    // A placeholder URL must not carry a real-looking password either.
    let url = &values["WARDEN_DATABASE_URL"];
    let userinfo = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .map(|(userinfo, _)| userinfo)
        .unwrap_or("");
    if let Some((_, password)) = userinfo.split_once(':') {
        assert_eq!(
            password, PLACEHOLDER,
            "the database password is not a placeholder"
        );
    }

    // Nothing in the file, comments included, looks like a real credential.
    let text = std::fs::read_to_string(kube_dir().join(SECRET_TEMPLATE)).unwrap();
    let patterns = [
        (r"xox[abposr]-[0-9A-Za-z-]{8,}", "a Slack token"),
        (r"\b[0-9a-fA-F]{32,}\b", "a hex key or secret"),
        (r"[A-Za-z0-9+/_.=-]{32,}", "a long random-looking string"),
        (r"://[^:/@\s]+:[^@\s]+@", "a URL with a password"),
    ];
    for (pattern, what) in patterns {
        let found = regex::Regex::new(pattern).unwrap();
        for m in found.find_iter(&text) {
            // The comments spell the URL's shape as USER:PASSWORD.
            assert!(
                m.as_str().contains(PLACEHOLDER) || m.as_str().contains("USER:PASSWORD@"),
                "{SECRET_TEMPLATE} holds what looks like {what}: {}",
                m.as_str()
            );
        }
    }
}
