use super::*;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

fn settings(props: &[(&str, &str)], bootstrap: &str) -> Result<ClientSettings, ConfigError> {
    ClientSettings::from_properties(props.iter().copied(), "producer.", bootstrap)
}

fn get<'a>(s: &'a ClientSettings, k: &str) -> Option<&'a str> {
    s.settings.get(k).map(String::as_str)
}

const PEM_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

#[test]
fn jaas_lines_parse_like_kafkas_tokenizer() {
    let l = JaasLogin::parse(
        r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="cdc" password="p\"w;d =x";"#,
    )
    .unwrap();
    assert_eq!(l.module, SCRAM_LOGIN_MODULE);
    assert_eq!(l.options.get("username").map(String::as_str), Some("cdc"));
    assert_eq!(l.options.get("password").map(String::as_str), Some("p\"w;d =x"));
    let l = JaasLogin::parse(
        "software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=prod awsDebugCreds=true ;",
    )
    .unwrap();
    assert_eq!(l.options.get("awsProfileName").map(String::as_str), Some("prod"));
    assert!(JaasLogin::parse("software.amazon.msk.auth.iam.IAMLoginModule required;").unwrap().options.is_empty());
    for bad in [
        "",
        r#"x.Module username="a";"#,
        r#"x.Module required username="a""#,
        r#"x.Module required username="secret-pw;"#,
        r#"x.Module required username "a";"#,
        r#"x.Module required; y.Module required;"#,
    ] {
        let e = JaasLogin::parse(bad).unwrap_err();
        assert!(!e.contains("secret-pw"), "{e}");
    }
}

#[test]
fn connect_names_become_librdkafka_settings() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, PEM_CA).unwrap();
    let client_pem = dir.path().join("client.pem");
    std::fs::write(&client_pem, "-----BEGIN PRIVATE KEY-----\n...\n").unwrap();
    let ca = ca.to_str().unwrap();
    let client_pem = client_pem.to_str().unwrap();
    let s = settings(
        &[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="cdc" password="s3cret";"#,
            ),
            // no type: the file is PEM
            ("ssl.truststore.location", ca),
            ("ssl.truststore.password", "changeit"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", client_pem),
            ("ssl.key.password", "kp"),
            ("ssl.endpoint.identification.algorithm", ""),
            ("ssl.enabled.protocols", "TLSv1.2,TLSv1.3"),
            ("ssl.protocol", "TLSv1.3"),
            ("linger.ms", "7"),
        ],
        "127.0.0.1:9092",
    )
    .unwrap();
    let want: BTreeMap<&str, &str> = [
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", "cdc"),
        ("sasl.password", "s3cret"),
        ("ssl.ca.location", ca),
        ("ssl.certificate.location", client_pem),
        ("ssl.key.location", client_pem),
        ("ssl.key.password", "kp"),
        ("ssl.endpoint.identification.algorithm", "none"),
        ("linger.ms", "7"),
    ]
    .into_iter()
    .collect();
    let got: BTreeMap<&str, &str> = s.iter().collect();
    assert_eq!(got, want);
    assert!(!s.uses_msk_iam());
    let shown = format!("{s:?}");
    assert!(!shown.contains("s3cret") && !shown.contains("kp\""), "{shown}");

    let admin = s.connection_only();
    let admin: BTreeMap<&str, &str> = admin.iter().collect();
    assert!(!admin.contains_key("linger.ms"));
    assert_eq!(admin.get("sasl.password"), Some(&"s3cret"));

    // PKCS12 keystores and inline PEM pass to librdkafka's own names
    let p12 = dir.path().join("client.p12");
    std::fs::write(&p12, [0x30, 0x82]).unwrap();
    let p12 = p12.to_str().unwrap();
    let s = settings(
        &[
            ("ssl.keystore.type", "PKCS12"),
            ("ssl.keystore.location", p12),
            ("ssl.keystore.password", "ksp"),
            ("ssl.truststore.certificates", PEM_CA),
            ("ssl.keystore.certificate.chain", "CHAIN"),
            ("ssl.keystore.key", "KEY"),
            ("sasl.mechanism", "plain"),
            ("sasl.username", "native"),
            ("sasl.password", "native-pw"),
        ],
        "127.0.0.1:9092",
    )
    .unwrap();
    assert_eq!(get(&s, "ssl.keystore.location"), Some(p12));
    assert_eq!(get(&s, "ssl.keystore.password"), Some("ksp"));
    assert_eq!(get(&s, "ssl.ca.pem"), Some(PEM_CA));
    assert_eq!(get(&s, "ssl.certificate.pem"), Some("CHAIN"));
    assert_eq!(get(&s, "ssl.key.pem"), Some("KEY"));
    assert_eq!(get(&s, "sasl.mechanism"), Some("PLAIN"));
    assert_eq!(get(&s, "sasl.username"), Some("native"));

    // a prefixed setting wins over the worker-level one it is laid over
    let base = settings(&[("security.protocol", "SSL"), ("ssl.ca.location", "/a")], "h:1").unwrap();
    let over = settings(&[("ssl.ca.location", "/b")], "h:1").unwrap().over(&base);
    assert_eq!((get(&over, "security.protocol"), get(&over, "ssl.ca.location")), (Some("SSL"), Some("/b")));
}

#[test]
fn what_librdkafka_cannot_do_is_refused_naming_the_property() {
    let dir = tempfile::tempdir().unwrap();
    let jks = dir.path().join("truststore.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
    let jks = jks.to_str().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("ssl.truststore.location", jks)], "producer.ssl.truststore.location"),
        (&[("ssl.keystore.location", jks), ("ssl.keystore.type", "JKS")], "producer.ssl.keystore.location"),
        (&[("ssl.truststore.location", jks), ("ssl.truststore.type", "PKCS12")], "producer.ssl.truststore.location"),
        (&[("ssl.truststore.location", "/nonexistent/ca.pem")], "producer.ssl.truststore.location"),
        (&[("sasl.mechanism", "OAUTHBEARER")], "producer.sasl.mechanism"),
        (
            &[("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", r#"com.example.Login required password="pw-x";"#)],
            "producer.sasl.jaas.config",
        ),
        (
            &[
                ("sasl.mechanism", "PLAIN"),
                (
                    "sasl.jaas.config",
                    r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="pw-x";"#,
                ),
            ],
            "producer.sasl.mechanism",
        ),
        (
            &[(
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u";"#,
            )],
            "producer.sasl.jaas.config",
        ),
        (&[("sasl.login.callback.handler.class", "com.example.Handler")], "producer.sasl.login.callback.handler.class"),
        (&[("sasl.mechanism", "AWS_MSK_IAM")], "bootstrap.servers"),
    ];
    for (props, property) in cases {
        // the region test must not depend on the environment: a bootstrap without an MSK host
        // name and AWS_REGION unset is what it needs, so it runs only then
        if *property == "bootstrap.servers" && msk_region("127.0.0.1:9092").is_some() {
            continue;
        }
        let e = settings(props, "127.0.0.1:9092").unwrap_err();
        assert_eq!(e.property(), Some(*property), "{props:?}: {e}");
        assert!(!e.to_string().contains("pw-x"), "{e}");
    }
}

#[test]
fn msk_iam_comes_from_each_java_spelling() {
    let msk =
        "b-1.cdc.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.cdc.abc123.c2.kafka.eu-west-1.amazonaws.com:9098";
    let iam = |props: &[(&str, &str)]| {
        let s = settings(props, msk).unwrap();
        assert_eq!(get(&s, "sasl.mechanism"), Some("OAUTHBEARER"), "{props:?}");
        assert!(!s.settings.contains_key("sasl.jaas.config"));
        let iam = s.auth.msk_iam.clone().expect("MSK IAM");
        assert_eq!(iam.region, "eu-west-1");
        format!("{:?}", iam.source)
    };
    // what AWS documents for the Java client, both generations
    assert_eq!(
        iam(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "AWS_MSK_IAM"),
            ("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;"),
            ("sasl.client.callback.handler.class", MSK_IAM_CLIENT_CALLBACK),
        ]),
        "DefaultChain"
    );
    assert_eq!(
        iam(&[
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"),
            ("sasl.login.callback.handler.class", MSK_IAM_LOGIN_CALLBACK),
            ("sasl.client.callback.handler.class", MSK_IAM_LOGIN_CALLBACK),
        ]),
        "DefaultChain"
    );
    assert_eq!(
        iam(&[
            ("sasl.mechanism", "AWS_MSK_IAM"),
            ("sasl.jaas.config", r#"software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName="prod";"#),
        ]),
        r#"Profile("prod")"#
    );
    assert!(iam(&[
        ("sasl.mechanism", "AWS_MSK_IAM"),
        (
            "sasl.jaas.config",
            r#"software.amazon.msk.auth.iam.IAMLoginModule required awsRoleArn="arn:aws:iam::123456789012:role/cdc" awsRoleSessionName="s1";"#
        ),
    ])
    .starts_with(r#"Role { arn: "arn:aws:iam::123456789012:role/cdc", session: "s1""#));

    assert_eq!(
        msk_region_with("boot-abc.c2.kafka-serverless.us-east-2.amazonaws.com:9098", |_| None).as_deref(),
        Some("us-east-2")
    );
    assert_eq!(msk_region_with("127.0.0.1:9092", |_| None), None);
    assert_eq!(
        msk_region_with("127.0.0.1:9092", |v| (v == "AWS_DEFAULT_REGION").then(|| "ap-south-1".into())).as_deref(),
        Some("ap-south-1")
    );
}

#[test]
fn command_line_files_resolve_providers_and_pairs_win() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw.properties");
    std::fs::write(&pw, "password=from-file\n").unwrap();
    let f = dir.path().join("client.properties");
    std::fs::write(
        &f,
        format!(
            "config.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"${{file:{}:password}}\";\n",
            pw.display()
        ),
    )
    .unwrap();
    let s = from_command_line(&[f], &[("security.protocol".into(), "SASL_SSL".into())], "127.0.0.1:9092").unwrap();
    assert_eq!(get(&s, "sasl.password"), Some("from-file"));
    assert_eq!(get(&s, "security.protocol"), Some("SASL_SSL"));
    assert!(s.iter().all(|(k, _)| !k.starts_with("config.providers")));
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 3986 encoding of a SigV4 canonical query component (unreserved characters kept).
fn aws_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The token the refresh hook hands librdkafka has the layout of AWS's MSK IAM signers: the
/// URL-safe unpadded base64 of `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
/// presigned with SigV4 in query parameters (service `kafka-cluster`, 900 s), the session token
/// signed along, a `User-Agent` parameter after the signature; lifetime = signing time + 900 s.
/// The signature is recomputed here from the SigV4 specification, not with the signer's code.
#[test]
fn msk_iam_token_has_the_documented_layout() {
    use aws_credential_types::Credentials;
    let (akid, secret, session) =
        ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2Vj//session=");
    let creds = Credentials::from_keys(akid, secret, Some(session.to_string()));
    let source = CredentialSource::Provided(aws_types::sdk_config::SharedCredentialsProvider::new(creds));
    let auth = KafkaAuth { msk_iam: Some(Arc::new(MskIam::new("eu-west-1".into(), source))) };
    let before_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let token = auth.oauth_token().unwrap();
    assert_eq!(token.principal_name, "cdc-connector");
    let again = auth.oauth_token().unwrap();
    assert_eq!(again.token, token.token, "a fresh token is reused by the clients created with it");

    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token.token).expect("unpadded base64url");
    let url = reqwest::Url::parse(std::str::from_utf8(&url).unwrap()).unwrap();
    assert_eq!((url.scheme(), url.host_str(), url.path()), ("https", Some("kafka.eu-west-1.amazonaws.com"), "/"));
    let params: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names.first(), Some(&"Action"));
    assert_eq!(names.last(), Some(&"User-Agent"));
    let p = |name: &str| {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(p("Action"), "kafka-cluster:Connect");
    assert_eq!(p("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assert_eq!(p("X-Amz-Expires"), "900");
    assert_eq!(p("X-Amz-SignedHeaders"), "host");
    assert_eq!(p("X-Amz-Security-Token"), session);
    assert!(p("User-Agent").starts_with("aws-msk-iam-sasl-signer"), "{}", p("User-Agent"));
    let date = p("X-Amz-Date");
    assert_eq!(date.len(), 16, "{date}");
    let day = &date[..8];
    assert_eq!(p("X-Amz-Credential"), format!("{akid}/{day}/eu-west-1/kafka-cluster/aws4_request"));

    // lifetime: signing time + 900 s
    let signed = chrono_free_epoch_ms(date);
    assert_eq!(token.lifetime_ms, signed + 900_000);
    assert!((signed - before_ms).abs() < 60_000, "signed at {signed}, test started at {before_ms}");

    // SigV4 (query-string signing): canonical request → string to sign → derived key → HMAC
    let mut canonical: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature" && k != "User-Agent")
        .map(|(k, v)| (aws_encode(k), aws_encode(v)))
        .collect();
    canonical.sort();
    let query = canonical.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let empty_payload = hex(&Sha256::digest(b""));
    let request = format!("GET\n/\n{query}\nhost:kafka.eu-west-1.amazonaws.com\n\nhost\n{empty_payload}");
    let scope = format!("{day}/eu-west-1/kafka-cluster/aws4_request");
    let to_sign = format!("AWS4-HMAC-SHA256\n{date}\n{scope}\n{}", hex(&Sha256::digest(request.as_bytes())));
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day);
    for part in ["eu-west-1", "kafka-cluster", "aws4_request"] {
        key = hmac(&key, part);
    }
    assert_eq!(p("X-Amz-Signature"), hex(&hmac(&key, &to_sign)));
}

/// `YYYYMMDDTHHMMSSZ` → ms since the epoch (days from the civil calendar, no date crate).
fn chrono_free_epoch_ms(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    let (hh, mm, ss) = (n(9, 11), n(11, 13), n(13, 15));
    // Howard Hinnant's days_from_civil
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000
}
