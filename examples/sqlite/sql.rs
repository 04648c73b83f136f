//! Just enough SQL to put PostgreSQL's dialect in front of SQLite: a tokenizer, the split of a
//! simple query into statements, the rewrite of `$n` parameters and `::type` casts, the command
//! tag of a statement, and the inference of parameter types from the columns they meet.

use std::collections::HashMap;

use pgproto::types::oid;

use crate::values::{type_from_decl, type_from_name};

/// One token, with where it is in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An unquoted word: keyword or identifier (as written).
    Word(String),
    /// A double-quoted identifier (unescaped).
    Quoted(String),
    /// A string literal (with its quotes).
    Str,
    /// A number (as written).
    Num(String),
    /// `$n`.
    Param(usize),
    /// An operator or punctuation: `(`, `)`, `,`, `;`, `.`, `::`, `=`, `<=`, ...
    Op(String),
}

impl Token {
    /// The word, lowercased, if this is an unquoted word.
    pub fn word(&self) -> Option<String> {
        match &self.kind {
            Kind::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    /// An identifier: a word or a quoted identifier (words lowercased, as PostgreSQL folds).
    pub fn ident(&self) -> Option<String> {
        match &self.kind {
            Kind::Word(w) => Some(w.to_ascii_lowercase()),
            Kind::Quoted(q) => Some(q.clone()),
            _ => None,
        }
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(&self.kind, Kind::Op(o) if o == op)
    }

    pub fn is_word(&self, word: &str) -> bool {
        matches!(&self.kind, Kind::Word(w) if w.eq_ignore_ascii_case(word))
    }
}

/// Splits `sql` into tokens; comments and whitespace are dropped. An unterminated string or
/// comment runs to the end (SQLite reports the error).
pub fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
            continue;
        } else if c == b'\'' || ((c == b'E' || c == b'e') && b.get(i + 1) == Some(&b'\'')) {
            i += if c == b'\'' { 1 } else { 2 };
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else if c == b'"' {
            i += 1;
            let mut name = String::new();
            while i < b.len() {
                if b[i] == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        name.push('"');
                        i += 2;
                        continue;
                    }
                    break;
                }
                let ch = sql[i..].chars().next().unwrap_or(' ');
                name.push(ch);
                i += ch.len_utf8();
            }
            i = (i + 1).min(b.len());
            Kind::Quoted(name)
        } else if c == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Kind::Param(sql[start + 1..i].parse().unwrap_or(usize::MAX))
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                if (b[i] == b'e' || b[i] == b'E') && matches!(b.get(i + 1), Some(b'+' | b'-')) {
                    i += 1;
                }
                i += 1;
            }
            Kind::Num(sql[start..i].to_string())
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            Kind::Word(sql[start..i].to_string())
        } else {
            const TWO: [&str; 7] = ["::", "<=", ">=", "<>", "!=", "||", "!~"];
            let two = sql.get(i..i + 2).filter(|t| TWO.contains(t));
            i += two.map_or_else(
                || sql[i..].chars().next().map_or(1, char::len_utf8),
                str::len,
            );
            Kind::Op(sql[start..i].to_string())
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Splits a simple query into its statements (text without the `;`), dropping empty ones.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    for t in tokenize(sql) {
        if t.is_op(";") {
            out.push(&sql[from..t.start]);
            from = t.end;
        }
    }
    out.push(&sql[from..]);
    out.into_iter()
        .filter(|s| !tokenize(s).is_empty())
        .collect()
}

/// A statement rewritten for SQLite, with what the rewrite learned.
pub struct Rewritten {
    /// The SQL SQLite runs: `$n` as `?n`, `::type` casts dropped.
    pub sql: String,
    /// Types named by casts on parameters (`$1::int`), by parameter number - 1.
    pub cast_types: HashMap<usize, u32>,
}

/// Rewrites PostgreSQL's parameter and cast syntax into SQLite's.
pub fn rewrite(sql: &str) -> Rewritten {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len());
    let mut cast_types = HashMap::new();
    let mut copied = 0;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.kind {
            Kind::Param(n) => {
                out.push_str(&sql[copied..t.start]);
                out.push_str(&format!("?{n}"));
                copied = t.end;
            }
            Kind::Op(op) if op == "::" => {
                // `::name`, `::pg_catalog.name`, `::double precision`, `::varchar(10)`, `::int[]`
                let mut j = i + 1;
                let mut name = String::new();
                while let Some(w) = tokens.get(j).and_then(Token::word) {
                    if tokens.get(j + 1).is_some_and(|n| n.is_op(".")) {
                        j += 2;
                        continue;
                    }
                    if !name.is_empty() {
                        name.push(' ');
                    }
                    name.push_str(&w);
                    j += 1;
                    let multi =
                        matches!(name.as_str(), "double" | "character" | "timestamp" | "time");
                    if !multi {
                        break;
                    }
                    if !tokens.get(j).and_then(Token::word).is_some_and(|w| {
                        matches!(
                            w.as_str(),
                            "precision" | "varying" | "with" | "without" | "time" | "zone"
                        )
                    }) {
                        break;
                    }
                }
                if tokens.get(j).is_some_and(|t| t.is_op("(")) {
                    while j < tokens.len() && !tokens[j].is_op(")") {
                        j += 1;
                    }
                    j += 1;
                }
                if let (Some(Kind::Param(n)), Some(ty)) = (
                    i.checked_sub(1).map(|p| &tokens[p].kind),
                    type_from_name(&name),
                ) {
                    cast_types.insert(n.saturating_sub(1), ty);
                }
                out.push_str(&sql[copied..t.start]);
                copied = tokens
                    .get(j - 1)
                    .map_or(sql.len(), |last| last.end)
                    .max(t.end);
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    Rewritten {
        sql: checked_division(out),
        cast_types,
    }
}

/// Rewrites `a / b` as `pg_div(a, b)` (a function the server registers), so that division by
/// zero fails with 22012 as in PostgreSQL instead of giving NULL as SQLite does. An operand is
/// a primary (a literal, a name, `t.col`, a parenthesised group, a function call; a unary sign
/// on the right), and the left one extends over `*`, `/` and `%` chains, which bind as
/// tightly. A unary minus on the left stays outside: `-(a / b)` equals `(-a) / b` because
/// integer division truncates towards zero.
fn checked_division(mut sql: String) -> String {
    // One division per pass, leftmost first, so nested and chained divisions come out right.
    for _ in 0..64 {
        let tokens = tokenize(&sql);
        let Some(at) = tokens.iter().position(|t| t.is_op("/")) else {
            return sql;
        };
        let (Some(left), Some(right)) = (left_operand(&tokens, at), right_operand(&tokens, at))
        else {
            return sql;
        };
        let (l, r) = (tokens[left].start, tokens[right].end);
        let a = &sql[l..tokens[at].start];
        let b = &sql[tokens[at].end..r];
        sql = format!(
            "{}pg_div({}, {}){}",
            &sql[..l],
            a.trim(),
            b.trim(),
            &sql[r..]
        );
    }
    sql
}

/// The first token of the primary that ends at token `end` (inclusive).
fn primary_start(tokens: &[Token], end: usize) -> Option<usize> {
    let t = &tokens[end];
    let mut start = if t.is_op(")") {
        let mut depth = 0;
        let mut j = end;
        loop {
            if tokens[j].is_op(")") {
                depth += 1;
            } else if tokens[j].is_op("(") {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            j = j.checked_sub(1)?;
        }
        // A function call: the name before the parenthesis.
        if j > 0 && matches!(tokens[j - 1].kind, Kind::Word(_) | Kind::Quoted(_)) {
            j - 1
        } else {
            j
        }
    } else if matches!(t.kind, Kind::Op(_)) {
        return None;
    } else {
        end
    };
    // `t.col`
    while start >= 2 && tokens[start - 1].is_op(".") {
        start -= 2;
    }
    Some(start)
}

fn left_operand(tokens: &[Token], slash: usize) -> Option<usize> {
    let mut start = primary_start(tokens, slash.checked_sub(1)?)?;
    loop {
        // Extend over `x * ` / `x % ` chains (left-associative, same precedence).
        if start >= 2 && (tokens[start - 1].is_op("*") || tokens[start - 1].is_op("%")) {
            start = primary_start(tokens, start - 2)?;
            continue;
        }
        return Some(start);
    }
}

fn right_operand(tokens: &[Token], slash: usize) -> Option<usize> {
    let mut j = slash + 1;
    while tokens.get(j).is_some_and(|t| t.is_op("-") || t.is_op("+")) {
        j += 1;
    }
    let t = tokens.get(j)?;
    if t.is_op("(")
        || (matches!(t.kind, Kind::Word(_) | Kind::Quoted(_))
            && tokens.get(j + 1).is_some_and(|n| n.is_op("(")))
    {
        let mut k = if t.is_op("(") { j } else { j + 1 };
        let mut depth = 0;
        loop {
            let tk = tokens.get(k)?;
            if tk.is_op("(") {
                depth += 1;
            } else if tk.is_op(")") {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            k += 1;
        }
    }
    if matches!(t.kind, Kind::Op(_)) {
        return None;
    }
    let mut end = j;
    while tokens.get(end + 1).is_some_and(|t| t.is_op(".")) && tokens.get(end + 2).is_some() {
        end += 2;
    }
    Some(end)
}

/// The command tag for a statement that affected or returned `rows` rows.
pub fn command_tag(sql: &str, rows: usize) -> String {
    let tokens = tokenize(sql);
    let words: Vec<String> = tokens.iter().filter_map(Token::word).take(4).collect();
    let verb = match words.first().map(String::as_str) {
        Some("with") => main_verb(&tokens).unwrap_or_else(|| "select".into()),
        Some(w) => w.to_string(),
        None => return String::new(),
    };
    match verb.as_str() {
        "select" | "values" | "table" => format!("SELECT {rows}"),
        "insert" | "replace" => format!("INSERT 0 {rows}"),
        "update" => format!("UPDATE {rows}"),
        "delete" => format!("DELETE {rows}"),
        "create" | "drop" | "alter" => {
            let object = words[1..]
                .iter()
                .find(|w| {
                    !matches!(
                        w.as_str(),
                        "unique" | "temp" | "temporary" | "or" | "replace" | "if"
                    )
                })
                .cloned()
                .unwrap_or_default();
            format!("{} {}", verb.to_uppercase(), object.to_uppercase())
        }
        other => other.to_uppercase(),
    }
}

/// The statement a WITH query ends in: the first INSERT/UPDATE/DELETE/SELECT at depth 0 after
/// the common table expressions.
fn main_verb(tokens: &[Token]) -> Option<String> {
    let mut depth = 0i32;
    for t in tokens.iter().skip(1) {
        if t.is_op("(") {
            depth += 1;
        } else if t.is_op(")") {
            depth -= 1;
        } else if depth == 0
            && let Some(w) = t.word()
            && matches!(
                w.as_str(),
                "select" | "insert" | "update" | "delete" | "values"
            )
        {
            return Some(w);
        }
    }
    None
}

/// Columns of a table: name and declared type.
pub type TableColumns = Vec<(String, Option<String>)>;

const NOT_ALIAS: &[&str] = &[
    "where",
    "set",
    "values",
    "on",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "cross",
    "full",
    "group",
    "order",
    "limit",
    "offset",
    "returning",
    "using",
    "natural",
    "union",
    "default",
    "select",
    "having",
    "window",
    "except",
    "intersect",
    "as",
    "do",
    "for",
];

/// Infers the type of each parameter (`count` of them) from the table columns it is compared
/// with, assigned to or inserted into, from LIMIT/OFFSET, and from casts; 0 where nothing says.
pub fn infer_param_types(
    sql: &str,
    count: usize,
    cast_types: &HashMap<usize, u32>,
    columns_of: &mut dyn FnMut(&str) -> Option<TableColumns>,
) -> Vec<u32> {
    if count == 0 {
        return Vec::new(); // no parameters: no table lookups
    }
    let tokens = tokenize(sql);
    // Tables and their aliases.
    let mut tables: Vec<(String, String, TableColumns)> = Vec::new(); // alias, table, columns
    for (i, t) in tokens.iter().enumerate() {
        let Some(w) = t.word() else { continue };
        if !matches!(w.as_str(), "from" | "join" | "update" | "into") {
            continue;
        }
        let mut j = i + 1;
        let Some(mut name) = tokens.get(j).and_then(Token::ident) else {
            continue;
        };
        while tokens.get(j + 1).is_some_and(|t| t.is_op(".")) {
            match tokens.get(j + 2).and_then(Token::ident) {
                Some(n) => {
                    name = n;
                    j += 2;
                }
                None => break,
            }
        }
        let mut alias = name.clone();
        let mut k = j + 1;
        if tokens.get(k).is_some_and(|t| t.is_word("as")) {
            k += 1;
        }
        if let Some(a) = tokens.get(k).and_then(Token::ident)
            && !NOT_ALIAS.contains(&a.as_str())
        {
            alias = a;
        }
        if let Some(cols) = columns_of(&name) {
            tables.push((alias, name, cols));
        }
    }
    let column_type = |qualifier: Option<&str>, column: &str| -> Option<u32> {
        tables
            .iter()
            .filter(|(alias, table, _)| qualifier.is_none_or(|q| q == alias || q == table))
            .find_map(|(_, _, cols)| cols.iter().find(|(c, _)| c.eq_ignore_ascii_case(column)))
            .map(|(_, decl)| type_from_decl(decl.as_deref()))
    };
    // The column reference that ends at token `end` (inclusive): `col` or `t.col`.
    let column_ending = |end: usize| -> Option<u32> {
        let col = tokens.get(end)?.ident()?;
        let qualifier = (end >= 2 && tokens[end - 1].is_op("."))
            .then(|| tokens[end - 2].ident())
            .flatten();
        column_type(qualifier.as_deref(), &col)
    };
    // The column reference that starts at token `start`.
    let column_starting = |start: usize| -> Option<u32> {
        let first = tokens.get(start)?.ident()?;
        if tokens.get(start + 1).is_some_and(|t| t.is_op(".")) {
            let col = tokens.get(start + 2)?.ident()?;
            column_type(Some(&first), &col)
        } else {
            column_type(None, &first)
        }
    };
    let is_cmp = |t: &Token| match &t.kind {
        Kind::Op(o) => matches!(
            o.as_str(),
            "=" | "<>" | "!=" | "<" | ">" | "<=" | ">=" | "+" | "-" | "*" | "/" | "%"
        ),
        Kind::Word(w) => matches!(
            w.to_ascii_lowercase().as_str(),
            "like" | "ilike" | "glob" | "is"
        ),
        _ => false,
    };
    let insert_columns = insert_target(&tokens, &tables);

    let mut types = vec![0u32; count];
    for (p, t) in tokens.iter().enumerate() {
        let Kind::Param(n) = t.kind else { continue };
        let Some(slot) = n.checked_sub(1).filter(|&i| i < count) else {
            continue;
        };
        if types[slot] != 0 {
            continue;
        }
        let mut ty = None;
        if p >= 1 && is_cmp(&tokens[p - 1]) && p >= 2 {
            ty = column_ending(p - 2);
        }
        if ty.is_none() && tokens.get(p + 1).is_some_and(is_cmp) {
            ty = column_starting(p + 2);
        }
        if ty.is_none()
            && p >= 1
            && tokens[p - 1]
                .word()
                .is_some_and(|w| w == "limit" || w == "offset")
        {
            ty = Some(oid::INT8);
        }
        if ty.is_none() && p >= 2 && tokens[p - 1].is_word("between") {
            ty = column_ending(p - 2);
        }
        if ty.is_none()
            && p >= 4
            && tokens[p - 1].is_word("and")
            && tokens[p - 3].is_word("between")
        {
            ty = column_ending(p - 4);
        }
        if ty.is_none() {
            ty = in_list_column(&tokens, p).and_then(&column_ending);
        }
        if ty.is_none()
            && let Some((values_start, cols)) = &insert_columns
        {
            ty = values_position(&tokens, *values_start, p)
                .and_then(|pos| cols.get(pos))
                .map(|decl| type_from_decl(decl.as_deref()));
        }
        if let Some(ty) = ty {
            types[slot] = ty;
        }
    }
    for (slot, ty) in cast_types {
        if *slot < count {
            types[*slot] = *ty;
        }
    }
    types
}

/// For `col IN ($1, $2, ...)`: the token index of `col`, when `p` is in the list.
fn in_list_column(tokens: &[Token], p: usize) -> Option<usize> {
    let mut j = p;
    loop {
        let prev = tokens.get(j.checked_sub(1)?)?;
        if prev.is_op(",") {
            j = j.checked_sub(2)?;
            if !matches!(
                tokens.get(j)?.kind,
                Kind::Param(_) | Kind::Num(_) | Kind::Str
            ) {
                return None;
            }
        } else if prev.is_op("(") {
            let before = j.checked_sub(2)?;
            return tokens[before]
                .is_word("in")
                .then(|| before.checked_sub(1))
                .flatten();
        } else {
            return None;
        }
    }
}

/// For an INSERT: where its VALUES list starts and the declared types of the columns it fills.
fn insert_target(
    tokens: &[Token],
    tables: &[(String, String, TableColumns)],
) -> Option<(usize, Vec<Option<String>>)> {
    if !tokens.first()?.is_word("insert") && !tokens.first()?.is_word("replace") {
        return None;
    }
    let into = tokens.iter().position(|t| t.is_word("into"))?;
    let mut j = into + 1;
    let mut table = tokens.get(j)?.ident()?;
    while tokens.get(j + 1).is_some_and(|t| t.is_op(".")) {
        table = tokens.get(j + 2)?.ident()?;
        j += 2;
    }
    let (_, _, cols) = tables.iter().find(|(_, t, _)| *t == table)?;
    j += 1;
    let mut named = Vec::new();
    if tokens.get(j).is_some_and(|t| t.is_op("(")) {
        j += 1;
        while let Some(t) = tokens.get(j) {
            if t.is_op(")") {
                break;
            }
            if let Some(name) = t.ident() {
                named.push(name);
            }
            j += 1;
        }
        j += 1;
    }
    if !tokens.get(j)?.is_word("values") {
        return None;
    }
    let decls = if named.is_empty() {
        cols.iter().map(|(_, d)| d.clone()).collect()
    } else {
        named
            .iter()
            .map(|n| {
                cols.iter()
                    .find(|(c, _)| c.eq_ignore_ascii_case(n))
                    .and_then(|(_, d)| d.clone())
            })
            .collect()
    };
    Some((j + 1, decls))
}

/// The position of parameter token `p` within its VALUES row, when it stands alone there.
fn values_position(tokens: &[Token], values_start: usize, p: usize) -> Option<usize> {
    if p <= values_start {
        return None;
    }
    let before = &tokens[p - 1];
    let after = tokens.get(p + 1)?;
    if !(before.is_op("(") || before.is_op(",")) || !(after.is_op(")") || after.is_op(",")) {
        return None;
    }
    // Walk back to the row's opening parenthesis, counting top-level commas.
    let (mut depth, mut commas) = (0i32, 0);
    let mut j = p;
    while j > values_start {
        j -= 1;
        let t = &tokens[j];
        if t.is_op(")") {
            depth += 1;
        } else if t.is_op("(") {
            if depth == 0 {
                return Some(commas);
            }
            depth -= 1;
        } else if t.is_op(",") && depth == 0 {
            commas += 1;
        }
    }
    None
}

/// The PostgreSQL types of a statement's result columns where SQLite has no declared type (an
/// expression): from literals, casts, parameters, operators and well-known functions, as
/// PostgreSQL would type them. `None` for a column this cannot tell (then text), and an empty
/// list when the select list cannot be matched to the columns (a `*`).
pub fn result_types(
    sql: &str,
    param_types: &[u32],
    columns_of: &mut dyn FnMut(&str) -> Option<TableColumns>,
) -> Vec<Option<u32>> {
    let tokens = tokenize(sql);
    let Some((start, end)) = select_list(&tokens) else {
        return Vec::new();
    };
    // Columns of the tables in the statement, for `sum(col)`, `max(t.col)`, `col + 1`.
    let mut known: Vec<(String, Option<String>)> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.word()
            .is_some_and(|w| matches!(w.as_str(), "from" | "join" | "update" | "into"))
            && let Some(name) = tokens.get(i + 1).and_then(Token::ident)
            && let Some(cols) = columns_of(&name)
        {
            known.extend(cols);
        }
    }
    let mut items = Vec::new();
    let (mut depth, mut from) = (0i32, start);
    for j in start..=end {
        let t = tokens.get(j);
        if t.is_some_and(|t| t.is_op("(")) {
            depth += 1;
        } else if t.is_some_and(|t| t.is_op(")")) {
            depth -= 1;
        }
        if j == end || (depth == 0 && t.is_some_and(|t| t.is_op(","))) {
            items.push(&tokens[from..j]);
            from = j + 1;
        }
    }
    if items
        .iter()
        .any(|item| item.last().is_some_and(|t| t.is_op("*")))
    {
        return Vec::new();
    }
    let ctx = Typer {
        params: param_types,
        columns: &known,
    };
    items
        .iter()
        .map(|item| ctx.type_of(strip_alias(item)))
        .collect()
}

/// Where the select list (or RETURNING list) of the statement is: token range.
fn select_list(tokens: &[Token]) -> Option<(usize, usize)> {
    let mut depth = 0i32;
    let mut start = None;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_op("(") {
            depth += 1;
        } else if t.is_op(")") {
            depth -= 1;
        } else if depth == 0 {
            let w = t.word().unwrap_or_default();
            match (start, w.as_str()) {
                (None, "select" | "returning") => {
                    let skip = tokens
                        .get(i + 1)
                        .is_some_and(|t| t.is_word("distinct") || t.is_word("all"));
                    start = Some(i + 1 + usize::from(skip));
                }
                (
                    Some(s),
                    "from" | "where" | "group" | "order" | "limit" | "offset" | "union" | "except"
                    | "intersect" | "having" | "window",
                ) => {
                    return Some((s, i));
                }
                _ => {}
            }
        }
    }
    start.map(|s| (s, tokens.len()))
}

/// An item without its `AS alias` (or bare alias after an expression).
fn strip_alias(item: &[Token]) -> &[Token] {
    let n = item.len();
    if n >= 2 && item[n - 2].is_word("as") {
        return &item[..n - 2];
    }
    if n >= 2
        && item[n - 1].ident().is_some()
        && !item[n - 2].is_op(".")
        && !item[n - 2].is_op("::")
        && item[n - 2].word().is_none_or(|w| {
            !matches!(
                w.as_str(),
                "distinct" | "not" | "is" | "null" | "and" | "or" | "else" | "then" | "end"
            )
        })
        && !item[n - 1].is_word("end")
    {
        return &item[..n - 1];
    }
    item
}

struct Typer<'a> {
    params: &'a [u32],
    columns: &'a [(String, Option<String>)],
}

impl Typer<'_> {
    fn type_of(&self, e: &[Token]) -> Option<u32> {
        if e.is_empty() {
            return None;
        }
        // A trailing cast at depth 0: `expr::type`.
        if let Some(at) = last_top_level(e, |t| t.is_op("::")) {
            let name: Vec<String> = e[at + 1..].iter().filter_map(Token::word).collect();
            let name = name.last().map(|last| {
                let all = name.join(" ");
                if type_from_name(&all).is_some() {
                    all
                } else {
                    last.clone()
                }
            });
            return name.and_then(|n| type_from_name(&n));
        }
        // Comparisons and logic make booleans.
        if last_top_level(e, |t| match &t.kind {
            Kind::Op(o) => matches!(o.as_str(), "=" | "<>" | "!=" | "<" | ">" | "<=" | ">="),
            Kind::Word(w) => matches!(
                w.to_ascii_lowercase().as_str(),
                "and" | "or" | "not" | "is" | "like" | "in" | "between" | "exists"
            ),
            _ => false,
        })
        .is_some()
        {
            return Some(oid::BOOL);
        }
        if last_top_level(e, |t| t.is_op("||")).is_some() {
            return Some(oid::TEXT);
        }
        if let Some(at) = last_top_level(
            e,
            |t| matches!(&t.kind, Kind::Op(o) if matches!(o.as_str(), "+" | "-" | "*" | "/" | "%")),
        ) && at > 0
        {
            let (l, r) = (self.type_of(&e[..at]), self.type_of(&e[at + 1..]));
            return match (l, r) {
                (Some(a), Some(b)) => Some(wider(a, b)),
                (one, other) => one.or(other).filter(|t| is_numeric(*t)),
            };
        }
        if e.len() >= 2 && e[0].is_op("-") {
            return self.type_of(&e[1..]);
        }
        if e[0].is_op("(") && e.last().is_some_and(|t| t.is_op(")")) {
            return self.type_of(&e[1..e.len() - 1]);
        }
        if e[0].is_word("case") {
            let then = e.iter().position(|t| t.is_word("then"))?;
            let stop = e[then + 1..]
                .iter()
                .position(|t| t.is_word("when") || t.is_word("else") || t.is_word("end"))?;
            return self.type_of(&e[then + 1..then + 1 + stop]);
        }
        if e[0].is_word("cast") && e.len() >= 4 {
            let at = last_top_level(&e[2..e.len() - 1], |t| t.is_word("as"))? + 2;
            let name: Vec<String> = e[at + 1..e.len() - 1]
                .iter()
                .filter_map(Token::word)
                .collect();
            return type_from_name(&name.join(" ")).or_else(|| type_from_name(name.last()?));
        }
        if e.len() == 1 {
            return match &e[0].kind {
                Kind::Num(n) => Some(if n.parse::<i32>().is_ok() {
                    oid::INT4
                } else if n.parse::<i64>().is_ok() {
                    oid::INT8
                } else {
                    oid::NUMERIC
                }),
                Kind::Str => Some(oid::TEXT),
                Kind::Param(n) => self
                    .params
                    .get(n.wrapping_sub(1))
                    .copied()
                    .filter(|t| *t != 0),
                Kind::Word(w) => match w.to_ascii_lowercase().as_str() {
                    "true" | "false" => Some(oid::BOOL),
                    "current_timestamp" => Some(oid::TEXT),
                    "current_user" | "session_user" => Some(oid::TEXT),
                    other => self.column(other),
                },
                Kind::Quoted(q) => self.column(q),
                Kind::Op(_) => None,
            };
        }
        if e.len() == 3 && e[1].is_op(".") {
            return self.column(&e[2].ident()?);
        }
        // A function call: `name(args)`.
        if e.len() >= 3 && e[1].is_op("(") && e.last().is_some_and(|t| t.is_op(")")) {
            let args = &e[2..e.len() - 1];
            let first_arg = || {
                let end = first_top_level(args, |t| t.is_op(",")).unwrap_or(args.len());
                self.type_of(&args[..end])
            };
            return match e[0].word()?.as_str() {
                "count" => Some(oid::INT8),
                "sum" => first_arg().map(|t| match t {
                    oid::INT2 | oid::INT4 => oid::INT8,
                    oid::INT8 => oid::NUMERIC,
                    other => other,
                }),
                "avg" => first_arg().map(|t| {
                    if matches!(t, oid::FLOAT4 | oid::FLOAT8) {
                        oid::FLOAT8
                    } else {
                        oid::NUMERIC
                    }
                }),
                "min" | "max" | "abs" | "coalesce" | "ifnull" | "nullif" => first_arg(),
                "length" | "char_length" | "octet_length" | "instr" | "pg_backend_pid" => {
                    Some(oid::INT4)
                }
                "random" => Some(oid::FLOAT8),
                "round" | "trunc" => first_arg().map(|t| {
                    if matches!(t, oid::FLOAT4 | oid::FLOAT8) {
                        oid::FLOAT8
                    } else {
                        oid::NUMERIC
                    }
                }),
                "upper" | "lower" | "substr" | "substring" | "trim" | "replace" | "concat"
                | "version" | "current_database" | "current_schema" | "current_user" | "typeof"
                | "hex" => Some(oid::TEXT),
                _ => None,
            };
        }
        None
    }

    fn column(&self, name: &str) -> Option<u32> {
        self.columns
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(name))
            .map(|(_, decl)| type_from_decl(decl.as_deref()))
    }
}

fn is_numeric(t: u32) -> bool {
    matches!(
        t,
        oid::INT2 | oid::INT4 | oid::INT8 | oid::FLOAT4 | oid::FLOAT8 | oid::NUMERIC
    )
}

/// The type of `a op b` for numeric types, as PostgreSQL resolves it.
fn wider(a: u32, b: u32) -> u32 {
    let rank = |t| match t {
        oid::INT2 => 1,
        oid::INT4 => 2,
        oid::INT8 => 3,
        oid::NUMERIC => 4,
        oid::FLOAT4 => 5,
        oid::FLOAT8 => 6,
        _ => 0,
    };
    if rank(a) == 0 || rank(b) == 0 {
        return if rank(a) == 0 { b } else { a };
    }
    // int2 op int2 is int2 in PostgreSQL, but int4 + int2 is int4.
    if rank(a) >= rank(b) { a } else { b }
}

fn last_top_level(e: &[Token], pred: impl Fn(&Token) -> bool) -> Option<usize> {
    let mut depth = 0i32;
    let mut found = None;
    for (i, t) in e.iter().enumerate() {
        if t.is_op("(") {
            depth += 1;
        } else if t.is_op(")") {
            depth -= 1;
        } else if depth == 0 && pred(t) {
            found = Some(i);
        }
    }
    found
}

fn first_top_level(e: &[Token], pred: impl Fn(&Token) -> bool) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in e.iter().enumerate() {
        if t.is_op("(") {
            depth += 1;
        } else if t.is_op(")") {
            depth -= 1;
        } else if depth == 0 && pred(t) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_params_and_casts() {
        let r = rewrite("SELECT $1::int + 1, '$2', \"a\"\"b\", $2::double precision, x::text");
        assert_eq!(r.sql, "SELECT ?1 + 1, '$2', \"a\"\"b\", ?2, x");
        assert_eq!(r.cast_types.get(&0), Some(&oid::INT4));
        assert_eq!(r.cast_types.get(&1), Some(&oid::FLOAT8));
    }

    #[test]
    fn checks_division() {
        let r = |s: &str| rewrite(s).sql;
        assert_eq!(r("SELECT 1/0"), "SELECT pg_div(1, 0)");
        assert_eq!(r("SELECT a * b / c + 1"), "SELECT pg_div(a * b, c) + 1");
        assert_eq!(r("SELECT a / b / c"), "SELECT pg_div(pg_div(a, b), c)");
        assert_eq!(
            r("SELECT -t.x / (y + 1), f(x) / -2"),
            "SELECT -pg_div(t.x, (y + 1)), pg_div(f(x), -2)"
        );
        assert_eq!(r("SELECT '1/0', x -- a/b"), "SELECT '1/0', x -- a/b");
    }

    #[test]
    fn splits_statements() {
        assert_eq!(
            split_statements("SELECT 1; SELECT ';'; ;"),
            vec!["SELECT 1", " SELECT ';'"]
        );
    }
}
