//! Per-table column policy: which columns are emitted (`column.include.list` /
//! `column.exclude.list`), which make the message key (`message.key.columns`), how values are
//! masked, hashed or truncated (`column.mask.with.N.chars`, `column.mask.hash[.v2].ALG.with.salt.SALT`,
//! `column.truncate.to.N.chars`) and which schemas carry their source type
//! (`column.propagate.source.type`), as Debezium 3.6.3 does it (checked against the oracle run
//! `columns` in `tests/data/golden/`).
//!
//! A [`ColumnPlan`] is built once per table version. Rows are decoded whole (every column, default
//! handling modes), then [`ColumnPlan::apply`] reshapes them for the handling modes
//! (`decode::modes`) and masks/hashes/truncates in place; the key is taken from that full row (so a
//! key column may be excluded from the value), and [`ColumnPlan::project`] drops the excluded
//! columns.
//!
//! Rules (Debezium's): masking, hashing and truncation apply to character columns only (CHAR,
//! VARCHAR, TEXT kinds); their schemas get the parameter `masked=true` or `truncateLength=N`. A
//! mask replaces NULL too; a hash or truncation leaves NULL as it is.
//! Lengths count Java `char`s (UTF-16 code units). A hash is the lower-case hex digest of the salt's
//! bytes followed by the value: in v1 Java's serialized form of the `String`
//! (`ObjectOutputStream.writeObject`: 0xACED0005, `TC_STRING`, length, modified UTF-8), in v2 its
//! UTF-8 bytes. Propagated columns get `__debezium.source.column.type`, `.length`, `.scale` (when
//! known) and `.name`. `message.key.columns` names the key columns in its order; tables it does
//! not name keep their primary key. Patterns are anchored and case-insensitive over
//! `db.table.column` (`message.key.columns`: `db.table`).
//!
//! Hand-written because it is Debezium's behaviour, not a general algorithm; the digests come from
//! the RustCrypto crates.

use std::sync::Arc;

use crate::config::{ColumnFilter, ColumnTransform, ColumnTransformKind, KeyColumns, RegexList};
use crate::connect::{Field, Schema, SchemaType, Value};
use crate::decode::modes::{hex_lower, Shaper};
use crate::decode::ValueError;
use crate::schema::connect_schema::{column_schema, SchemaOptions};
use crate::schema::{Column, ColumnKind, Table};

/// The connector's column settings (all tables).
#[derive(Debug, Clone, Default)]
pub struct ColumnSettings {
    pub filter: ColumnFilter,
    pub key_columns: Vec<KeyColumns>,
    pub transforms: Vec<ColumnTransform>,
    pub propagate: RegexList,
    /// `datatype.propagate.source.type`: matched against `db.table.TYPENAME`.
    pub propagate_types: RegexList,
    pub options: SchemaOptions,
}

/// What happens to one character column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Transform {
    Mask(String),
    Truncate(usize),
    Hash { algorithm: Algorithm, salt: Vec<u8>, v2: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The Java `MessageDigest` name, as written in the property.
    pub fn from_java(name: &str) -> Option<Algorithm> {
        Some(match name.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "SHA-1" | "SHA1" | "SHA" => Algorithm::Sha1,
            "SHA-224" => Algorithm::Sha224,
            "SHA-256" => Algorithm::Sha256,
            "SHA-384" => Algorithm::Sha384,
            "SHA-512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Algorithm::Md5 => run::<md5::Md5>(parts),
            Algorithm::Sha1 => run::<sha1::Sha1>(parts),
            Algorithm::Sha224 => run::<sha2::Sha224>(parts),
            Algorithm::Sha256 => run::<sha2::Sha256>(parts),
            Algorithm::Sha384 => run::<sha2::Sha384>(parts),
            Algorithm::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// One table version's column policy (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    modes: Option<Shaper>,
    transforms: Vec<(usize, Transform)>,
    /// Emitted columns (indexes into the table's columns); None = all.
    projection: Option<Vec<usize>>,
    /// Key columns (indexes into the table's columns), in key order.
    pub key_indexes: Vec<usize>,
}

fn is_character(kind: ColumnKind) -> bool {
    use ColumnKind as K;
    matches!(kind, K::Char | K::VarChar | K::TinyText | K::Text | K::MediumText | K::LongText)
}

impl ColumnPlan {
    /// The plan of `table` under `settings`.
    pub fn new(table: &Table, settings: &ColumnSettings) -> ColumnPlan {
        let id = |c: &Column| format!("{}.{}.{}", table.id.db, table.id.table, c.name);
        let included: Vec<usize> = (0..table.columns.len())
            .filter(|&i| settings.filter.is_included(&table.id.db, &table.id.table, &table.columns[i].name))
            .collect();
        let projection = (included.len() != table.columns.len()).then_some(included);
        let mut transforms = Vec::new();
        for t in &settings.transforms {
            for (i, c) in table.columns.iter().enumerate() {
                if !is_character(c.kind) || !t.columns.matches(&id(c)) {
                    continue;
                }
                let tr = match &t.kind {
                    ColumnTransformKind::MaskWithChars(n) => Transform::Mask("*".repeat(*n)),
                    ColumnTransformKind::TruncateTo(n) => Transform::Truncate(*n),
                    ColumnTransformKind::Hash { algorithm, salt, v2 } => match Algorithm::from_java(algorithm) {
                        Some(a) => Transform::Hash { algorithm: a, salt: salt.as_bytes().to_vec(), v2: *v2 },
                        // refused when the configuration is read (config::connector)
                        None => continue,
                    },
                };
                transforms.push((i, tr));
            }
        }
        let name = format!("{}.{}", table.id.db, table.id.table);
        let key_indexes = match settings.key_columns.iter().find(|k| k.tables.matches(&name)) {
            Some(k) => k
                .columns
                .iter()
                .filter_map(|n| table.columns.iter().position(|c| c.name.eq_ignore_ascii_case(n)))
                .collect(),
            None => table.key_indexes(),
        };
        ColumnPlan { modes: Shaper::new(table, &settings.options), transforms, projection, key_indexes }
    }

    /// Whether rows pass through unchanged (default modes, no transform, every column).
    pub fn is_identity(&self) -> bool {
        self.modes.is_none() && self.transforms.is_empty() && self.projection.is_none()
    }

    /// Reshape (handling modes) and mask/hash/truncate a full decoded row in place; the error
    /// names the column index.
    pub fn apply(&self, row: &mut [Value]) -> Result<(), (usize, ValueError)> {
        if let Some(m) = &self.modes {
            m.apply(row)?;
        }
        for (i, t) in &self.transforms {
            // a mask replaces NULL too (Debezium's MaskingValueConverter ignores the value)
            if let (Transform::Mask(m), Some(v @ Value::Null)) = (t, row.get_mut(*i)) {
                *v = Value::String(m.clone());
                continue;
            }
            if let Some(Value::String(s)) = row.get_mut(*i) {
                match t {
                    Transform::Mask(m) => m.clone_into(s),
                    Transform::Truncate(n) => truncate_utf16(s, *n),
                    Transform::Hash { algorithm, salt, v2 } => {
                        let digest = if *v2 {
                            algorithm.digest(&[salt.as_slice(), s.as_bytes()])
                        } else {
                            algorithm.digest(&[salt.as_slice(), crate::java_ser::encode_string(s).as_slice()])
                        };
                        *s = hex_lower(&digest);
                    }
                }
            }
        }
        Ok(())
    }

    /// The emitted columns of a full row.
    pub fn project(&self, row: Vec<Value>) -> Vec<Value> {
        match &self.projection {
            None => row,
            Some(idx) => {
                let mut row = row;
                idx.iter().map(|&i| row.get_mut(i).map_or(Value::Null, |v| std::mem::replace(v, Value::Null))).collect()
            }
        }
    }

    /// `<prefix>.<db>.<table>.Key` over the key columns, or None without key columns.
    pub fn key_schema(&self, prefix: &str, table: &Table, settings: &ColumnSettings) -> Option<Arc<Schema>> {
        if self.key_indexes.is_empty() {
            return None;
        }
        // Debezium builds key fields without its column mappers: no propagated source types.
        let fields = self.key_indexes.iter().map(|&i| self.field(table, i, settings, false)).collect();
        Some(
            Schema::new(SchemaType::Struct(fields))
                .named(format!("{prefix}.{}.{}.Key", table.id.db, table.id.table))
                .arc(),
        )
    }

    /// `<prefix>.<db>.<table>.Value` over the emitted columns (optional, as in `before`/`after`).
    pub fn value_schema(&self, prefix: &str, table: &Table, settings: &ColumnSettings) -> Arc<Schema> {
        let all: Vec<usize>;
        let idx = match &self.projection {
            Some(p) => p,
            None => {
                all = (0..table.columns.len()).collect();
                &all
            }
        };
        let fields = idx.iter().map(|&i| self.field(table, i, settings, true)).collect();
        Schema::new(SchemaType::Struct(fields))
            .optional()
            .named(format!("{prefix}.{}.{}.Value", table.id.db, table.id.table))
            .arc()
    }

    fn field(&self, table: &Table, i: usize, settings: &ColumnSettings, value: bool) -> Field {
        let col = &table.columns[i];
        let mut s = column_schema(col, &settings.options);
        for (_, t) in self.transforms.iter().filter(|(j, _)| *j == i) {
            s = match t {
                Transform::Mask(_) | Transform::Hash { .. } => s.param("masked", "true"),
                Transform::Truncate(n) => s.param("truncateLength", n.to_string()),
            };
        }
        let by_column = value
            && !settings.propagate.is_empty()
            && settings.propagate.matches(&format!("{}.{}.{}", table.id.db, table.id.table, col.name));
        let by_type = value
            && !settings.propagate_types.is_empty()
            && settings.propagate_types.matches(&format!("{}.{}.{}", table.id.db, table.id.table, col.type_name));
        if by_column || by_type {
            s = s.param("__debezium.source.column.type", col.type_name.clone());
            if let Some(l) = col.length {
                s = s.param("__debezium.source.column.length", l.to_string());
            }
            if let Some(sc) = col.scale {
                s = s.param("__debezium.source.column.scale", sc.to_string());
            }
            s = s.param("__debezium.source.column.name", col.name.clone());
        }
        Field::new(col.name.clone(), s.arc())
    }
}

/// Keep at most `n` UTF-16 code units (Java's `String.substring(0, n)`), never splitting a
/// character.
fn truncate_utf16(s: &mut String, n: usize) {
    let mut units = 0;
    for (at, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > n {
            s.truncate(at);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_hash_is_the_salted_digest_of_javas_serialized_string() {
        // the oracle's `columns` run: first_name 'Sally' with SHA-256 and salt CzQMA0cB5K
        let d = Algorithm::Sha256.digest(&[b"CzQMA0cB5K", &crate::java_ser::encode_string("Sally")]);
        assert_eq!(hex_lower(&d), "fdb7203d454f66f6876b236220dcf8fd89d31ad26a7a6694ad81358d934311b9");
        assert_eq!(
            crate::java_ser::encode_string("a\0é"),
            [0xAC, 0xED, 0, 5, 0x74, 0, 5, b'a', 0xC0, 0x80, 0xC3, 0xA9]
        );
        assert_eq!(&crate::java_ser::encode_string("😀")[5..], [0, 6, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
    }

    #[test]
    fn truncation_counts_java_chars() {
        let mut s = "Small 2-wheel scooter".to_string();
        truncate_utf16(&mut s, 4);
        assert_eq!(s, "Smal");
        let mut s = "a😀b".to_string();
        truncate_utf16(&mut s, 2);
        assert_eq!(s, "a");
        let mut s = "ab".to_string();
        truncate_utf16(&mut s, 5);
        assert_eq!(s, "ab");
    }
}
