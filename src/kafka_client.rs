//! Kafka client settings as Kafka Connect users write them, turned into librdkafka's.
//!
//! Connect configs name the Java client's properties: `security.protocol`, `sasl.mechanism`,
//! `sasl.jaas.config`, `ssl.truststore.location`, ... librdkafka shares some names and not
//! others, and reads no JAAS line, no Java keystore and no Java callback class. [`ClientSettings`]
//! takes one client's properties in either naming (librdkafka's own names pass through as
//! they are) and produces what librdkafka needs:
//!
//! | Java / Connect                                   | librdkafka                                      |
//! |--------------------------------------------------|-------------------------------------------------|
//! | `sasl.jaas.config` Plain/ScramLoginModule        | `sasl.username`, `sasl.password`                |
//! | `sasl.mechanism=AWS_MSK_IAM`, `IAMLoginModule`, `IAMOAuthBearerLoginCallbackHandler` | `sasl.mechanism=OAUTHBEARER` + MSK IAM tokens |
//! | `ssl.truststore.location` (PEM)                  | `ssl.ca.location`                               |
//! | `ssl.truststore.certificates`                    | `ssl.ca.pem`                                    |
//! | `ssl.keystore.location` (PKCS12)                 | `ssl.keystore.location` (+ `.password`)         |
//! | `ssl.keystore.location` (PEM: key + chain)       | `ssl.certificate.location`, `ssl.key.location`  |
//! | `ssl.keystore.certificate.chain`, `ssl.keystore.key` | `ssl.certificate.pem`, `ssl.key.pem`        |
//! | `ssl.endpoint.identification.algorithm=` (empty) | `none`                                          |
//!
//! Java-only knobs with no librdkafka meaning (`ssl.protocol`, `ssl.enabled.protocols`, the
//! key/trust manager algorithms, `sasl.login.refresh.*`, ...) are dropped; JKS stores are
//! refused naming the property (librdkafka cannot read them: convert to PEM or PKCS12).
//!
//! **MSK IAM.** Amazon MSK's IAM access control is SASL OAUTHBEARER whose token is a SigV4
//! presigned `kafka-cluster:Connect` URL. Tokens come from the `aws-msk-iam-sasl-signer` crate
//! with credentials from the standard AWS chain (environment, profile, web identity, container,
//! instance metadata), a named profile (`awsProfileName`) or an assumed role (`awsRoleArn`), as
//! the Java `IAMLoginModule` reads them. The region is the one in the brokers' host names
//! (`b-1.x.kafka.eu-west-1.amazonaws.com`), else `AWS_REGION`/`AWS_DEFAULT_REGION`. A client gets
//! its first token when it is created ([`ClientSettings::prime`]: librdkafka connects to no broker
//! without one) and a fresh one whenever librdkafka asks for it (at 80 % of the token's 15-minute
//! lifetime) through [`KafkaAuth`], the client context every Kafka client of this project uses.
//! OAUTHBEARER other than MSK IAM (OIDC, unsecured JWT) is refused: the context's refresh hook
//! would take the place of librdkafka's own handlers.
//!
//! Secrets (passwords, JAAS lines, keys) never appear in errors, logs or `Debug` output.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::ffi::CString;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::client::{Client, OAuthToken};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::ClientContext;

use crate::config::{is_sensitive, ConfigError};

/// Java client properties that tune the JVM's TLS/SASL machinery and mean nothing to librdkafka.
const JAVA_ONLY: &[&str] = &[
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.provider",
    "ssl.engine.factory.class",
    "ssl.truststore.type",
    "ssl.truststore.password",
    "ssl.keystore.type",
    "sasl.login.class",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
];

const MSK_IAM_LOGIN_MODULE: &str = "software.amazon.msk.auth.iam.IAMLoginModule";
const MSK_IAM_CLIENT_CALLBACK: &str = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
const MSK_IAM_LOGIN_CALLBACK: &str = "software.amazon.msk.auth.iam.IAMOAuthBearerLoginCallbackHandler";
const PLAIN_LOGIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
const SCRAM_LOGIN_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";
const OAUTH_LOGIN_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/// One Kafka client's settings in librdkafka's names, and its MSK IAM token source if any.
#[derive(Clone, Default)]
pub struct ClientSettings {
    settings: BTreeMap<String, String>,
    auth: KafkaAuth,
}

impl fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<(&str, &str)> =
            self.settings.iter().map(|(k, v)| (k.as_str(), if is_sensitive(k) { "***" } else { v.as_str() })).collect();
        f.debug_struct("ClientSettings").field("settings", &shown).field("msk_iam", &self.auth.msk_iam).finish()
    }
}

impl ClientSettings {
    /// Translate one client's properties (prefix already removed). `prefix` is put back in
    /// front of a property's name in errors (`producer.`, `schema.history.internal.consumer.`);
    /// `bootstrap_servers` is where the MSK region is read from.
    pub fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
        prefix: &str,
        bootstrap_servers: &str,
    ) -> Result<ClientSettings, ConfigError> {
        let props: BTreeMap<&str, &str> = props.into_iter().collect();
        let named = |k: &str| format!("{prefix}{k}");
        let mut settings = BTreeMap::new();
        let mut iam_hint = false;
        let mut login: Option<JaasLogin> = None;
        for (&k, &v) in &props {
            if k == "ssl.truststore.location" || k == "ssl.keystore.location" {
                // named as the user wrote it (librdkafka would name its own property)
                std::fs::metadata(v).map_err(|e| ConfigError::invalid(&named(k), v, format!("cannot read it: {e}")))?;
            }
            match k {
                "sasl.jaas.config" => {
                    login = Some(JaasLogin::parse(v).map_err(|r| ConfigError::invalid(&named(k), v, r))?)
                }
                "sasl.mechanism" | "sasl.mechanisms" => {
                    let m = v.trim();
                    if m.eq_ignore_ascii_case("AWS_MSK_IAM") {
                        iam_hint = true;
                        settings.insert("sasl.mechanism".to_string(), "OAUTHBEARER".to_string());
                    } else {
                        settings.insert("sasl.mechanism".to_string(), m.to_ascii_uppercase());
                    }
                }
                "sasl.client.callback.handler.class" | "sasl.login.callback.handler.class" => {
                    if v.trim() == MSK_IAM_CLIENT_CALLBACK || v.trim() == MSK_IAM_LOGIN_CALLBACK {
                        iam_hint = true;
                    } else {
                        return Err(ConfigError::invalid(
                            &named(k),
                            v,
                            "a Java callback class cannot run here; only the MSK IAM handlers are understood",
                        ));
                    }
                }
                "ssl.truststore.location" => {
                    match store_type(props.get("ssl.truststore.type").copied(), v) {
                        StoreType::Pem => settings.insert("ssl.ca.location".into(), v.to_string()),
                        other => {
                            return Err(ConfigError::invalid(
                                &named(k),
                                v,
                                format!(
                                    "a {} truststore cannot be read by librdkafka: convert it to a PEM file of CA \
                                     certificates (ssl.truststore.type=PEM)",
                                    other.name()
                                ),
                            ))
                        }
                    };
                }
                "ssl.truststore.certificates" => {
                    settings.insert("ssl.ca.pem".into(), v.to_string());
                }
                "ssl.keystore.location" => match store_type(props.get("ssl.keystore.type").copied(), v) {
                    StoreType::Pem => {
                        settings.insert("ssl.certificate.location".into(), v.to_string());
                        settings.insert("ssl.key.location".into(), v.to_string());
                    }
                    StoreType::Pkcs12 => {
                        settings.insert("ssl.keystore.location".into(), v.to_string());
                    }
                    StoreType::Jks => {
                        return Err(ConfigError::invalid(
                            &named(k),
                            v,
                            "a JKS keystore cannot be read by librdkafka: convert it to PKCS12 \
                             (ssl.keystore.type=PKCS12) or to one PEM file holding the key and the certificate chain",
                        ))
                    }
                },
                "ssl.keystore.password" => {
                    // Java's PEM keystores take the key's password from ssl.key.password.
                    if store_type(
                        props.get("ssl.keystore.type").copied(),
                        props.get("ssl.keystore.location").unwrap_or(&""),
                    ) == StoreType::Pkcs12
                    {
                        settings.insert("ssl.keystore.password".into(), v.to_string());
                    }
                }
                "ssl.keystore.certificate.chain" => {
                    settings.insert("ssl.certificate.pem".into(), v.to_string());
                }
                "ssl.keystore.key" => {
                    settings.insert("ssl.key.pem".into(), v.to_string());
                }
                "ssl.endpoint.identification.algorithm" => {
                    let alg = v.trim();
                    let alg = if alg.is_empty() { "none".to_string() } else { alg.to_ascii_lowercase() };
                    settings.insert(k.to_string(), alg);
                }
                _ if JAVA_ONLY.contains(&k) => {
                    tracing::debug!(property = %named(k), "Java-only client property ignored")
                }
                _ => {
                    settings.insert(k.to_string(), v.to_string());
                }
            }
        }

        let mechanism = settings.get("sasl.mechanism").cloned();
        let mut msk_iam = None;
        match login {
            Some(JaasLogin { module, options }) if module == PLAIN_LOGIN_MODULE || module == SCRAM_LOGIN_MODULE => {
                for (opt, key) in [("username", "sasl.username"), ("password", "sasl.password")] {
                    let Some(value) = options.get(opt) else {
                        return Err(ConfigError::invalid(
                            &named("sasl.jaas.config"),
                            "",
                            format!("{module} needs a {opt}=\"...\" option"),
                        ));
                    };
                    settings.entry(key.to_string()).or_insert_with(|| value.clone());
                }
                if module == SCRAM_LOGIN_MODULE && !mechanism.as_deref().is_some_and(|m| m.starts_with("SCRAM-")) {
                    return Err(ConfigError::invalid(
                        &named("sasl.mechanism"),
                        mechanism.as_deref().unwrap_or(""),
                        "ScramLoginModule needs sasl.mechanism=SCRAM-SHA-256 or SCRAM-SHA-512",
                    ));
                }
            }
            Some(JaasLogin { module, options }) if module == MSK_IAM_LOGIN_MODULE => {
                let source = if let Some(role) = options.get("awsRoleArn") {
                    CredentialSource::Role {
                        arn: role.clone(),
                        session: options.get("awsRoleSessionName").cloned().unwrap_or_default(),
                    }
                } else if let Some(profile) = options.get("awsProfileName") {
                    CredentialSource::Profile(profile.clone())
                } else {
                    CredentialSource::DefaultChain
                };
                msk_iam = Some(source);
            }
            Some(JaasLogin { module, .. }) if module == OAUTH_LOGIN_MODULE && iam_hint => {
                msk_iam = Some(CredentialSource::DefaultChain);
            }
            Some(JaasLogin { module, .. }) => {
                return Err(ConfigError::invalid(
                    &named("sasl.jaas.config"),
                    "",
                    format!(
                        "login module {module} is not supported (PlainLoginModule, ScramLoginModule, \
                         IAMLoginModule and MSK's OAuthBearerLoginModule set-up are)"
                    ),
                ))
            }
            None if iam_hint => msk_iam = Some(CredentialSource::DefaultChain),
            None => {}
        }
        if msk_iam.is_some() {
            if mechanism.as_deref() != Some("OAUTHBEARER") {
                return Err(ConfigError::invalid(
                    &named("sasl.mechanism"),
                    mechanism.as_deref().unwrap_or(""),
                    "MSK IAM authentication needs sasl.mechanism=AWS_MSK_IAM (or OAUTHBEARER)",
                ));
            }
        } else if mechanism.as_deref() == Some("OAUTHBEARER") {
            return Err(ConfigError::invalid(
                &named("sasl.mechanism"),
                "OAUTHBEARER",
                "OAUTHBEARER is supported for Amazon MSK IAM only (sasl.jaas.config=software.amazon.msk.auth.iam.\
                 IAMLoginModule required; or sasl.mechanism=AWS_MSK_IAM)",
            ));
        }
        let auth = match msk_iam {
            Some(source) => {
                let region = msk_region(bootstrap_servers).ok_or_else(|| {
                    ConfigError::invalid(
                        "bootstrap.servers",
                        bootstrap_servers,
                        "MSK IAM needs the AWS region: use the brokers' MSK host names \
                         (…kafka.<region>.amazonaws.com) or set AWS_REGION",
                    )
                })?;
                KafkaAuth { msk_iam: Some(Arc::new(MskIam::new(region, source))) }
            }
            None => KafkaAuth::default(),
        };
        Ok(ClientSettings { settings, auth })
    }

    /// These settings over `base` (a setting here wins; the MSK IAM source of whichever has one).
    pub fn over(mut self, base: &ClientSettings) -> ClientSettings {
        for (k, v) in &base.settings {
            self.settings.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if self.auth.msk_iam.is_none() {
            self.auth = base.auth.clone();
        }
        self
    }

    /// `value` for librdkafka setting `key` unless the properties already set it.
    pub fn with_default(mut self, key: &str, value: &str) -> ClientSettings {
        self.settings.entry(key.to_string()).or_insert_with(|| value.to_string());
        self
    }

    /// Only the settings about reaching and authenticating to the brokers (`security.*`,
    /// `sasl.*`, `ssl.*`, `client.dns.lookup`), for admin and metadata clients built beside a
    /// producer whose other settings do not apply to them.
    pub fn connection_only(&self) -> ClientSettings {
        let settings = self
            .settings
            .iter()
            .filter(|(k, _)| is_connection_setting(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ClientSettings { settings, auth: self.auth.clone() }
    }

    /// A librdkafka configuration: `bootstrap.servers` and these settings.
    pub fn client_config(&self, bootstrap_servers: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", bootstrap_servers);
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }

    /// The settings in librdkafka's names (secrets included: hand them to librdkafka only).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The client context carrying the MSK IAM token source.
    pub fn context(&self) -> KafkaAuth {
        self.auth.clone()
    }

    /// Whether clients authenticate with MSK IAM tokens.
    pub fn uses_msk_iam(&self) -> bool {
        self.auth.msk_iam.is_some()
    }

    /// Connect to the brokers and read the cluster's metadata within `timeout`. librdkafka
    /// retries a refused login or TLS handshake forever and reports it only on a client's main
    /// queue (which admin clients never read), so a failing request says just "timed out":
    /// this probe polls that queue while it waits and tells a refusal (authentication, TLS,
    /// a SASL mechanism the brokers do not offer) from brokers that are merely unreachable.
    pub fn probe(&self, bootstrap_servers: &str, timeout: Duration) -> Result<(), ProbeError> {
        let context = ProbeContext { auth: self.auth.clone(), refusals: Mutex::new(Vec::new()) };
        let consumer: BaseConsumer<ProbeContext> = self
            .connection_only()
            .client_config(bootstrap_servers)
            .set("group.id", "cdc-connector-probe")
            .set("client.id", "cdc-connector-probe")
            .create_with_context(context)
            .map_err(|e| ProbeError::Unreachable(e.to_string()))?;
        self.prime(consumer.client()).map_err(ProbeError::Refused)?;
        let deadline = std::time::Instant::now() + timeout;
        let fetched = std::thread::scope(|s| {
            let fetch = s.spawn(|| consumer.client().fetch_metadata(None, timeout).map(|_| ()));
            while !fetch.is_finished() && std::time::Instant::now() < deadline + Duration::from_secs(1) {
                let _ = consumer.poll(Duration::from_millis(100));
            }
            fetch.join().unwrap_or_else(|_| Err(rdkafka::error::KafkaError::Canceled))
        });
        let refusals = std::mem::take(&mut *consumer.context().refusals.lock().unwrap_or_else(|p| p.into_inner()));
        match fetched {
            Ok(()) => Ok(()),
            Err(_) if !refusals.is_empty() => Err(ProbeError::Refused(refusals.join("; "))),
            Err(e) => Err(ProbeError::Unreachable(e.to_string())),
        }
    }

    /// Give a newly created client its first MSK IAM token (nothing to do without MSK IAM).
    /// librdkafka holds every broker connection until a token is set; producers and consumers
    /// get later ones through [`KafkaAuth`] when they poll.
    pub fn prime<C: ClientContext>(&self, client: &Client<C>) -> Result<(), String> {
        self.auth.prime(client)
    }
}

/// Client settings from a command line: `--kafka-config` files (Java `.properties`, such as
/// the `client.properties` Kafka's tools and MSK's guides use; `config.providers` in a file
/// resolves `${env:...}`/`${file:...}` references in it) and `--kafka-property KEY=VALUE`
/// pairs, which win over the files.
pub fn from_command_line(
    files: &[std::path::PathBuf],
    pairs: &[(String, String)],
    bootstrap_servers: &str,
) -> Result<ClientSettings, ConfigError> {
    let mut props = BTreeMap::new();
    for path in files {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
        let file = crate::config::parse_properties(path, &bytes)?;
        let providers = crate::config::ConfigProviders::from_worker(&file)?;
        props.extend(providers.resolve(file)?.into_iter().filter(|(k, _)| !k.starts_with("config.providers")));
    }
    props.extend(pairs.iter().cloned());
    ClientSettings::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())), "", bootstrap_servers)
}

/// Why [`ClientSettings::probe`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The brokers answered and refused this client (librdkafka's reason): retrying cannot help.
    #[error("the Kafka brokers refused the connection (check security.protocol, sasl.*, ssl.*): {0}")]
    Refused(String),
    /// No broker answered in time.
    #[error("no Kafka broker answered: {0}")]
    Unreachable(String),
}

/// The probe's context: keeps the refusals librdkafka reports.
struct ProbeContext {
    auth: KafkaAuth,
    refusals: Mutex<Vec<String>>,
}

impl ClientContext for ProbeContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn StdError>> {
        self.auth.oauth_token()
    }

    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode as Code;
        let refused = matches!(
            error.rdkafka_error_code(),
            Some(Code::Authentication | Code::SaslAuthenticationFailed | Code::SSL | Code::UnsupportedSASLMechanism)
        );
        if refused {
            let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if !r.iter().any(|x| x == reason) {
                r.push(reason.to_string());
            }
        }
    }
}

impl ConsumerContext for ProbeContext {}

/// Whether a librdkafka setting is about reaching and authenticating to the brokers.
pub fn is_connection_setting(k: &str) -> bool {
    k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl.") || k == "client.dns.lookup"
}

/// The security-related subset of properties (Java or librdkafka names).
pub fn security_properties<'a>(
    props: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    props.into_iter().filter(|(k, _)| is_connection_setting(k))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreType {
    Pem,
    Pkcs12,
    Jks,
}

impl StoreType {
    fn name(self) -> &'static str {
        match self {
            StoreType::Pem => "PEM",
            StoreType::Pkcs12 => "PKCS12",
            StoreType::Jks => "JKS",
        }
    }
}

/// The store's type: as configured, else what the file looks like (Java's default is JKS, but
/// a PEM file named without `ssl.*.type=PEM` is read as the PEM it is).
fn store_type(configured: Option<&str>, path: &str) -> StoreType {
    match configured.map(|t| t.trim().to_ascii_uppercase()) {
        Some(t) if t == "PEM" => StoreType::Pem,
        Some(t) if t == "PKCS12" || t == "P12" => StoreType::Pkcs12,
        Some(t) if t == "JKS" => StoreType::Jks,
        _ => {
            let head = std::fs::read(path).map(|b| b.into_iter().take(4096).collect::<Vec<u8>>()).unwrap_or_default();
            if head.windows(10).any(|w| w == b"-----BEGIN") {
                StoreType::Pem
            } else if path.ends_with(".p12") || path.ends_with(".pfx") {
                StoreType::Pkcs12
            } else {
                StoreType::Jks
            }
        }
    }
}

/// A `sasl.jaas.config` line: `<LoginModule class> <flag> [name="value" ...];`.
#[derive(Debug, PartialEq)]
struct JaasLogin {
    module: String,
    options: BTreeMap<String, String>,
}

impl JaasLogin {
    /// Parse one login module entry the way Kafka's `JaasConfig` tokenizes it: words, `=`,
    /// double-quoted strings with backslash escapes, a terminating `;`. Errors never quote the
    /// text (it holds passwords).
    fn parse(text: &str) -> Result<JaasLogin, String> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '=' || c == ';' {
                tokens.push(JaasToken::Punct(c));
                chars.next();
            } else if c == '"' {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a quoted value is not closed".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => s.push(other),
                            None => return Err("a quoted value is not closed".into()),
                        },
                        Some(other) => s.push(other),
                    }
                }
                tokens.push(JaasToken::Word(s));
            } else {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '=' || c == ';' || c == '"' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                tokens.push(JaasToken::Word(s));
            }
        }
        let mut it = tokens.into_iter();
        let Some(JaasToken::Word(module)) = it.next() else {
            return Err("expected `<LoginModule class> required [name=\"value\" ...];`".into());
        };
        match it.next() {
            Some(JaasToken::Word(flag))
                if ["required", "requisite", "sufficient", "optional"]
                    .contains(&flag.to_ascii_lowercase().as_str()) => {}
            _ => return Err(format!("expected a control flag (required) after {module}")),
        }
        let mut options = BTreeMap::new();
        loop {
            match it.next() {
                Some(JaasToken::Punct(';')) => break,
                None => return Err("the login module entry does not end with `;`".into()),
                Some(JaasToken::Word(name)) => match (it.next(), it.next()) {
                    (Some(JaasToken::Punct('=')), Some(JaasToken::Word(value))) => {
                        options.insert(name, value);
                    }
                    _ => return Err(format!("option {name} is not written name=\"value\"")),
                },
                Some(JaasToken::Punct(_)) => return Err("expected an option name".into()),
            }
        }
        if it.next().is_some() {
            return Err("only one login module entry is supported".into());
        }
        Ok(JaasLogin { module, options })
    }
}

enum JaasToken {
    Word(String),
    Punct(char),
}

/// The AWS region of MSK brokers, from their host names, else the environment.
fn msk_region(bootstrap_servers: &str) -> Option<String> {
    msk_region_with(bootstrap_servers, |v| std::env::var(v).ok())
}

fn msk_region_with(bootstrap_servers: &str, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    for server in bootstrap_servers.split(',') {
        let host = server.trim().rsplit_once(':').map_or(server.trim(), |(h, _)| h);
        let labels: Vec<&str> = host.split('.').collect();
        if let Some(i) = labels.iter().position(|l| *l == "kafka" || *l == "kafka-serverless") {
            if labels.get(i + 2) == Some(&"amazonaws") {
                if let Some(region) = labels.get(i + 1) {
                    return Some(region.to_string());
                }
            }
        }
    }
    ["AWS_REGION", "AWS_DEFAULT_REGION"].iter().find_map(|v| env(v).filter(|r| !r.trim().is_empty()))
}

/// Where MSK IAM credentials come from (the Java `IAMLoginModule`'s options).
#[derive(Debug, Clone)]
enum CredentialSource {
    /// The standard AWS chain.
    DefaultChain,
    /// `awsProfileName`.
    Profile(String),
    /// `awsRoleArn` (+ `awsRoleSessionName`), assumed with the default chain's credentials.
    Role { arn: String, session: String },
    /// Given credentials (tests).
    #[cfg(test)]
    Provided(aws_types::sdk_config::SharedCredentialsProvider),
}

/// MSK IAM tokens for one set of clients, each reused while more than [`REUSE_ABOVE`] of its
/// lifetime is left (clients created together share one).
struct MskIam {
    region: String,
    source: CredentialSource,
    cached: Mutex<Option<(String, i64)>>,
}

/// A cached token is handed out again while it has this much life left.
const REUSE_ABOVE: Duration = Duration::from_secs(10 * 60);
/// How long fetching credentials and signing may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

impl fmt::Debug for MskIam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MskIam").field("region", &self.region).field("source", &self.source).finish()
    }
}

impl MskIam {
    fn new(region: String, source: CredentialSource) -> MskIam {
        MskIam { region, source, cached: Mutex::new(None) }
    }

    /// A token and its expiry (ms since the epoch).
    fn token(&self) -> Result<(String, i64), String> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, expiry)) = cached.as_ref() {
            if *expiry - now_ms > REUSE_ABOVE.as_millis() as i64 {
                return Ok((token.clone(), *expiry));
            }
        }
        let fresh = self.sign()?;
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    /// Sign a new token. librdkafka asks from its own threads or from inside our tokio tasks
    /// (a producer's poll), so the async signer runs on a thread of its own with a private
    /// runtime; every call loads the credentials afresh (the AWS chain caches nothing across
    /// runtimes), which costs one chain walk every ~12 minutes.
    fn sign(&self) -> Result<(String, i64), String> {
        let region = aws_types_region(&self.region);
        let source = self.source.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("msk-iam-token".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|rt| {
                        rt.block_on(async move {
                            let signed = match source {
                                CredentialSource::DefaultChain => {
                                    aws_msk_iam_sasl_signer::generate_auth_token(region).await
                                }
                                CredentialSource::Profile(p) => {
                                    aws_msk_iam_sasl_signer::generate_auth_token_from_profile(region, p).await
                                }
                                CredentialSource::Role { arn, session } => {
                                    aws_msk_iam_sasl_signer::generate_auth_token_from_role(region, arn, session).await
                                }
                                #[cfg(test)]
                                CredentialSource::Provided(p) => {
                                    aws_msk_iam_sasl_signer::generate_auth_token_from_credentials_provider(region, p)
                                        .await
                                }
                            };
                            signed.map_err(|e| e.to_string())
                        })
                    });
                let _ = tx.send(result);
            })
            .map_err(|e| format!("MSK IAM: cannot start the signer thread: {e}"))?;
        rx.recv_timeout(TOKEN_TIMEOUT)
            .map_err(|_| {
                format!("MSK IAM: no token within {} s (AWS credentials unreachable?)", TOKEN_TIMEOUT.as_secs())
            })?
            .map_err(|e| format!("MSK IAM: cannot sign a token: {e}"))
    }
}

fn aws_types_region(region: &str) -> aws_types::region::Region {
    aws_types::region::Region::new(region.to_string())
}

/// The client context of every Kafka client here: answers librdkafka's OAUTHBEARER token
/// refresh with an MSK IAM token (librdkafka asks only when `sasl.mechanism=OAUTHBEARER`,
/// which [`ClientSettings`] allows with MSK IAM only).
#[derive(Clone, Default, Debug)]
pub struct KafkaAuth {
    msk_iam: Option<Arc<MskIam>>,
}

impl KafkaAuth {
    /// An OAUTHBEARER token for librdkafka.
    pub fn oauth_token(&self) -> Result<OAuthToken, Box<dyn StdError>> {
        let iam = self.msk_iam.as_ref().ok_or("OAUTHBEARER without MSK IAM is not supported")?;
        let (token, lifetime_ms) = iam.token().map_err(|e| {
            tracing::warn!(error = %e, "MSK IAM token refresh failed");
            e
        })?;
        Ok(OAuthToken { token, principal_name: "cdc-connector".to_string(), lifetime_ms })
    }

    /// Set the first token on `client` (see [`ClientSettings::prime`]).
    pub fn prime<C: ClientContext>(&self, client: &Client<C>) -> Result<(), String> {
        if self.msk_iam.is_none() {
            return Ok(());
        }
        let t = self.oauth_token().map_err(|e| e.to_string())?;
        let token = CString::new(t.token).map_err(|e| e.to_string())?;
        let principal = CString::new(t.principal_name).map_err(|e| e.to_string())?;
        let mut err = vec![0u8; 512];
        // SAFETY: the client handle is alive for the borrow; the strings outlive the call, which
        // copies them; no extensions are passed (null, 0); `err` is a writable buffer of the
        // length given.
        let code = unsafe {
            rdkafka::bindings::rd_kafka_oauthbearer_set_token(
                client.native_ptr(),
                token.as_ptr(),
                t.lifetime_ms,
                principal.as_ptr(),
                std::ptr::null_mut(),
                0,
                err.as_mut_ptr().cast(),
                err.len(),
            )
        };
        if code == rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
            Err(format!("MSK IAM: librdkafka refused the token: {}", String::from_utf8_lossy(&err[..end])))
        }
    }
}

impl ClientContext for KafkaAuth {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn StdError>> {
        self.oauth_token()
    }
}

impl ConsumerContext for KafkaAuth {}

#[cfg(test)]
mod tests;
