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

impl GtidSet {
    /// A set of one transaction's GTID as the binlog names it (MariaDB `d-s-n`, MySQL
    /// `uuid[:tag]:n`); None when it is neither.
    pub fn of(gtid: &str) -> Option<GtidSet> {
        GtidSet::parse(gtid).ok()
    }

    /// Add one transaction (`gtid` as the binlog names it). MariaDB keeps one GTID per domain:
    /// the newer one replaces the domain's entry (`@@gtid_binlog_pos`). A GTID of the other
    /// flavour, or one that does not parse, leaves the set as it is and returns false.
    pub fn add(&mut self, gtid: &str) -> bool {
        match (self, GtidSet::of(gtid)) {
            (GtidSet::MariaDb(items), Some(GtidSet::MariaDb(new))) => {
                for g in new {
                    match items.iter_mut().find(|i| i.domain == g.domain) {
                        Some(i) => *i = g,
                        None => {
                            items.push(g);
                            items.sort_by_key(|i| i.domain);
                        }
                    }
                }
                true
            }
            (GtidSet::MySql(sources), Some(GtidSet::MySql(new))) => {
                for (source, ints) in new {
                    let have = sources.entry(source).or_default();
                    have.extend(ints);
                    merge_intervals(have);
                }
                true
            }
            _ => false,
        }
    }

    /// The source of a transaction's GTID, as `gtid.source.includes`/`excludes` patterns match
    /// it (Debezium): MySQL's server UUID, MariaDB's `domain-server`.
    pub fn source_of(gtid: &str) -> &str {
        match gtid.split_once(':') {
            Some((uuid, _)) => uuid,
            None => gtid.rsplit_once('-').map_or(gtid, |(source, _)| source),
        }
    }

    /// Where a GTID start begins under `gtid.source.*` filters (Debezium's `filterGtidSet`):
    /// transactions of included sources as `self` (the stored offset) has them, those of other
    /// sources as the server has them (`server`: they are skipped, never read).
    pub fn with_excluded_from(&self, server: &GtidSet, included: impl Fn(&str) -> bool) -> GtidSet {
        match (self, server) {
            (GtidSet::MariaDb(mine), GtidSet::MariaDb(theirs)) => {
                let source = |g: &MariaDbGtid| format!("{}-{}", g.domain, g.server);
                let mut out: Vec<MariaDbGtid> = mine.iter().filter(|g| included(&source(g))).copied().collect();
                for g in theirs.iter().filter(|g| !included(&source(g))) {
                    if !out.iter().any(|o| o.domain == g.domain) {
                        out.push(*g);
                    }
                }
                out.sort_by_key(|g| g.domain);
                GtidSet::MariaDb(out)
            }
            (GtidSet::MySql(mine), GtidSet::MySql(theirs)) => {
                let mut out: MySqlIntervals =
                    mine.iter().filter(|((uuid, _), _)| included(uuid)).map(|(k, v)| (k.clone(), v.clone())).collect();
                for ((uuid, tag), ints) in theirs.iter().filter(|((uuid, _), _)| !included(uuid)) {
                    out.insert((uuid.clone(), tag.clone()), ints.clone());
                }
                GtidSet::MySql(out)
            }
            _ => self.clone(),
        }
    }
}

fn merge_intervals(intervals: &mut Vec<(u64, u64)>) {
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
        merge_intervals(intervals);
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
    fn transactions_are_added() {
        let mut m = GtidSet::parse("0-1-5,2-1-9").unwrap();
        assert!(m.add("0-1-6") && m.add("1-3-1") && m.add("0-2-7"));
        assert_eq!(m.to_string(), "0-2-7,1-3-1,2-1-9", "one GTID per domain, the newest");
        assert!(!m.add(&format!("{U}:3")), "a MySQL GTID is not added to a MariaDB set");
        let mut s = GtidSet::parse(&format!("{U}:1-5")).unwrap();
        assert!(
            s.add(&format!("{U}:6")) && s.add(&format!("{U}:8")) && s.add("a1b2c3d4-0000-0000-0000-000000000001:1")
        );
        assert_eq!(s.to_string(), format!("{U}:1-6:8,a1b2c3d4-0000-0000-0000-000000000001:1"), "sources in order");
        assert!(!s.add("0-1-2") && !s.add("junk"));
        assert_eq!(GtidSet::source_of("0-12-345"), "0-12");
        assert_eq!(GtidSet::source_of(&format!("{U}:77")), U);
    }

    #[test]
    fn excluded_sources_start_where_the_server_is() {
        let offset = GtidSet::parse("0-1-10,1-7-3").unwrap();
        let server = GtidSet::parse("0-1-20,1-7-9,2-5-4").unwrap();
        let only_server_1 = |s: &str| s.ends_with("-1");
        assert_eq!(offset.with_excluded_from(&server, only_server_1).to_string(), "0-1-10,1-7-9,2-5-4");
        let other = "a1b2c3d4-0000-0000-0000-000000000001";
        let offset = GtidSet::parse(&format!("{U}:1-5,{other}:1-2")).unwrap();
        let server = GtidSet::parse(&format!("{U}:1-9,{other}:1-4")).unwrap();
        assert_eq!(offset.with_excluded_from(&server, |s| s == U).to_string(), format!("{U}:1-5,{other}:1-4"));
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
