//! store: writes one parsed poll into MySQL/MariaDB, in **one transaction per poll**.
//!
//! Algorithm of [`Store::apply`]:
//! 1. `START TRANSACTION`; read every `flights` row `FOR UPDATE` (over the binary protocol, so
//!    DOUBLEs come back bit-exact and an unchanged aircraft compares equal);
//! 2. [`plan::plan`] decides inserts, updates, stale deletes and history rows;
//! 3. read which `(icao24, last_contact)` keys of the snapshot `flight_positions` already holds;
//! 4. `INSERT` new aircraft, `UPDATE` changed ones (all columns), `DELETE` stale ones, `INSERT` the
//!    missing history rows; `COMMIT`.
//!
//! Invariants: a poll is either fully committed or not at all (any error drops the transaction,
//! which rolls back); unchanged rows are never written, so the binlog carries real changes only;
//! history rows are never duplicated. Only this process is expected to write these tables; the
//! `FOR UPDATE` read makes two pollers on the same tables serialise instead of interleave.
//!
//! Failure: every database error is returned as [`StoreError`]; the poll loop backs off and
//! polls again (the failed poll's data is not retried: the next poll is fresher). Missing tables
//! without `--create-tables` are [`StoreError::MissingTables`], which stops the poller.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params, Pool, Row, TxOpts, Value};

use super::config::DbConfig;
use super::plan;
use super::state::{Snapshot, StateVector};
use super::telemetry::Applied;

/// The DDL of the two tables (unqualified; run in the configured database).
pub const FLIGHTS_DDL: &str = include_str!("../../schemas/final.flights.sql");
pub const FLIGHT_POSITIONS_DDL: &str = include_str!("../../schemas/final.flight_positions.sql");

const FLIGHT_COLUMNS: &str = "icao24, callsign, origin_country, time_position, last_contact, longitude, latitude, \
     baro_altitude, on_ground, velocity, true_track, vertical_rate, sensors, geo_altitude, squawk, spi, \
     position_source, category";
const POSITION_COLUMNS: &str = "icao24, last_contact, time_position, longitude, latitude, baro_altitude, \
     geo_altitude, on_ground, velocity, true_track, vertical_rate, squawk, position_source";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {db}: {source}")]
    Db { db: String, source: mysql_async::Error },
    #[error("tables {missing} are missing in database `{db}`: create them from schemas/ or run with --create-tables")]
    MissingTables { db: String, missing: String },
    #[error("database name `{0}` is not a plain identifier (letters, digits, _ and $ only)")]
    BadName(String),
}

pub struct Store {
    pool: Pool,
    db: String,
    create_tables: bool,
    ready: bool,
}

impl Store {
    /// A connection pool; nothing is contacted until the first poll.
    pub fn new(cfg: &DbConfig) -> Result<Store, StoreError> {
        if cfg.database.is_empty() || !cfg.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            return Err(StoreError::BadName(cfg.database.clone()));
        }
        let opts = OptsBuilder::default()
            .ip_or_hostname(cfg.host.clone())
            .tcp_port(cfg.port)
            .user(Some(cfg.user.clone()))
            .pass(cfg.password.as_ref().map(|p| p.expose().to_string()))
            .prefer_socket(false);
        Ok(Store { pool: Pool::new(opts), db: cfg.database.clone(), create_tables: cfg.create_tables, ready: false })
    }

    fn err(&self, source: mysql_async::Error) -> StoreError {
        StoreError::Db { db: self.db.clone(), source }
    }

    async fn conn(&mut self) -> Result<Conn, StoreError> {
        let mut conn = self.pool.get_conn().await.map_err(|e| self.err(e))?;
        if !self.ready {
            self.ensure_tables(&mut conn).await?;
            self.ready = true;
        }
        Ok(conn)
    }

    /// Check the tables exist; create database and tables when allowed.
    async fn ensure_tables(&self, conn: &mut Conn) -> Result<(), StoreError> {
        let present: Vec<String> = conn
            .exec(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? \
                 AND table_name IN ('flights', 'flight_positions')",
                (self.db.as_str(),),
            )
            .await
            .map_err(|e| self.err(e))?;
        let missing: Vec<&str> =
            ["flights", "flight_positions"].into_iter().filter(|t| !present.iter().any(|p| p == t)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        if !self.create_tables {
            return Err(StoreError::MissingTables { db: self.db.clone(), missing: missing.join(", ") });
        }
        let db = &self.db;
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS `{db}`")).await.map_err(|e| self.err(e))?;
        for ddl in [FLIGHTS_DDL, FLIGHT_POSITIONS_DDL] {
            conn.query_drop(format!("USE `{db}`")).await.map_err(|e| self.err(e))?;
            conn.query_drop(ddl).await.map_err(|e| self.err(e))?;
        }
        tracing::info!(database = %db, created = %missing.join(", "), "created missing tables from schemas/");
        Ok(())
    }

    /// Write one poll (see the module docs).
    pub async fn apply(&mut self, snapshot: &Snapshot, stale_after: Duration) -> Result<Applied, StoreError> {
        let mut conn = self.conn().await?;
        let db = self.db.clone();
        let e = |source| StoreError::Db { db: db.clone(), source };
        let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(e)?;
        let rows: Vec<Row> =
            tx.exec(format!("SELECT {FLIGHT_COLUMNS} FROM `{db}`.flights FOR UPDATE"), ()).await.map_err(e)?;
        let stored: HashMap<String, StateVector> =
            rows.into_iter().filter_map(from_row).map(|s| (s.icao24.clone(), s)).collect();
        let p = plan::plan(&stored, snapshot, stale_after);

        // History keys already stored (a superset query, filtered exactly below).
        let mut have: HashSet<(String, i64)> = HashSet::new();
        let ids: Vec<&str> =
            p.positions.iter().map(|s| s.icao24.as_str()).collect::<HashSet<_>>().into_iter().collect();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let keys: Vec<(String, i64)> = tx
                .exec(
                    format!("SELECT icao24, last_contact FROM `{db}`.flight_positions WHERE icao24 IN ({marks})"),
                    Params::Positional(chunk.iter().map(|s| Value::from(*s)).collect()),
                )
                .await
                .map_err(e)?;
            have.extend(keys);
        }
        let new_positions: Vec<&StateVector> =
            p.positions.iter().filter(|s| !have.contains(&(s.icao24.clone(), s.last_contact))).collect();

        let insert_marks = vec!["?"; 18].join(",");
        if !p.inserts.is_empty() {
            tx.exec_batch(
                format!("INSERT INTO `{db}`.flights ({FLIGHT_COLUMNS}) VALUES ({insert_marks})"),
                p.inserts.iter().map(flight_params),
            )
            .await
            .map_err(e)?;
        }
        if !p.updates.is_empty() {
            let set = FLIGHT_COLUMNS.split(", ").skip(1).map(|c| format!("{c} = ?")).collect::<Vec<_>>().join(", ");
            tx.exec_batch(
                format!("UPDATE `{db}`.flights SET {set} WHERE icao24 = ?"),
                p.updates.iter().map(|s| {
                    let mut v = flight_values(s);
                    let id = v.remove(0);
                    v.push(id);
                    Params::Positional(v)
                }),
            )
            .await
            .map_err(e)?;
        }
        for chunk in p.deletes.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            tx.exec_drop(
                format!("DELETE FROM `{db}`.flights WHERE icao24 IN ({marks})"),
                Params::Positional(chunk.iter().map(|s| Value::from(s.as_str())).collect()),
            )
            .await
            .map_err(e)?;
        }
        if !new_positions.is_empty() {
            let marks = vec!["?"; 13].join(",");
            tx.exec_batch(
                format!("INSERT INTO `{db}`.flight_positions ({POSITION_COLUMNS}) VALUES ({marks})"),
                new_positions.iter().map(|s| position_params(s)),
            )
            .await
            .map_err(e)?;
        }
        tx.commit().await.map_err(e)?;
        Ok(Applied {
            inserted: p.inserts.len() as u64,
            updated: p.updates.len() as u64,
            deleted: p.deletes.len() as u64,
            unchanged: p.unchanged,
            positions: new_positions.len() as u64,
        })
    }

    /// Close the pool's connections.
    pub async fn close(self) {
        let _ = self.pool.disconnect().await;
    }
}

fn flight_values(s: &StateVector) -> Vec<Value> {
    vec![
        s.icao24.as_str().into(),
        s.callsign.as_deref().into(),
        s.origin_country.as_str().into(),
        s.time_position.into(),
        s.last_contact.into(),
        s.longitude.into(),
        s.latitude.into(),
        s.baro_altitude.into(),
        s.on_ground.into(),
        s.velocity.into(),
        s.true_track.into(),
        s.vertical_rate.into(),
        s.sensors.as_deref().into(),
        s.geo_altitude.into(),
        s.squawk.as_deref().into(),
        s.spi.into(),
        s.position_source.into(),
        s.category.into(),
    ]
}

fn flight_params(s: &StateVector) -> Params {
    Params::Positional(flight_values(s))
}

fn position_params(s: &StateVector) -> Params {
    Params::Positional(vec![
        s.icao24.as_str().into(),
        s.last_contact.into(),
        s.time_position.into(),
        s.longitude.into(),
        s.latitude.into(),
        s.baro_altitude.into(),
        s.geo_altitude.into(),
        s.on_ground.into(),
        s.velocity.into(),
        s.true_track.into(),
        s.vertical_rate.into(),
        s.squawk.as_deref().into(),
        s.position_source.into(),
    ])
}

/// A stored `flights` row; `None` if a column does not convert — only possible if someone
/// altered the table by hand, and then writes of that aircraft fail (duplicate key) and are
/// logged as database errors until the table is fixed.
fn from_row(mut r: Row) -> Option<StateVector> {
    Some(StateVector {
        icao24: r.take_opt(0)?.ok()?,
        callsign: r.take_opt(1)?.ok()?,
        origin_country: r.take_opt(2)?.ok()?,
        time_position: r.take_opt(3)?.ok()?,
        last_contact: r.take_opt(4)?.ok()?,
        longitude: r.take_opt(5)?.ok()?,
        latitude: r.take_opt(6)?.ok()?,
        baro_altitude: r.take_opt(7)?.ok()?,
        on_ground: r.take_opt(8)?.ok()?,
        velocity: r.take_opt(9)?.ok()?,
        true_track: r.take_opt(10)?.ok()?,
        vertical_rate: r.take_opt(11)?.ok()?,
        sensors: r.take_opt(12)?.ok()?,
        geo_altitude: r.take_opt(13)?.ok()?,
        squawk: r.take_opt(14)?.ok()?,
        spi: r.take_opt(15)?.ok()?,
        position_source: r.take_opt(16)?.ok()?,
        category: r.take_opt(17)?.ok()?,
    })
}
