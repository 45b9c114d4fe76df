//! Kafka Connect config providers: `${provider:[path:]key}` references in worker and connector
//! properties, resolved when a connector starts, so that passwords and keys live in environment
//! variables or files instead of the config (and the config topic, and `GET /connectors/…`).
//!
//! The worker declares them as Connect's `WorkerConfig` does:
//!
//! ```properties
//! config.providers=env,file,dir
//! config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//! ```
//!
//! and properties use `${env:DB_PASSWORD}` (the variable), `${file:/etc/cdc/secrets.properties:db.password}`
//! (a key of a Java properties file) or `${dir:/run/secrets:db_password}` (a file's content).
//! `EnvVarConfigProvider`'s `allowlist.pattern` parameter (`config.providers.env.param.allowlist.pattern`)
//! is honoured. As in Connect, a reference to a provider the worker does not declare stays as it is
//! (a warning names the property); a reference a declared provider cannot resolve (variable not
//! set, file or key missing) is an error naming the property and the reference, never a value.
//!
//! Hand-written: Connect's `ConfigTransformer` is a regex and three small providers, and no crate
//! implements Connect's reference syntax.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;

use super::ConfigError;

const ENV: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";
const FILE: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIR: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";

#[derive(Debug, Clone)]
enum Provider {
    /// Environment variables (`allowlist.pattern`: the names it may read).
    Env { allow: Option<Regex> },
    /// A key of a Java properties file.
    File,
    /// The content of a file in a directory.
    Dir,
}

/// The providers a worker declares (`config.providers`).
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

/// Connect's reference syntax: `${provider:path:key}` or `${provider:key}`.
fn reference() -> Regex {
    Regex::new(r"\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}").expect("reference regex")
}

impl ConfigProviders {
    /// The providers declared in worker properties `props`.
    pub fn from_worker(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut providers = BTreeMap::new();
        let Some(list) = props.get("config.providers") else { return Ok(ConfigProviders::default()) };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let key = format!("config.providers.{name}.class");
            let class =
                props.get(&key).map(|c| c.trim()).ok_or_else(|| ConfigError::Missing { property: key.clone() })?;
            let provider = match class {
                ENV => {
                    let p = format!("config.providers.{name}.param.allowlist.pattern");
                    let allow = match props.get(&p) {
                        Some(pattern) => Some(Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                            ConfigError::invalid(&p, pattern, format!("not a regular expression: {e}"))
                        })?),
                        None => None,
                    };
                    Provider::Env { allow }
                }
                FILE => Provider::File,
                DIR => Provider::Dir,
                other => {
                    return Err(ConfigError::invalid(
                        &key,
                        other,
                        format!("supported config providers: {ENV}, {FILE}, {DIR}"),
                    ))
                }
            };
            providers.insert(name.to_string(), provider);
        }
        Ok(ConfigProviders { providers })
    }

    /// Whether no provider is declared.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// `props` with every reference to a declared provider replaced by what it names.
    pub fn resolve(&self, props: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
        let re = reference();
        let mut out = BTreeMap::new();
        for (property, value) in props {
            if !value.contains("${") {
                out.insert(property, value);
                continue;
            }
            let mut resolved = String::with_capacity(value.len());
            let mut last = 0;
            for caps in re.captures_iter(&value) {
                let whole = caps.get(0).expect("match");
                resolved.push_str(&value[last..whole.start()]);
                last = whole.end();
                let name = &caps[1];
                let Some(provider) = self.providers.get(name) else {
                    tracing::warn!(
                        property = %property,
                        provider = name,
                        "a config reference names a provider the worker does not declare (config.providers): left as it is"
                    );
                    resolved.push_str(whole.as_str());
                    continue;
                };
                let path = caps.get(2).map(|p| p.as_str());
                let key = &caps[3];
                let fail = |why: String| ConfigError::Invalid {
                    property: property.clone(),
                    value: format!("{:?}", whole.as_str()),
                    reason: format!("config provider '{name}': {why}"),
                };
                resolved.push_str(&lookup(provider, path, key).map_err(fail)?);
            }
            resolved.push_str(&value[last..]);
            out.insert(property, resolved);
        }
        Ok(out)
    }
}

/// The value `provider` gives for `path`/`key`; the error says why there is none (never a value).
fn lookup(provider: &Provider, path: Option<&str>, key: &str) -> Result<String, String> {
    match provider {
        Provider::Env { allow } => {
            if path.is_some_and(|p| !p.is_empty()) {
                return Err("environment variables take no path: write ${env:NAME}".into());
            }
            if allow.as_ref().is_some_and(|a| !a.is_match(key)) {
                return Err(format!("environment variable {key} is not allowed by allowlist.pattern"));
            }
            std::env::var(key).map_err(|_| format!("environment variable {key} is not set"))
        }
        Provider::File => {
            let path = path.filter(|p| !p.is_empty()).ok_or("no file: write ${file:/path/to/file.properties:key}")?;
            let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let props = super::parse_properties(Path::new(path), &bytes).map_err(|e| e.to_string())?;
            props.get(key).cloned().ok_or_else(|| format!("{path} has no key {key}"))
        }
        Provider::Dir => {
            let dir = path.filter(|p| !p.is_empty()).ok_or("no directory: write ${dir:/path/to/dir:file}")?;
            if key.contains('/') || key == ".." {
                return Err(format!("{key} is not a file name in {dir}"));
            }
            let file = Path::new(dir).join(key);
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn providers() -> ConfigProviders {
        ConfigProviders::from_worker(&props(&[
            ("config.providers", "env, file,dir"),
            ("config.providers.env.class", ENV),
            ("config.providers.env.param.allowlist.pattern", "CDC_TEST_.*"),
            ("config.providers.file.class", FILE),
            ("config.providers.dir.class", DIR),
        ]))
        .unwrap()
    }

    #[test]
    fn references_resolve_from_env_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.properties");
        std::fs::write(&file, "db.password = s3cret\nother=x\n").unwrap();
        std::fs::write(dir.path().join("key"), "PEM").unwrap();
        std::env::set_var("CDC_TEST_PROVIDER_USER", "cdc");
        let resolved = providers()
            .resolve(props(&[
                ("database.user", "${env:CDC_TEST_PROVIDER_USER}"),
                ("database.password", &format!("${{file:{}:db.password}}", file.display())),
                ("ssl.key", &format!("pre-${{dir:{}:key}}-${{file:{}:other}}", dir.path().display(), file.display())),
                ("plain", "no reference"),
                ("undeclared", "${vault:secret/db:password}"),
            ]))
            .unwrap();
        assert_eq!(resolved["database.user"], "cdc");
        assert_eq!(resolved["database.password"], "s3cret");
        assert_eq!(resolved["ssl.key"], "pre-PEM-x");
        assert_eq!(resolved["plain"], "no reference");
        assert_eq!(resolved["undeclared"], "${vault:secret/db:password}", "as Connect: left as it is");
    }

    #[test]
    fn unresolvable_references_name_property_and_reference_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.properties");
        std::fs::write(&file, "a=the-secret\n").unwrap();
        std::env::set_var("NOT_ALLOWED_CDC", "the-secret");
        for (value, why) in [
            ("${env:CDC_TEST_UNSET_VARIABLE}".to_string(), "environment variable CDC_TEST_UNSET_VARIABLE is not set"),
            ("${env:NOT_ALLOWED_CDC}".to_string(), "not allowed by allowlist.pattern"),
            (format!("${{file:{}:b}}", file.display()), "has no key b"),
            ("${file:/nonexistent/x.properties:a}".to_string(), "cannot read /nonexistent/x.properties"),
            (format!("${{dir:{}:../etc}}", dir.path().display()), "is not a file name"),
        ] {
            let e = providers().resolve(props(&[("database.password", &value)])).unwrap_err().to_string();
            assert!(e.contains("`database.password`") && e.contains(why), "{value}: {e}");
            assert!(!e.contains("the-secret"), "{e}");
        }
    }

    #[test]
    fn declarations_are_checked() {
        let e = ConfigProviders::from_worker(&props(&[("config.providers", "x")])).unwrap_err().to_string();
        assert!(e.contains("config.providers.x.class"), "{e}");
        let e = ConfigProviders::from_worker(&props(&[
            ("config.providers", "x"),
            ("config.providers.x.class", "com.example.VaultProvider"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("config.providers.x.class") && e.contains("FileConfigProvider"), "{e}");
        assert!(ConfigProviders::from_worker(&props(&[])).unwrap().is_empty());
    }
}
