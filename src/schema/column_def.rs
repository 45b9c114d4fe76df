//! One column definition of a CREATE/ALTER TABLE, from tokens to a [`Column`].
//!
//! The type (words, `(args)`, `UNSIGNED`/`SIGNED`/`ZEROFILL`, and attributes `BINARY`, `ASCII`,
//! `UNICODE`, `BYTE`, `COMPRESSED[=x]`) is read here and resolved by `types`; `CHARACTER SET`,
//! `CHARSET` and `COLLATE` are taken out here; the remaining column options are parsed by
//! sqlparser's `parse_column_def` on a token copy whose type is replaced by `INT` and whose
//! MariaDB-only words are rewritten (`PERSISTENT` → `STORED`; `INVISIBLE`,
//! `WITH[OUT] SYSTEM VERSIONING` dropped). Errors are short reasons (the caller adds the
//! statement); nothing panics.

use sqlparser::ast::{ColumnOption, Expr, UnaryOperator, Value as SqlValue};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::ddl::{collation_charset, is_word, matching_paren, split_top_level, token_text};
use super::types::{is_type_continuation, resolve, TypeSpec};
use super::Column;

/// The default text after `DEFAULT` when parsing it by hand (ALTER … SET DEFAULT).
pub(crate) fn default_from_tokens(toks: &[Token]) -> Option<String> {
    match toks {
        [] => None,
        [Token::Word(w)] if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => None,
        [Token::Minus, Token::Number(n, _)] => Some(format!("-{n}")),
        [t] => Some(token_text(t)),
        more => Some(more.iter().map(|t| t.to_string()).collect::<Vec<_>>().join("")),
    }
}

/// Reads a column's type from `toks[i..]`; returns the spec and the index after it.
fn type_spec(toks: &[Token], mut i: usize) -> Result<(TypeSpec, usize), String> {
    let mut spec = TypeSpec::default();
    match toks.get(i) {
        Some(Token::Word(w)) => spec.words.push(w.value.to_ascii_uppercase()),
        other => {
            return Err(format!("expected a column type, found {}", other.map(|t| t.to_string()).unwrap_or_default()))
        }
    }
    i += 1;
    while let Some(Token::Word(w)) = toks.get(i) {
        let last = spec.words.last().cloned().unwrap_or_default();
        if w.quote_style.is_none() && is_type_continuation(&last, &w.value.to_ascii_uppercase()) {
            spec.words.push(w.value.to_ascii_uppercase());
            i += 1;
        } else {
            break;
        }
    }
    if toks.get(i) == Some(&Token::LParen) {
        let end = matching_paren(toks, i);
        for part in split_top_level(&toks[i + 1..end.saturating_sub(1).max(i + 1)]) {
            spec.args.push(part.iter().map(token_text).collect::<Vec<_>>().join(""));
        }
        i = end;
    }
    loop {
        let t = toks.get(i);
        if is_word(t, "UNSIGNED") {
            spec.unsigned = true;
        } else if is_word(t, "ZEROFILL") {
            spec.zerofill = true;
            spec.unsigned = true;
        } else if ["SIGNED", "BINARY", "ASCII", "UNICODE", "BYTE"].iter().any(|k| is_word(t, k)) {
        } else if is_word(t, "COMPRESSED") {
            if toks.get(i + 1) == Some(&Token::Eq) {
                i += 2;
            }
        } else {
            break;
        }
        i += 1;
    }
    Ok((spec, i))
}

/// Parses one column definition. Returns the column (position 0; charset as written) and
/// whether it carried an inline `PRIMARY KEY`.
pub(crate) fn column_def(toks: &[Token]) -> Result<(Column, bool), String> {
    let name = match toks.first() {
        Some(Token::Word(w)) => w.value.clone(),
        _ => return Err("expected a column name".into()),
    };
    let (spec, after_type) = type_spec(toks, 1)?;
    let ty = resolve(&spec)?;
    // Rewrite the option tokens for sqlparser, taking charset/collation out.
    let (mut charset, mut collation) = (None, None);
    let mut opts: Vec<Token> = vec![Token::make_word("c", None), Token::make_keyword("INT")];
    let rest = &toks[after_type.min(toks.len())..];
    let mut i = 0;
    while i < rest.len() {
        let t = &rest[i];
        let at = |k: &str, off: usize| is_word(rest.get(i + off), k);
        if at("CHARSET", 0) || (at("CHARACTER", 0) && at("SET", 1)) {
            i += if at("CHARSET", 0) { 1 } else { 2 };
            if rest.get(i) == Some(&Token::Eq) {
                i += 1;
            }
            charset = rest.get(i).map(|t| token_text(t).to_ascii_lowercase());
        } else if at("COLLATE", 0) {
            i += 1;
            if rest.get(i) == Some(&Token::Eq) {
                i += 1;
            }
            collation = rest.get(i).map(token_text);
        } else if at("PERSISTENT", 0) {
            opts.push(Token::make_keyword("STORED"));
        } else if at("INVISIBLE", 0) || at("COMPRESSED", 0) {
        } else if (at("WITH", 0) || at("WITHOUT", 0)) && at("SYSTEM", 1) && at("VERSIONING", 2) {
            i += 2;
        } else {
            opts.push(t.clone());
        }
        i += 1;
    }
    let dialect = MySqlDialect {};
    let mut parser = Parser::new(&dialect).with_tokens(opts);
    let def = parser.parse_column_def().map_err(|e| format!("column {name}: {e}"))?;
    if parser.peek_token().token != Token::EOF {
        return Err(format!("column {name}: unexpected {}", parser.peek_token().token));
    }
    let mut col = Column {
        name,
        position: 0,
        kind: ty.kind,
        type_name: ty.type_name.clone(),
        type_expression: ty.type_name,
        jdbc_type: ty.jdbc_type,
        length: ty.length,
        scale: ty.scale,
        unsigned: ty.unsigned,
        charset: None,
        optional: !ty.serial,
        auto_increment: ty.serial,
        generated: ty.serial,
        comment: None,
        default_expression: None,
        enum_values: ty.enum_values,
    };
    let mut inline_pk = false;
    for o in def.options {
        match o.option {
            ColumnOption::Null => col.optional = true,
            ColumnOption::NotNull => col.optional = false,
            ColumnOption::Default(expr) => col.default_expression = default_text(&expr, rest),
            ColumnOption::PrimaryKey(_) => inline_pk = true,
            ColumnOption::Comment(c) => col.comment = Some(c),
            // Debezium's `generated` means a value the server assigns on insert
            // (AUTO_INCREMENT); `GENERATED ALWAYS AS` columns show `generated: false`.
            ColumnOption::DialectSpecific(toks) if toks.iter().any(|t| is_word(Some(t), "AUTO_INCREMENT")) => {
                col.auto_increment = true;
                col.generated = true;
            }
            _ => {}
        }
    }
    if ty.textual {
        col.charset = charset.or_else(|| collation.map(|c| collation_charset(&c)));
    }
    if inline_pk {
        col.optional = false;
    }
    Ok((col, inline_pk))
}

/// Debezium's `defaultValueExpression`: the literal as written, strings unquoted, NULL → None.
fn default_text(expr: &Expr, rest: &[Token]) -> Option<String> {
    match expr {
        Expr::Value(v) => match &v.value {
            SqlValue::Null => None,
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) | SqlValue::NationalStringLiteral(s) => {
                Some(s.clone())
            }
            SqlValue::Number(n, _) => Some(n.to_string()),
            SqlValue::Boolean(b) => {
                // Keep the spelling used in the statement (`FALSE` in the oracle).
                let pos = rest.iter().position(|t| is_word(Some(t), "DEFAULT"));
                let spelled = pos.and_then(|p| rest.get(p + 1)).and_then(|t| match t {
                    Token::Word(w) if w.value.eq_ignore_ascii_case(if *b { "TRUE" } else { "FALSE" }) => {
                        Some(w.value.clone())
                    }
                    _ => None,
                });
                Some(spelled.unwrap_or_else(|| if *b { "TRUE".into() } else { "FALSE".into() }))
            }
            SqlValue::SingleQuotedByteStringLiteral(s) => Some(format!("b'{s}'")),
            SqlValue::HexStringLiteral(s) => Some(format!("0x{s}")),
            other => Some(other.to_string()),
        },
        Expr::Prefixed { value, .. } => default_text(value, rest),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => default_text(expr, rest).map(|s| format!("-{s}")),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => default_text(expr, rest),
        other => Some(other.to_string()),
    }
}
