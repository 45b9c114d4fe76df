//! web: the live flights map and its JSON (`hudi-sink serve`), read from the Hudi table.
//!
//! An axum server with four routes: `GET /` (the map page, `assets/flights.html`, self-contained),
//! `GET /world.geojson` (country outlines shipped in the binary, `assets/README.md` says where they
//! come from), `GET /api/flights` (the table's rows as JSON, the page's only data source) and
//! `GET /health`. The rows come from the Hudi table (a hudi-rs snapshot read of the latest
//! completed commit), never from MySQL, so the page shows what the lake holds. A read is shared by
//! every request within `--refresh-min` of it (one read at a time, the others wait for it), so many
//! open pages cost one table read per interval.
//!
//! `/api/flights` answers
//! `{"table", "generated_ms", "newest_event_ms", "bbox", "flights": [...], "error"}`: one object per
//! row with the source table's columns (the sink's `_…` metadata columns left out; `on_ground` and
//! `spi`, TINYINT(1) in MySQL and so integers in Debezium's schema, as booleans), sorted by record
//! key; `newest_event_ms` is the newest `source.ts_ms` among the rows (`_event_origin_ts_ms`), from
//! which the page shows freshness. A table that does not exist yet gives no rows and an `error`
//! saying so (status 200: the page keeps polling until the sink creates it).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Parser;
use serde::Serialize;
use serde_json::{Map, Value as Json};
use tokio::sync::Mutex;

use crate::checkpoint::{base_uri, CheckpointStore};
use crate::config::{parse_duration, StorageArgs};

const PAGE: &str = include_str!("../assets/flights.html");
const WORLD: &str = include_str!("../assets/world.geojson");

/// Columns MySQL declares BOOLEAN (TINYINT(1), an INT16 in Debezium's schema) that the JSON shows
/// as booleans.
const BOOLEAN_COLUMNS: [&str; 2] = ["on_ground", "spi"];

/// Serve the flights map and its JSON over the Hudi flights table.
#[derive(Debug, Clone, Parser)]
pub struct ServeArgs {
    /// Base path of the tables (as given to `hudi-sink run`): a directory or `s3://bucket/prefix`.
    #[arg(long, default_value = "./lakehouse")]
    pub base_path: String,
    /// The table the map shows, `db.table` (read at `<base>/<db>/<table>`).
    #[arg(long, default_value = "final.flights")]
    pub table: String,
    /// Listen address (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub addr: SocketAddr,
    /// The map's bounding box `lamin,lomin,lamax,lomax` in degrees, as opensky-poller's --bbox
    /// (default: fit the aircraft).
    #[arg(long, value_parser = parse_bbox)]
    pub bbox: Option<BBox>,
    /// Read the table again at most this often: `500ms`, `1s`, … (a bare number is milliseconds).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub refresh_min: Duration,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// A bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub lamin: f64,
    pub lomin: f64,
    pub lamax: f64,
    pub lomax: f64,
}

fn parse_bbox(s: &str) -> Result<BBox, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("expected lamin,lomin,lamax,lomax in degrees, got `{s}`"))?;
    match v[..] {
        [lamin, lomin, lamax, lomax]
            if (-90.0..=90.0).contains(&lamin)
                && (-90.0..=90.0).contains(&lamax)
                && (-180.0..=180.0).contains(&lomin)
                && (-180.0..=180.0).contains(&lomax)
                && lamin < lamax
                && lomin < lomax =>
        {
            Ok(BBox { lamin, lomin, lamax, lomax })
        }
        _ => Err(format!("expected lamin,lomin,lamax,lomax with lamin < lamax and lomin < lomax, got `{s}`")),
    }
}

/// The `/api/flights` body.
#[derive(Debug, Clone, Serialize)]
pub struct FlightsBody {
    pub table: String,
    pub generated_ms: i64,
    pub newest_event_ms: Option<i64>,
    pub bbox: Option<BBox>,
    pub flights: Vec<Map<String, Json>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Shared {
    args: ServeArgs,
    uri: String,
    options: BTreeMap<String, String>,
    /// The last read and when it was made.
    cache: Mutex<Option<(Instant, Arc<String>)>>,
}

/// Bind `args.addr` and serve until the process ends; returns the bound address.
pub async fn serve(args: ServeArgs) -> anyhow::Result<SocketAddr> {
    let (db, table) = args
        .table
        .split_once('.')
        .ok_or_else(|| anyhow::anyhow!("--table: expected db.table, got `{}`", args.table))?;
    let uri = base_uri(&format!("{}/{db}/{table}", args.base_path.trim_end_matches('/')));
    let options = args.storage.storage_options();
    let shared = Arc::new(Shared { args, uri, options, cache: Mutex::new(None) });
    let app = Router::new()
        .route("/", get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }))
        .route(
            "/world.geojson",
            get(|| async {
                ([(CONTENT_TYPE, "application/geo+json"), (CACHE_CONTROL, "public, max-age=86400")], WORLD)
            }),
        )
        .route("/api/flights", get(flights))
        .route("/health", get(|| async { "ok" }))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind(shared.args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("--addr {}: {e}", shared.args.addr))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "flights server stopped");
        }
    });
    Ok(bound)
}

async fn flights(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let body = {
        let mut cache = shared.cache.lock().await;
        match cache.as_ref() {
            Some((at, body)) if at.elapsed() < shared.args.refresh_min => body.clone(),
            _ => {
                let body = Arc::new(read_body(&shared).await);
                *cache = Some((Instant::now(), body.clone()));
                body
            }
        }
    };
    ([(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "no-store")], String::clone(&body))
}

async fn read_body(shared: &Shared) -> String {
    let mut body = FlightsBody {
        table: shared.args.table.clone(),
        generated_ms: now_ms(),
        newest_event_ms: None,
        bbox: shared.args.bbox,
        flights: Vec::new(),
        error: None,
    };
    match read_flights(&shared.uri, &shared.options).await {
        Ok((rows, newest)) => {
            body.flights = rows;
            body.newest_event_ms = newest;
        }
        Err(e) => {
            tracing::warn!(table = %shared.uri, error = %e, "reading the flights table");
            body.error = Some(e);
        }
    }
    serde_json::to_string(&body).unwrap_or_else(|e| format!(r#"{{"error":"rendering the rows: {e}"}}"#))
}

/// The rows of the table at `uri` as the map's JSON objects, and the newest `source.ts_ms`.
pub async fn read_flights(
    uri: &str,
    options: &BTreeMap<String, String>,
) -> Result<(Vec<Map<String, Json>>, Option<i64>), String> {
    let store = CheckpointStore::new(uri, options).map_err(|e| e.to_string())?;
    if !store.table_exists().await.map_err(|e| e.to_string())? {
        return Err(format!("no Hudi table at {uri} yet (hudi-sink creates it with the first change)"));
    }
    let batches = crate::table::read_table(uri, options).await?;
    Ok(flight_rows(crate::dump::rows(&batches)))
}

/// The map's view of dumped rows: metadata columns dropped, boolean columns as booleans.
fn flight_rows(rows: Vec<Map<String, Json>>) -> (Vec<Map<String, Json>>, Option<i64>) {
    let mut newest: Option<i64> = None;
    let rows = rows
        .into_iter()
        .map(|row| {
            if let Some(ts) = row.get("_event_origin_ts_ms").and_then(Json::as_i64) {
                newest = Some(newest.map_or(ts, |n| n.max(ts)));
            }
            row.into_iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| {
                    let v = match (&v, BOOLEAN_COLUMNS.contains(&k.as_str())) {
                        (Json::Number(n), true) => Json::Bool(n.as_i64() != Some(0)),
                        _ => v,
                    };
                    (k, v)
                })
                .collect()
        })
        .collect();
    (rows, newest)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bbox_is_checked() {
        assert_eq!(
            parse_bbox("45.8389,5.9962,47.8229,10.5226"),
            Ok(BBox { lamin: 45.8389, lomin: 5.9962, lamax: 47.8229, lomax: 10.5226 })
        );
        for bad in ["1,2,3", "47,5,45,10", "45,5,47,200", "a,b,c,d", ""] {
            assert!(parse_bbox(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_drop_metadata_and_show_booleans() {
        let row = |icao: &str, ts: i64, ground: i64| {
            json!({"_hoodie_record_key": icao, "_event_origin_ts_ms": ts, "icao24": icao, "on_ground": ground,
                   "spi": 0, "velocity": 12.5, "callsign": null})
            .as_object()
            .unwrap()
            .clone()
        };
        let (rows, newest) = flight_rows(vec![row("a", 10, 1), row("b", 30, 0), row("c", 20, 0)]);
        assert_eq!(newest, Some(30));
        assert_eq!(
            Json::Object(rows[0].clone()),
            json!({"icao24": "a", "on_ground": true, "spi": false, "velocity": 12.5, "callsign": null})
        );
        assert_eq!(rows[1]["on_ground"], json!(false));
        assert_eq!(flight_rows(vec![]).1, None);
    }
}
