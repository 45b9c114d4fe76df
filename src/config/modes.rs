//! The enumerated Debezium properties, with Debezium's spellings (matched case-insensitively).

use super::config_enum;

config_enum! {
    /// `connector.class`.
    pub enum ConnectorClass {
        /// `io.debezium.connector.mysql.MySqlConnector`.
        MySql = "io.debezium.connector.mysql.MySqlConnector",
        /// `io.debezium.connector.mariadb.MariaDbConnector`.
        MariaDb = "io.debezium.connector.mariadb.MariaDbConnector",
    }
}

config_enum! {
    /// `database.ssl.mode`.
    pub enum SslMode {
        /// No TLS.
        Disabled = "disabled",
        /// TLS when the server offers it.
        Preferred = "preferred",
        /// TLS required, certificate not verified.
        Required = "required",
        /// TLS with the server certificate verified against the CA.
        VerifyCa = "verify_ca",
        /// As `verify_ca`, plus the host name.
        VerifyIdentity = "verify_identity",
    }
}

config_enum! {
    /// `decimal.handling.mode`.
    pub enum DecimalHandlingMode {
        /// `org.apache.kafka.connect.data.Decimal` (bytes + scale).
        Precise = "precise",
        /// `float64`.
        Double = "double",
        /// Plain string.
        String = "string",
    }
}

config_enum! {
    /// `time.precision.mode`.
    pub enum TimePrecisionMode {
        /// Debezium temporal types; TIME always in microseconds.
        AdaptiveTimeMicroseconds = "adaptive_time_microseconds",
        /// Debezium temporal types by column precision.
        Adaptive = "adaptive",
        /// Kafka Connect's logical types (millisecond precision).
        Connect = "connect",
        /// ISO-8601 strings.
        IsoString = "isostring",
        /// Microseconds since the epoch.
        Microseconds = "microseconds",
        /// Nanoseconds since the epoch.
        Nanoseconds = "nanoseconds",
    }
}

config_enum! {
    /// `bigint.unsigned.handling.mode`.
    pub enum BigintUnsignedHandlingMode {
        /// `int64` (values above 2^63-1 wrap).
        Long = "long",
        /// `Decimal` with scale 0.
        Precise = "precise",
    }
}

config_enum! {
    /// `binary.handling.mode`.
    pub enum BinaryHandlingMode {
        /// Connect `bytes`.
        Bytes = "bytes",
        /// Base64 string.
        Base64 = "base64",
        /// URL-safe base64 string.
        Base64UrlSafe = "base64-url-safe",
        /// Hex string.
        Hex = "hex",
    }
}

config_enum! {
    /// `snapshot.mode`. Pre-3.0 names are accepted as aliases (`schema_only` = `no_data`,
    /// `schema_only_recovery` = `recovery`).
    pub enum SnapshotMode {
        /// Snapshot schema and data when no offset exists, then stream.
        Initial = "initial",
        /// Snapshot, then stop.
        InitialOnly = "initial_only",
        /// Snapshot the schema only, then stream.
        NoData = "no_data" | "schema_only",
        /// Snapshot when no offset exists or the offset's binlog is gone.
        WhenNeeded = "when_needed",
        /// Rebuild a lost schema history from the current schema, then stream.
        Recovery = "recovery" | "schema_only_recovery",
        /// Snapshot at every start.
        Always = "always",
        /// Never snapshot (legacy).
        Never = "never",
        /// Decided by `snapshot.mode.configuration.based.*`.
        ConfigurationBased = "configuration_based",
        /// A custom `Snapshotter` implementation.
        Custom = "custom",
    }
}

config_enum! {
    /// `snapshot.locking.mode`.
    pub enum SnapshotLockingMode {
        /// Global read lock only while reading the binlog position and schemas.
        Minimal = "minimal",
        /// Lock for the whole snapshot.
        Extended = "extended",
        /// Percona's backup locks instead of a global read lock.
        MinimalPercona = "minimal_percona",
        /// No locks (unsafe with concurrent DDL).
        None = "none",
        /// A custom locking implementation.
        Custom = "custom",
    }
}

config_enum! {
    /// `inconsistent.schema.handling.mode` / `event.processing.failure.handling.mode`.
    pub enum FailureHandlingMode {
        /// Stop the connector.
        Fail = "fail",
        /// Log and skip the event.
        Warn = "warn",
        /// Skip the event silently.
        Skip = "skip",
        /// Skip without logging (Debezium's `ignore`).
        Ignore = "ignore",
    }
}

config_enum! {
    /// `schema.history.internal`: where the schema history is stored.
    pub enum SchemaHistoryKind {
        /// `io.debezium.storage.kafka.history.KafkaSchemaHistory`: a Kafka topic.
        Kafka = "io.debezium.storage.kafka.history.KafkaSchemaHistory",
        /// `io.debezium.storage.file.history.FileSchemaHistory`: a local file.
        File = "io.debezium.storage.file.history.FileSchemaHistory",
    }
}
