//! Debezium's regex-list filters: which databases, tables and columns are captured, and custom
//! message keys.
//!
//! A list is comma-separated; `\,` puts a literal comma into a pattern; each pattern is trimmed
//! and empty ones are skipped (Debezium's `RegExSplitterByComma`). A pattern must match the whole
//! identifier and matches case-insensitively (Debezium's `Predicates.includes`, which compiles
//! with `Pattern.CASE_INSENSITIVE` and uses `Matcher.matches()`). Identifiers are `db` for
//! databases, `db.table` for tables and `db.table.column` for columns. Patterns use Rust `regex`
//! syntax, which agrees with Java's for the patterns people write (no look-around or
//! back-references); one that does not compile is an error naming the property.

use regex::Regex;

use super::ConfigError;

/// A compiled comma-separated list of anchored, case-insensitive regular expressions.
#[derive(Clone, Default)]
pub struct RegexList {
    patterns: Vec<String>,
    compiled: Vec<Regex>,
}

impl RegexList {
    /// Parse the value of `property`.
    pub fn parse(property: &str, value: &str) -> Result<Self, ConfigError> {
        let mut list = RegexList::default();
        for pattern in split_regex_list(value) {
            let compiled = Regex::new(&format!("(?i)^(?:{pattern})$")).map_err(|e| {
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or("").trim().to_owned();
                ConfigError::invalid(property, &pattern, format!("not a valid regular expression ({last})"))
            })?;
            list.patterns.push(pattern);
            list.compiled.push(compiled);
        }
        Ok(list)
    }

    /// Whether any pattern matches all of `identifier`.
    pub fn matches(&self, identifier: &str) -> bool {
        self.compiled.iter().any(|r| r.is_match(identifier))
    }

    /// Whether the list has no pattern.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as written (after splitting and trimming).
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

impl std::fmt::Debug for RegexList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}

/// Split a Debezium regex list on unescaped commas.
fn split_regex_list(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().replace("\\,", ",")).filter(|p| !p.is_empty()).collect()
}

/// An include list, an exclude list, or neither (everything).
#[derive(Debug, Clone, Default)]
pub enum IncludeExclude {
    /// Neither list set: everything passes.
    #[default]
    All,
    /// Only identifiers matching the list pass.
    Include(RegexList),
    /// Identifiers matching the list are dropped.
    Exclude(RegexList),
}

impl IncludeExclude {
    /// Read `include`/`exclude` (mutually exclusive) from their values.
    pub(crate) fn parse(
        include_property: &str,
        include: Option<String>,
        exclude_property: &str,
        exclude: Option<String>,
    ) -> Result<Self, ConfigError> {
        match (include, exclude) {
            (Some(_), Some(_)) => {
                Err(ConfigError::Conflict { first: include_property.to_owned(), second: exclude_property.to_owned() })
            }
            (Some(i), None) => Ok(IncludeExclude::Include(RegexList::parse(include_property, &i)?)),
            (None, Some(e)) => Ok(IncludeExclude::Exclude(RegexList::parse(exclude_property, &e)?)),
            (None, None) => Ok(IncludeExclude::All),
        }
    }

    /// Whether `identifier` passes.
    pub fn allows(&self, identifier: &str) -> bool {
        match self {
            IncludeExclude::All => true,
            IncludeExclude::Include(list) => list.matches(identifier),
            IncludeExclude::Exclude(list) => !list.matches(identifier),
        }
    }
}

/// Databases MySQL and MariaDB keep their own metadata in (`table.ignore.builtin`).
pub const BUILTIN_DATABASES: &[&str] = &["mysql", "performance_schema", "sys", "information_schema"];

/// Which tables are captured: `database.include.list`/`database.exclude.list`,
/// `table.include.list`/`table.exclude.list` (both must pass) and `table.ignore.builtin`.
#[derive(Debug, Clone)]
pub struct TableFilter {
    /// `database.include.list` / `database.exclude.list` over `db`. Default: all.
    pub databases: IncludeExclude,
    /// `table.include.list` / `table.exclude.list` over `db.table`. Default: all.
    pub tables: IncludeExclude,
    /// `table.ignore.builtin`: never capture the system databases. Default true.
    pub ignore_builtin: bool,
}

impl Default for TableFilter {
    fn default() -> Self {
        TableFilter { databases: IncludeExclude::All, tables: IncludeExclude::All, ignore_builtin: true }
    }
}

impl TableFilter {
    /// Whether changes of `db`.`table` are captured.
    pub fn is_captured(&self, db: &str, table: &str) -> bool {
        self.is_database_captured(db) && self.tables.allows(&format!("{db}.{table}"))
    }

    /// Whether any table of `db` can be captured.
    pub fn is_database_captured(&self, db: &str) -> bool {
        !(self.ignore_builtin && is_builtin_database(db)) && self.databases.allows(db)
    }
}

/// Whether `db` is one of [`BUILTIN_DATABASES`] (case-insensitive).
pub fn is_builtin_database(db: &str) -> bool {
    BUILTIN_DATABASES.iter().any(|b| b.eq_ignore_ascii_case(db))
}

/// Which columns are emitted: `column.include.list` / `column.exclude.list` over
/// `db.table.column`. Default: all.
#[derive(Debug, Clone, Default)]
pub struct ColumnFilter {
    /// The include or exclude list.
    pub columns: IncludeExclude,
}

impl ColumnFilter {
    /// Whether column `column` of `db`.`table` is emitted.
    pub fn is_included(&self, db: &str, table: &str, column: &str) -> bool {
        self.columns.allows(&format!("{db}.{table}.{column}"))
    }
}

/// One entry of `message.key.columns` (`<db.table regex>:<col>,<col>`).
#[derive(Debug, Clone)]
pub struct KeyColumns {
    /// The tables (`db.table`, anchored, case-insensitive) the entry applies to.
    pub tables: RegexList,
    /// The key columns, in order.
    pub columns: Vec<String>,
}

impl KeyColumns {
    /// Parse `message.key.columns`: `;`-separated entries of `table:col1,col2`.
    pub(crate) fn parse_list(property: &str, value: &str) -> Result<Vec<KeyColumns>, ConfigError> {
        let mut out = Vec::new();
        for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((table, columns)) = entry.rsplit_once(':') else {
                return Err(ConfigError::invalid(
                    property,
                    entry,
                    "expected <database>.<table>:<column>[,<column>...] entries separated by ';'",
                ));
            };
            let columns: Vec<String> =
                columns.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
            if table.trim().is_empty() || columns.is_empty() {
                return Err(ConfigError::invalid(property, entry, "each entry needs a table and at least one column"));
            }
            let tables = RegexList::parse(property, &table.trim().replace(',', "\\,"))?;
            out.push(KeyColumns { tables, columns });
        }
        Ok(out)
    }
}
