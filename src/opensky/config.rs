//! config: everything one poller run needs, built by the CLI (`src/bin/opensky-poller.rs`) and
//! validated here. Secrets live in [`Secret`], whose `Debug` never shows the value.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The OpenSky REST API base URL.
pub const DEFAULT_BASE_URL: &str = "https://opensky-network.org/api";
/// The OpenSky OAuth2 token endpoint (client-credentials flow).
pub const DEFAULT_TOKEN_URL: &str =
    "https://auth.opensky-network.org/auth/realms/opensky-network/protocol/openid-connect/token";
/// The API's time resolution for anonymous users: polling faster returns the same data.
pub const ANONYMOUS_RESOLUTION: Duration = Duration::from_secs(10);
/// The API's time resolution with an account.
pub const ACCOUNT_RESOLUTION: Duration = Duration::from_secs(5);

/// One poller run.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Where responses come from: the API, or a recorded directory.
    pub source: SourceConfig,
    /// Save every raw 200 response body into this directory (`NNNNNN.json`), for `--replay`.
    pub record_dir: Option<PathBuf>,
    /// Time between poll starts (default 30 s); raised to `min_interval` when lower.
    pub interval: Duration,
    /// Floor for `interval` and every back-off: the API resolution (10 s anonymous, 5 s with an
    /// account) unless overridden for tests. Not applied to `--replay`.
    pub min_interval: Duration,
    /// First back-off after a transient failure (doubled per consecutive failure, with jitter).
    pub backoff_base: Duration,
    /// Upper bound of the back-off.
    pub backoff_max: Duration,
    /// Delete aircraft absent from the response whose `last_contact` is older than this (default 5 min).
    pub stale_after: Duration,
    /// Stop after this many poll attempts (`--once` = 1); `None` runs until SIGTERM/Ctrl-C.
    pub max_polls: Option<u64>,
    /// Timeout of one HTTP request (connect + body).
    pub request_timeout: Duration,
    /// The MySQL/MariaDB target.
    pub db: DbConfig,
    /// Serve Prometheus `/metrics` here (127.0.0.1 only unless the operator names another address).
    pub metrics_addr: Option<SocketAddr>,
}

/// Where responses come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// `GET {base_url}/states/all`.
    Api(ApiConfig),
    /// Serve the `*.json` files of a directory in name order, then stop.
    Replay(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// API base, default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Optional bounding box.
    pub bbox: Option<BoundingBox>,
    /// Anonymous or OAuth2 client credentials.
    pub auth: Auth,
}

#[derive(Debug, Clone)]
pub enum Auth {
    Anonymous,
    ClientCredentials { client_id: String, secret: Secret, token_url: String },
}

impl Auth {
    /// The API resolution that applies to this kind of user.
    pub fn resolution(&self) -> Duration {
        match self {
            Auth::Anonymous => ANONYMOUS_RESOLUTION,
            Auth::ClientCredentials { .. } => ACCOUNT_RESOLUTION,
        }
    }
}

/// A secret value: `Debug` and `Display` print `***`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `lamin,lomin,lamax,lomax` in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub lamin: f64,
    pub lomin: f64,
    pub lamax: f64,
    pub lomax: f64,
}

impl BoundingBox {
    /// Area in square degrees (what the API's credit cost is based on).
    pub fn area(&self) -> f64 {
        (self.lamax - self.lamin) * (self.lomax - self.lomin)
    }
    /// API credits one `/states/all` call with this box costs (OPENSKY.md).
    pub fn credits(bbox: Option<&BoundingBox>) -> u32 {
        match bbox.map(BoundingBox::area) {
            Some(a) if a <= 25.0 => 1,
            Some(a) if a <= 100.0 => 2,
            Some(a) if a <= 400.0 => 3,
            _ => 4,
        }
    }
}

impl std::str::FromStr for BoundingBox {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>().map_err(|_| format!("'{p}' is not a number")))
            .collect::<Result<_, _>>()?;
        let [lamin, lomin, lamax, lomax] = parts[..] else {
            return Err(format!("expected 4 numbers lamin,lomin,lamax,lomax, got {}", parts.len()));
        };
        let lat = |v: f64| (-90.0..=90.0).contains(&v);
        let lon = |v: f64| (-180.0..=180.0).contains(&v);
        if !(lat(lamin) && lat(lamax) && lon(lomin) && lon(lomax)) {
            return Err("latitudes must be within -90..90 and longitudes within -180..180".into());
        }
        if lamin >= lamax || lomin >= lomax {
            return Err("lamin must be below lamax and lomin below lomax".into());
        }
        Ok(BoundingBox { lamin, lomin, lamax, lomax })
    }
}

/// The MySQL/MariaDB target.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    /// Database holding `flights` and `flight_positions` (default `final`).
    pub database: String,
    /// Create the database and tables from `schemas/` when missing.
    pub create_tables: bool,
}

/// Parse `500ms`, `30s`, `5m`, `1h` or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a duration like 500ms, 30s, 5m"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("unknown unit '{u}' in '{s}' (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("'{s}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_boxes() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("5x").is_err());
        let b: BoundingBox = "45.8389,5.9962,47.8229,10.5226".parse().unwrap();
        assert_eq!(BoundingBox::credits(Some(&b)), 1);
        assert_eq!(BoundingBox::credits(None), 4);
        assert!("1,2,3".parse::<BoundingBox>().is_err());
        assert!("47,5,45,10".parse::<BoundingBox>().is_err());
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}
