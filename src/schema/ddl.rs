//! MySQL/MariaDB DDL text → [`Statement`]s the catalog can apply.
//!
//! Algorithm: a QUERY event's text is first classified by its leading keyword without
//! tokenizing (`GRANT`, `BEGIN`, `XA`, `FLUSH`, `CREATE USER`, … are [`Statement::Ignored`]
//! cheaply). Anything that may change a table is tokenized with `sqlparser`'s MySQL tokenizer
//! (quoting, backticks, escapes, comments and `/*! … */` are handled there) and split on `;`.
//! The statement skeleton — `CREATE TABLE name (elements) options`, `ALTER TABLE name clause,
//! clause…`, `DROP/RENAME/TRUNCATE TABLE`, `CREATE/ALTER/DROP DATABASE`, `USE` — is read here
//! from the tokens, so MariaDB extensions sqlparser 0.64 rejects (`PARTITION BY`, `WITH SYSTEM
//! VERSIONING`, `ADD COLUMN IF NOT EXISTS`, `ADD (c1 …, c2 …)`, `CONVERT TO CHARACTER SET`,
//! `ENGINE=` clauses, `ALTER ONLINE TABLE`) never reach sqlparser. Each column definition is
//! handled in two halves (`column_def`): the type (words, `(args)`, `UNSIGNED`/`ZEROFILL`,
//! attributes such as `BINARY`/`COMPRESSED`) is read by us and resolved by `types` (so `uuid`,
//! `inet4`, `inet6`, `year(4)` work), and the column options (`NULL`, `DEFAULT`, `AUTO_INCREMENT`, `COMMENT`,
//! `GENERATED … AS`, `CHECK`, `ON UPDATE`, inline `PRIMARY KEY`) are parsed by sqlparser's
//! `parse_column_def` on a copy of the tokens whose type was replaced by `INT` and whose
//! MariaDB-only words (`PERSISTENT`, `INVISIBLE`, `WITH[OUT] SYSTEM VERSIONING`) were rewritten.
//! `CHARACTER SET`/`CHARSET`/`COLLATE` are taken out before that.
//!
//! Invariants: never panics on any input; a statement that names a table and cannot be
//! understood is a [`DdlError`] carrying the statement text (the caller adds binlog file:pos);
//! statements that cannot change a table's columns are `Ignored` even when malformed. Column
//! charsets are reported as written (explicit `CHARACTER SET`, or the charset prefix of an
//! explicit `COLLATE`); the catalog fills in table/database defaults.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::column_def::{column_def, default_from_tokens};
use super::{Column, TableId};

/// A DDL statement that could not be understood.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DdlError {
    /// The text could not be tokenized (unterminated string or quote).
    #[error("cannot tokenize DDL ({reason}): {statement}")]
    Tokenize { statement: String, reason: String },
    /// The statement names a table but its structure could not be parsed.
    #[error("cannot parse DDL for table {table} ({reason}): {statement}")]
    Parse { table: String, statement: String, reason: String },
    /// The statement changes a table the catalog does not know (ALTER, CREATE … LIKE).
    #[error("DDL refers to unknown table {table}: {statement}")]
    UnknownTable { table: String, statement: String },
}

/// Where an added or changed column goes.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnPosition {
    /// At the end (ADD) or where it was (MODIFY/CHANGE).
    Default,
    First,
    After(String),
}

/// One clause of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterOp {
    /// ADD COLUMN; a no-op when the column exists (covers `IF NOT EXISTS`).
    AddColumn {
        column: Column,
        position: ColumnPosition,
    },
    /// MODIFY (old_name == column.name) or CHANGE; a no-op when `old_name` does not exist.
    ChangeColumn {
        old_name: String,
        column: Column,
        position: ColumnPosition,
    },
    /// DROP COLUMN; a no-op when missing (covers `IF EXISTS`).
    DropColumn(String),
    RenameColumn {
        from: String,
        to: String,
    },
    /// ALTER COLUMN c SET DEFAULT x (Some) / DROP DEFAULT (None).
    SetDefault {
        column: String,
        default: Option<String>,
    },
    AddPrimaryKey(Vec<String>),
    /// ADD UNIQUE [KEY|INDEX]: becomes the key of a table without a primary key when all its
    /// columns are NOT NULL (as Debezium's DDL parser does).
    AddUniqueKey(Vec<String>),
    DropPrimaryKey,
    RenameTable(TableId),
    /// `[DEFAULT] CHARACTER SET x` / `COLLATE y`: the table default for new columns.
    DefaultCharset(String),
    /// `CONVERT TO CHARACTER SET x`: table default and every text column.
    ConvertCharset(String),
    Comment(String),
}

/// A parsed CREATE TABLE with a column list.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    pub id: TableId,
    pub if_not_exists: bool,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Explicit table default charset (or the prefix of an explicit COLLATE).
    pub charset: Option<String>,
    pub comment: Option<String>,
}

/// A statement, reduced to what matters for table schemas.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateDatabase {
        name: String,
        if_not_exists: bool,
        charset: Option<String>,
    },
    AlterDatabase {
        name: String,
        charset: Option<String>,
    },
    DropDatabase {
        name: String,
    },
    Use {
        name: String,
    },
    /// `SET character_set_server = x`.
    SetServerCharset(String),
    CreateTable(CreateTable),
    CreateTableLike {
        id: TableId,
        like: TableId,
        if_not_exists: bool,
    },
    AlterTable {
        id: TableId,
        ops: Vec<AlterOp>,
    },
    DropTables {
        ids: Vec<TableId>,
        if_exists: bool,
    },
    RenameTables(Vec<(TableId, TableId)>),
    Truncate(TableId),
    /// `CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX … ON table (…)` (`unique` holds the columns of a
    /// UNIQUE index) or `DROP INDEX … ON table`. Debezium records these as database-level schema
    /// changes; a unique index can give a table without a primary key its key.
    Index {
        id: TableId,
        unique: Option<Vec<String>>,
    },
    /// Cannot change any table's columns (GRANT, SET, BEGIN, triggers, views, indexes, …).
    Ignored,
}

const TOUCHING: &[&str] = &["CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE", "USE", "SET"];

/// Parses the text of one QUERY event (possibly several `;`-separated statements).
/// `default_db` is the event's schema; `USE` inside the text changes it for later statements.
pub fn parse(default_db: &str, sql: &str) -> Result<Vec<Statement>, DdlError> {
    let first = leading_word(sql).to_ascii_uppercase();
    if !TOUCHING.contains(&first.as_str()) {
        return Ok(vec![Statement::Ignored]);
    }
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .map_err(|e| DdlError::Tokenize { statement: sql.to_string(), reason: e.to_string() })?;
    let tokens: Vec<Token> = tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF)).collect();
    let mut db = default_db.to_string();
    let mut out = Vec::new();
    for stmt in tokens.split(|t| *t == Token::SemiColon).filter(|s| !s.is_empty()) {
        let parsed = StatementParser { toks: stmt, pos: 0, db: &db, sql }.statement()?;
        if let Statement::Use { name } = &parsed {
            db = name.clone();
        }
        out.push(parsed);
    }
    Ok(out)
}

/// The first word of `sql`, skipping whitespace and `/* */`, `-- `, `#` comments (not `/*!`).
fn leading_word(sql: &str) -> &str {
    let mut s = sql;
    loop {
        s = s.trim_start();
        if s.starts_with("/*") && !s.starts_with("/*!") {
            match s.find("*/") {
                Some(i) => s = &s[i + 2..],
                None => return "",
            }
        } else if s.starts_with("--") || s.starts_with('#') {
            match s.find('\n') {
                Some(i) => s = &s[i + 1..],
                None => return "",
            }
        } else if let Some(rest) = s.strip_prefix("/*!") {
            // Executable comment: `/*!40101 SET … */`: look inside.
            s = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        } else {
            break;
        }
    }
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The charset a collation belongs to (`utf8mb4_bin` → `utf8mb4`).
pub fn collation_charset(collation: &str) -> String {
    collation.split('_').next().unwrap_or(collation).to_ascii_lowercase()
}

pub(crate) fn is_word(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
}

/// Splits `toks` at commas that are not inside parentheses.
pub(crate) fn split_top_level(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, t) in toks.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

/// Index just past the `)` matching the `(` at `open`, or `toks.len()`.
pub(crate) fn matching_paren(toks: &[Token], open: usize) -> usize {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// Text of a literal token as Debezium shows it (strings unquoted).
pub(crate) fn token_text(t: &Token) -> String {
    match t {
        Token::Word(w) => w.value.clone(),
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) | Token::NationalStringLiteral(s) => s.clone(),
        Token::Number(n, _) => n.clone(),
        other => other.to_string(),
    }
}

struct StatementParser<'a> {
    toks: &'a [Token],
    pos: usize,
    db: &'a str,
    sql: &'a str,
}

impl<'a> StatementParser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }
    fn peek_word(&self, kw: &str) -> bool {
        is_word(self.peek(), kw)
    }
    fn eat(&mut self, kw: &str) -> bool {
        if self.peek_word(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_token(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Some(w.value.clone())
            }
            Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) => {
                self.pos += 1;
                Some(s.clone())
            }
            _ => None,
        }
    }
    /// `[db.]name`, qualified with the current database when unqualified.
    fn table_name(&mut self) -> Option<TableId> {
        let first = self.ident()?;
        if self.eat_token(&Token::Period) {
            let second = self.ident()?;
            Some(TableId::new(first, second))
        } else {
            Some(TableId::new(self.db, first))
        }
    }
    fn err(&self, table: &str, reason: impl Into<String>) -> DdlError {
        DdlError::Parse { table: table.to_string(), statement: self.sql.to_string(), reason: reason.into() }
    }

    fn statement(mut self) -> Result<Statement, DdlError> {
        if self.eat("CREATE") {
            let _ = self.eat("OR") && self.eat("REPLACE");
            if self.eat("TEMPORARY") {
                return Ok(Statement::Ignored);
            }
            if self.eat("TABLE") {
                return self.create_table();
            }
            while self.eat("ONLINE") || self.eat("OFFLINE") {}
            let unique = self.eat("UNIQUE");
            let _ = self.eat("FULLTEXT") || self.eat("SPATIAL");
            if self.eat("INDEX") {
                return Ok(self.index_target().map_or(Statement::Ignored, |(id, open)| {
                    let unique = unique.then(|| key_columns(&self.toks[open..]));
                    Statement::Index { id, unique }
                }));
            }
            if self.eat("DATABASE") || self.eat("SCHEMA") {
                let if_not_exists = self.if_exists_clause(true);
                let Some(name) = self.ident() else { return Ok(Statement::Ignored) };
                let charset = self.charset_options();
                return Ok(Statement::CreateDatabase { name, if_not_exists, charset });
            }
        } else if self.eat("ALTER") {
            while self.eat("ONLINE") || self.eat("IGNORE") {}
            if self.eat("TABLE") {
                return self.alter_table();
            }
            if self.eat("DATABASE") || self.eat("SCHEMA") {
                let named = !["DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "COMMENT", "UPGRADE"]
                    .iter()
                    .any(|k| self.peek_word(k));
                let name = if named { self.ident().unwrap_or_default() } else { self.db.to_string() };
                let charset = self.charset_options();
                return Ok(Statement::AlterDatabase { name, charset });
            }
        } else if self.eat("DROP") {
            if self.eat("TEMPORARY") {
                return Ok(Statement::Ignored);
            }
            if self.eat("TABLE") || self.eat("TABLES") {
                let if_exists = self.if_exists_clause(false);
                let mut ids = Vec::new();
                loop {
                    match self.table_name() {
                        Some(id) => ids.push(id),
                        None => return Err(self.err("?", "expected a table name")),
                    }
                    if !self.eat_token(&Token::Comma) {
                        break;
                    }
                }
                return Ok(Statement::DropTables { ids, if_exists });
            }
            if self.eat("DATABASE") || self.eat("SCHEMA") {
                self.if_exists_clause(false);
                return Ok(self.ident().map(|name| Statement::DropDatabase { name }).unwrap_or(Statement::Ignored));
            }
            while self.eat("ONLINE") || self.eat("OFFLINE") {}
            if self.eat("INDEX") {
                return Ok(self
                    .index_target()
                    .map_or(Statement::Ignored, |(id, _)| Statement::Index { id, unique: None }));
            }
        } else if self.eat("RENAME") {
            if self.eat("TABLE") || self.eat("TABLES") {
                let mut pairs = Vec::new();
                loop {
                    let from = self.table_name();
                    if !self.eat("TO") {
                        return Err(self.err("?", "expected TO in RENAME TABLE"));
                    }
                    match (from, self.table_name()) {
                        (Some(a), Some(b)) => pairs.push((a, b)),
                        _ => return Err(self.err("?", "expected table names in RENAME TABLE")),
                    }
                    if !self.eat_token(&Token::Comma) {
                        break;
                    }
                }
                return Ok(Statement::RenameTables(pairs));
            }
        } else if self.eat("TRUNCATE") {
            self.eat("TABLE");
            return Ok(self.table_name().map(Statement::Truncate).unwrap_or(Statement::Ignored));
        } else if self.eat("USE") {
            return Ok(self.ident().map(|name| Statement::Use { name }).unwrap_or(Statement::Ignored));
        } else if self.eat("SET") {
            while let Some(t) = self.peek() {
                self.pos += 1;
                if is_word(Some(t), "character_set_server") {
                    self.eat_token(&Token::Eq);
                    if let Some(cs) = self.ident() {
                        return Ok(Statement::SetServerCharset(cs.to_ascii_lowercase()));
                    }
                }
            }
        }
        Ok(Statement::Ignored)
    }

    /// After `INDEX`: `[IF [NOT] EXISTS] name [USING type] ON table`; the table and the index of
    /// the token after it (the column list of CREATE INDEX).
    fn index_target(&mut self) -> Option<(TableId, usize)> {
        self.if_exists_clause(true);
        self.if_exists_clause(false);
        while !self.peek_word("ON") {
            self.peek()?;
            self.pos += 1;
        }
        self.pos += 1;
        let id = self.table_name()?;
        Some((id, self.pos))
    }

    /// `IF [NOT] EXISTS`; returns whether it was present.
    fn if_exists_clause(&mut self, not: bool) -> bool {
        let save = self.pos;
        if self.eat("IF") && (!not || self.eat("NOT")) && self.eat("EXISTS") {
            return true;
        }
        self.pos = save;
        false
    }

    /// Scans table/database options for a charset (`[DEFAULT] CHARACTER SET|CHARSET [=] x`, or
    /// `COLLATE [=] y` when no charset is given). Stops at `PARTITION`, `AS`, `SELECT`.
    fn charset_options(&mut self) -> Option<String> {
        let (mut charset, mut collation) = (None, None);
        while let Some(t) = self.peek() {
            if ["PARTITION", "AS", "SELECT", "IGNORE", "REPLACE"].iter().any(|k| is_word(Some(t), k)) {
                break;
            }
            if self.eat("CHARSET") || (self.peek_word("CHARACTER") && is_word(self.toks.get(self.pos + 1), "SET")) {
                if self.peek_word("CHARACTER") {
                    self.pos += 2;
                }
                self.eat_token(&Token::Eq);
                charset = self.ident().map(|s| s.to_ascii_lowercase());
            } else if self.eat("COLLATE") {
                self.eat_token(&Token::Eq);
                collation = self.ident();
            } else {
                self.pos += 1;
            }
        }
        charset.or_else(|| collation.map(|c| collation_charset(&c)))
    }

    /// Table COMMENT [=] 'x' in an option list (scanned separately from the charset).
    fn table_comment(toks: &[Token]) -> Option<String> {
        let mut i = 0;
        while i < toks.len() {
            if is_word(toks.get(i), "PARTITION") {
                break;
            }
            if is_word(toks.get(i), "COMMENT") {
                let j = if toks.get(i + 1) == Some(&Token::Eq) { i + 2 } else { i + 1 };
                if let Some(Token::SingleQuotedString(s)) | Some(Token::DoubleQuotedString(s)) = toks.get(j) {
                    return Some(s.clone());
                }
            }
            i += 1;
        }
        None
    }

    fn create_table(mut self) -> Result<Statement, DdlError> {
        let if_not_exists = self.if_exists_clause(true);
        let Some(id) = self.table_name() else { return Err(self.err("?", "expected a table name")) };
        let name = id.to_string();
        if self.eat("LIKE") {
            let like = self.table_name().ok_or_else(|| self.err(&name, "expected a table after LIKE"))?;
            return Ok(Statement::CreateTableLike { id, like, if_not_exists });
        }
        if self.peek() != Some(&Token::LParen) {
            return Err(self.err(&name, "CREATE TABLE without a column list (… SELECT) is not supported"));
        }
        let end = matching_paren(self.toks, self.pos);
        let body = &self.toks[self.pos + 1..end.saturating_sub(1).max(self.pos + 1)];
        if is_word(body.first(), "LIKE") {
            let mut inner = StatementParser { toks: body, pos: 1, db: self.db, sql: self.sql };
            let like = inner.table_name().ok_or_else(|| self.err(&name, "expected a table after LIKE"))?;
            return Ok(Statement::CreateTableLike { id, like, if_not_exists });
        }
        let mut columns = Vec::new();
        let mut primary_key = Vec::new();
        let mut unique_keys = Vec::new();
        for element in split_top_level(body) {
            match element_kind(element) {
                Element::PrimaryKey => primary_key = key_columns(element),
                Element::UniqueKey => unique_keys.push(key_columns(element)),
                Element::Other => {}
                Element::Column => {
                    let (col, inline_pk) = column_def(element).map_err(|r| self.err(&name, r))?;
                    if inline_pk {
                        primary_key = vec![col.name.clone()];
                    }
                    columns.push(col);
                }
            }
        }
        if columns.is_empty() {
            return Err(self.err(&name, "no columns"));
        }
        self.pos = end;
        let comment = Self::table_comment(&self.toks[self.pos..]);
        let charset = self.charset_options();
        mark_pk_not_null(&mut columns, &primary_key);
        if primary_key.is_empty() {
            if let Some(uk) = unique_keys.into_iter().find(|uk| unique_key_usable(&columns, uk)) {
                primary_key = uk;
            }
        }
        Ok(Statement::CreateTable(CreateTable { id, if_not_exists, columns, primary_key, charset, comment }))
    }

    fn alter_table(mut self) -> Result<Statement, DdlError> {
        self.if_exists_clause(false);
        let Some(id) = self.table_name() else { return Ok(Statement::Ignored) };
        let name = id.to_string();
        if self.eat("WAIT") {
            self.pos += 1;
        }
        self.eat("NOWAIT");
        let mut ops = Vec::new();
        for clause in split_top_level(&self.toks[self.pos..]) {
            alter_clause(clause, self.db, &mut ops).map_err(|r| self.err(&name, r))?;
        }
        Ok(Statement::AlterTable { id, ops })
    }
}

/// Whether a unique index can stand in for a missing primary key: Debezium's rule — every
/// column of the index exists and is NOT NULL (a nullable unique index gives no key).
pub(crate) fn unique_key_usable(columns: &[Column], key: &[String]) -> bool {
    !key.is_empty() && key.iter().all(|k| columns.iter().any(|c| c.name.eq_ignore_ascii_case(k) && !c.optional))
}

/// Columns of a primary key become NOT NULL.
pub(crate) fn mark_pk_not_null(columns: &mut [Column], pk: &[String]) {
    for c in columns.iter_mut() {
        if pk.iter().any(|k| k.eq_ignore_ascii_case(&c.name)) {
            c.optional = false;
        }
    }
}

enum Element {
    Column,
    PrimaryKey,
    UniqueKey,
    Other,
}

/// What a CREATE TABLE element (or an ADD clause's body) is, by its leading keywords.
fn element_kind(toks: &[Token]) -> Element {
    if is_word(toks.first(), "CONSTRAINT") {
        let mut i = 1;
        if !is_word(toks.get(1), "PRIMARY")
            && !is_word(toks.get(1), "UNIQUE")
            && !is_word(toks.get(1), "FOREIGN")
            && !is_word(toks.get(1), "CHECK")
        {
            i = 2; // named constraint
        }
        return if is_word(toks.get(i), "PRIMARY") {
            Element::PrimaryKey
        } else if is_word(toks.get(i), "UNIQUE") {
            Element::UniqueKey
        } else {
            Element::Other
        };
    }
    if is_word(toks.first(), "PRIMARY") {
        return Element::PrimaryKey;
    }
    if is_word(toks.first(), "UNIQUE") {
        return Element::UniqueKey;
    }
    const OTHER: &[&str] =
        &["KEY", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "FOREIGN", "CHECK", "PERIOD", "SYSTEM", "PARTITION"];
    if OTHER.iter().any(|k| is_word(toks.first(), k)) {
        Element::Other
    } else {
        Element::Column
    }
}

/// Column names of `PRIMARY KEY [type] (a, b(10) DESC, …)`.
fn key_columns(toks: &[Token]) -> Vec<String> {
    let Some(open) = toks.iter().position(|t| *t == Token::LParen) else { return Vec::new() };
    let end = matching_paren(toks, open);
    let inner = &toks[open + 1..end.saturating_sub(1).max(open + 1)];
    split_top_level(inner)
        .into_iter()
        .filter_map(|part| match part.first() {
            Some(Token::Word(w)) => Some(w.value.clone()),
            _ => None,
        })
        .collect()
}

/// One ALTER TABLE clause → zero or more ops.
fn alter_clause(toks: &[Token], db: &str, ops: &mut Vec<AlterOp>) -> Result<(), String> {
    let w = |i: usize, k: &str| is_word(toks.get(i), k);
    let word_at = |i: usize| match toks.get(i) {
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => None,
    };
    let skip_if_exists = |mut i: usize, not: bool| {
        if w(i, "IF") && (!not || w(i + 1, "NOT")) && w(i + if not { 2 } else { 1 }, "EXISTS") {
            i += if not { 3 } else { 2 };
        }
        i
    };
    if w(0, "ADD") {
        let has_column = w(1, "COLUMN");
        let i = skip_if_exists(if has_column { 2 } else { 1 }, true);
        let rest = &toks[i.min(toks.len())..];
        if rest.first() == Some(&Token::LParen) {
            let end = matching_paren(rest, 0);
            for element in split_top_level(&rest[1..end.saturating_sub(1).max(1)]) {
                add_element(element, ColumnPosition::Default, ops)?;
            }
            return Ok(());
        }
        if !has_column && !matches!(element_kind(rest), Element::Column) {
            return add_element(rest, ColumnPosition::Default, ops);
        }
        let (def, position) = split_position(rest);
        return add_element(def, position, ops);
    }
    if w(0, "DROP") {
        if w(1, "PRIMARY") {
            ops.push(AlterOp::DropPrimaryKey);
            return Ok(());
        }
        const OTHER: &[&str] = &["INDEX", "KEY", "FOREIGN", "CONSTRAINT", "CHECK", "PARTITION", "SYSTEM", "PERIOD"];
        if OTHER.iter().any(|k| w(1, k)) {
            return Ok(());
        }
        let i = skip_if_exists(if w(1, "COLUMN") { 2 } else { 1 }, false);
        let name = word_at(i).ok_or("expected a column name after DROP")?;
        ops.push(AlterOp::DropColumn(name));
        return Ok(());
    }
    if w(0, "MODIFY") || w(0, "CHANGE") {
        let change = w(0, "CHANGE");
        let mut i = skip_if_exists(if w(1, "COLUMN") { 2 } else { 1 }, false);
        let old_name = if change {
            i += 1;
            word_at(i - 1).ok_or("expected a column name after CHANGE")?
        } else {
            word_at(i).ok_or("expected a column name after MODIFY")?
        };
        let (def, position) = split_position(&toks[i.min(toks.len())..]);
        let (column, inline_pk) = column_def(def)?;
        if inline_pk {
            ops.push(AlterOp::AddPrimaryKey(vec![column.name.clone()]));
        }
        ops.insert(ops.len() - usize::from(inline_pk), AlterOp::ChangeColumn { old_name, column, position });
        return Ok(());
    }
    if w(0, "RENAME") {
        if w(1, "COLUMN") {
            let (from, to) = (word_at(2).ok_or("expected a column name")?, word_at(4).ok_or("expected a column name")?);
            ops.push(AlterOp::RenameColumn { from, to });
        } else if !(w(1, "INDEX") || w(1, "KEY")) {
            let i = if w(1, "TO") || w(1, "AS") { 2 } else { 1 };
            let first = word_at(i).ok_or("expected a table name after RENAME")?;
            let id = if toks.get(i + 1) == Some(&Token::Period) {
                TableId::new(first, word_at(i + 2).ok_or("expected a table name")?)
            } else {
                TableId::new(db, first)
            };
            ops.push(AlterOp::RenameTable(id));
        }
        return Ok(());
    }
    if w(0, "ALTER") && !(w(1, "INDEX") || w(1, "CONSTRAINT") || w(1, "CHECK")) {
        let i = if w(1, "COLUMN") { 2 } else { 1 };
        let column = word_at(i).ok_or("expected a column name after ALTER")?;
        if w(i + 1, "SET") && w(i + 2, "DEFAULT") {
            let default = default_from_tokens(&toks[i + 3..]);
            ops.push(AlterOp::SetDefault { column, default });
        } else if w(i + 1, "DROP") && w(i + 2, "DEFAULT") {
            ops.push(AlterOp::SetDefault { column, default: None });
        }
        return Ok(());
    }
    if w(0, "CONVERT") {
        let mut p = StatementParser { toks, pos: 2, db, sql: "" };
        if let Some(cs) = p.charset_options() {
            ops.push(AlterOp::ConvertCharset(cs));
        }
        return Ok(());
    }
    if w(0, "DEFAULT") || w(0, "CHARACTER") || w(0, "CHARSET") || w(0, "COLLATE") {
        let mut p = StatementParser { toks, pos: 0, db, sql: "" };
        if let Some(cs) = p.charset_options() {
            ops.push(AlterOp::DefaultCharset(cs));
        }
        return Ok(());
    }
    if w(0, "COMMENT") {
        if let Some(c) = StatementParser::table_comment(toks) {
            ops.push(AlterOp::Comment(c));
        }
    }
    // ENGINE, AUTO_INCREMENT, ALGORITHM, LOCK, FORCE, ORDER BY, partitioning, …: no column change.
    Ok(())
}

/// Adds an ADD element (a column, a primary key, or an ignored index/constraint).
fn add_element(toks: &[Token], position: ColumnPosition, ops: &mut Vec<AlterOp>) -> Result<(), String> {
    match element_kind(toks) {
        Element::PrimaryKey => ops.push(AlterOp::AddPrimaryKey(key_columns(toks))),
        Element::UniqueKey => ops.push(AlterOp::AddUniqueKey(key_columns(toks))),
        Element::Other => {}
        Element::Column => {
            let (column, inline_pk) = column_def(toks)?;
            let name = column.name.clone();
            ops.push(AlterOp::AddColumn { column, position });
            if inline_pk {
                ops.push(AlterOp::AddPrimaryKey(vec![name]));
            }
        }
    }
    Ok(())
}

/// Splits a trailing `FIRST` / `AFTER col` off a column definition.
fn split_position(toks: &[Token]) -> (&[Token], ColumnPosition) {
    let n = toks.len();
    if n >= 2 && is_word(toks.get(n - 1), "FIRST") {
        return (&toks[..n - 1], ColumnPosition::First);
    }
    if n >= 3 && is_word(toks.get(n - 2), "AFTER") {
        if let Some(Token::Word(w)) = toks.get(n - 1) {
            return (&toks[..n - 2], ColumnPosition::After(w.value.clone()));
        }
    }
    (toks, ColumnPosition::Default)
}
