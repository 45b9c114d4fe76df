//! GTID sets as users write them in `--binlog-pos` and as Debezium stores them in offsets
//! (`gtids`): MariaDB's `domain-server-seq[,...]` (e.g. `0-1-61,1-2-5`) and MySQL's
//! `uuid[:tag]:interval[:interval...][,...]` (e.g. `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7`,
//! intervals `n` or `n-m`; MySQL prints a newline after each comma, which is accepted).
//!
//! Parsing never panics; errors say which part is wrong. [`GtidSet::contains`] answers "is every
//! transaction of `other` in `self`" — what Debezium's history comparator asks of two positions.

use std::collections::BTreeMap;
use std::fmt;

/// One MariaDB GTID: the last transaction applied in a replication domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MariaDbGtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

/// MySQL GTID intervals per source `(uuid, tag)`.
pub type MySqlIntervals = BTreeMap<(String, Option<String>), Vec<(u64, u64)>>;

/// A GTID set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtidSet {
    /// MariaDB: one GTID per domain (`@@gtid_slave_pos` / `@slave_connect_state` form).
    MariaDb(Vec<MariaDbGtid>),
    /// MySQL: transaction intervals per source (`uuid` lower-case, optional tag).
    MySql(MySqlIntervals),
}

impl GtidSet {
    /// Parse either form (decided by the first item's shape).
    pub fn parse(text: &str) -> Result<GtidSet, String> {
        let items: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            return Err("the GTID set is empty".into());
        }
        if items[0].contains(':') {
            parse_mysql(&items)
        } else {
            items.iter().map(|i| parse_mariadb(i)).collect::<Result<_, _>>().map(GtidSet::MariaDb)
        }
    }

    /// Whether `text` looks like a GTID set rather than `FILE:POS` (a MariaDB `d-s-n` list, or a
    /// MySQL set starting with a UUID).
    pub fn looks_like(text: &str) -> bool {
        let first = text.split(',').next().unwrap_or("").trim();
        let mariadb = {
            let parts: Vec<&str> = first.split('-').collect();
            parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        mariadb || first.split(':').next().is_some_and(is_uuid)
    }

    /// Every transaction of `other` is in `self` (sets of different flavours never contain each
    /// other).
    pub fn contains(&self, other: &GtidSet) -> bool {
        match (self, other) {
            (GtidSet::MariaDb(mine), GtidSet::MariaDb(theirs)) => {
                theirs.iter().all(|t| mine.iter().any(|m| m.domain == t.domain && m.seq >= t.seq))
            }
            (GtidSet::MySql(mine), GtidSet::MySql(theirs)) => theirs.iter().all(|(source, intervals)| {
                let have = mine.get(source).map(Vec::as_slice).unwrap_or(&[]);
                intervals.iter().all(|&(lo, hi)| have.iter().any(|&(a, b)| a <= lo && hi <= b))
            }),
            _ => false,
        }
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GtidSet::MariaDb(items) => {
                let parts: Vec<String> = items.iter().map(|g| format!("{}-{}-{}", g.domain, g.server, g.seq)).collect();
                f.write_str(&parts.join(","))
            }
            GtidSet::MySql(sources) => {
                let parts: Vec<String> = sources
                    .iter()
                    .map(|((uuid, tag), intervals)| {
                        let mut s = uuid.clone();
                        if let Some(t) = tag {
                            s.push(':');
                            s.push_str(t);
                        }
                        for (lo, hi) in intervals {
                            if lo == hi {
                                s.push_str(&format!(":{lo}"));
                            } else {
                                s.push_str(&format!(":{lo}-{hi}"));
                            }
                        }
                        s
                    })
                    .collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

fn parse_mariadb(item: &str) -> Result<MariaDbGtid, String> {
    let bad = || format!("'{item}' is not a MariaDB GTID (domain-server-sequence, e.g. 0-1-61)");
    let mut parts = item.split('-');
    let (Some(d), Some(s), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok(MariaDbGtid {
        domain: d.parse().map_err(|_| bad())?,
        server: s.parse().map_err(|_| bad())?,
        seq: n.parse().map_err(|_| bad())?,
    })
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_mysql(items: &[&str]) -> Result<GtidSet, String> {
    let mut sources = MySqlIntervals::new();
    for item in items {
        let mut parts = item.split(':').map(str::trim);
        let uuid = parts.next().unwrap_or("");
        if !is_uuid(uuid) {
            return Err(format!("'{item}' does not start with a server UUID (MySQL GTID set uuid:1-5)"));
        }
        let mut tag = None;
        let mut intervals = Vec::new();
        for p in parts {
            if p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                tag = Some(p.to_ascii_lowercase());
                continue;
            }
            let (lo, hi) = match p.split_once('-') {
                Some((a, b)) => (a.parse::<u64>(), b.parse::<u64>()),
                None => (p.parse::<u64>(), p.parse::<u64>()),
            };
            match (lo, hi) {
                (Ok(lo), Ok(hi)) if lo >= 1 && lo <= hi => intervals.push((lo, hi)),
                _ => return Err(format!("'{p}' in '{item}' is not a transaction interval (n or n-m, n >= 1)")),
            }
        }
        if intervals.is_empty() {
            return Err(format!("'{item}' has no transaction interval (uuid:1-5)"));
        }
        sources.entry((uuid.to_ascii_lowercase(), tag)).or_default().extend(intervals);
    }
    for intervals in sources.values_mut() {
        intervals.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(intervals.len());
        for &(lo, hi) in intervals.iter() {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        *intervals = merged;
    }
    Ok(GtidSet::MySql(sources))
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn mariadb_sets_parse_and_print() {
        let s = GtidSet::parse("0-1-61, 1-2-5").unwrap();
        assert_eq!(s.to_string(), "0-1-61,1-2-5");
        assert!(GtidSet::looks_like("0-1-61"));
        for bad in ["0-1", "0-1-x", "0-1-2-3", "", " , "] {
            assert!(GtidSet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mysql_sets_parse_merge_and_print() {
        let s = GtidSet::parse(&format!("{}:1-5:6:9,\n{U}:tag1:3", U.to_uppercase())).unwrap();
        assert_eq!(s.to_string(), format!("{U}:1-6:9,{U}:tag1:3"));
        assert!(GtidSet::looks_like(&format!("{U}:1-5")));
        assert!(!GtidSet::looks_like("mysql-bin.000003:817"));
        assert!(!GtidSet::looks_like("binlog-1-2:4"));
        for bad in [U.to_string(), format!("{U}:0"), format!("{U}:5-1"), "zz:1".to_string()] {
            assert!(GtidSet::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn containment() {
        let big = GtidSet::parse(&format!("{U}:1-10")).unwrap();
        let small = GtidSet::parse(&format!("{U}:2-5")).unwrap();
        assert!(big.contains(&small));
        assert!(!small.contains(&big));
        let m1 = GtidSet::parse("0-1-61").unwrap();
        let m2 = GtidSet::parse("0-1-60").unwrap();
        assert!(m1.contains(&m2) && !m2.contains(&m1));
        assert!(!m1.contains(&small));
    }
}
