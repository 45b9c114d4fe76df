//! plan: what one poll changes, as a pure function of the stored `flights` rows and the snapshot.
//!
//! Rules (the invariants the tests check against MySQL):
//! - an aircraft in the snapshot and not stored is **inserted**;
//! - an aircraft in the snapshot whose stored row differs in any column is **updated**; an
//!   identical one is left alone, so a repeated response writes nothing and the binlog carries
//!   real changes only;
//! - a stored aircraft **absent** from the snapshot whose `last_contact` is older than
//!   `snapshot.time - stale_after` is **deleted**. The API's `time` is the clock, so a replayed
//!   recording gives the same result whenever it is replayed; an aircraft still in the response is
//!   never deleted;
//! - every state becomes a `flight_positions` row keyed `(icao24, last_contact)`; keys already
//!   stored are skipped (the store checks), so re-polls never duplicate history.
//!
//! An icao24 appearing twice in one response keeps the state with the newest `last_contact`
//! (the first on a tie).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::state::{Snapshot, StateVector};

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub inserts: Vec<StateVector>,
    pub updates: Vec<StateVector>,
    pub deletes: Vec<String>,
    pub unchanged: u64,
    /// One state per distinct `(icao24, last_contact)`.
    pub positions: Vec<StateVector>,
}

/// The states of a snapshot, one per aircraft (newest `last_contact` wins).
pub fn dedup(snapshot: &Snapshot) -> BTreeMap<&str, &StateVector> {
    let mut by_id: BTreeMap<&str, &StateVector> = BTreeMap::new();
    for s in &snapshot.states {
        match by_id.get(s.icao24.as_str()) {
            Some(prev) if prev.last_contact >= s.last_contact => {}
            _ => {
                by_id.insert(&s.icao24, s);
            }
        }
    }
    by_id
}

pub fn plan(stored: &HashMap<String, StateVector>, snapshot: &Snapshot, stale_after: Duration) -> Plan {
    let current = dedup(snapshot);
    let mut p = Plan::default();
    for (id, s) in &current {
        match stored.get(*id) {
            None => p.inserts.push((*s).clone()),
            Some(old) if old == *s => p.unchanged += 1,
            Some(_) => p.updates.push((*s).clone()),
        }
    }
    let cutoff = snapshot.time.saturating_sub(i64::try_from(stale_after.as_secs()).unwrap_or(i64::MAX));
    let mut deletes: Vec<String> = stored
        .values()
        .filter(|old| !current.contains_key(old.icao24.as_str()) && old.last_contact < cutoff)
        .map(|old| old.icao24.clone())
        .collect();
    deletes.sort();
    p.deletes = deletes;
    let mut seen = std::collections::HashSet::new();
    for s in &snapshot.states {
        if seen.insert((s.icao24.as_str(), s.last_contact)) {
            p.positions.push(s.clone());
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(id: &str, last_contact: i64, lon: f64) -> StateVector {
        StateVector {
            icao24: id.into(),
            callsign: None,
            origin_country: "Switzerland".into(),
            time_position: None,
            last_contact,
            longitude: Some(lon),
            latitude: None,
            baro_altitude: None,
            on_ground: false,
            velocity: None,
            true_track: None,
            vertical_rate: None,
            sensors: None,
            geo_altitude: None,
            squawk: None,
            spi: false,
            position_source: 0,
            category: None,
        }
    }

    #[test]
    fn insert_update_keep_delete() {
        let stored: HashMap<String, StateVector> =
            [sv("aaaaaa", 100, 1.0), sv("bbbbbb", 100, 1.0), sv("cccccc", 100, 1.0), sv("dddddd", 390, 1.0)]
                .into_iter()
                .map(|s| (s.icao24.clone(), s))
                .collect();
        let snap = Snapshot {
            time: 400,
            states: vec![
                sv("aaaaaa", 100, 1.0),
                sv("bbbbbb", 120, 2.0),
                sv("eeeeee", 399, 3.0),
                sv("eeeeee", 398, 4.0),
            ],
        };
        let p = plan(&stored, &snap, Duration::from_secs(60));
        assert_eq!(p.inserts, vec![sv("eeeeee", 399, 3.0)]);
        assert_eq!(p.updates, vec![sv("bbbbbb", 120, 2.0)]);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.deletes, vec!["cccccc".to_string()]);
        assert_eq!(p.positions.len(), 4);
        // The same response again against the result: nothing to do but history (which the store dedups).
        let after: HashMap<String, StateVector> =
            [sv("aaaaaa", 100, 1.0), sv("bbbbbb", 120, 2.0), sv("dddddd", 390, 1.0), sv("eeeeee", 399, 3.0)]
                .into_iter()
                .map(|s| (s.icao24.clone(), s))
                .collect();
        let p = plan(&after, &snap, Duration::from_secs(60));
        assert!(p.inserts.is_empty() && p.updates.is_empty() && p.deletes.is_empty());
    }
}
