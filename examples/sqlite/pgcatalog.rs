//! The slice of PostgreSQL's catalog that psql's `\dt`, `\d` and `\d TABLE` read, answered
//! from SQLite's schema (`sqlite_master` and the `table_info`, `index_list`, `index_info` and
//! `foreign_key_list` pragmas). psql's queries are recognised by the catalog tables and columns
//! they name; any other query on `pg_catalog` or `information_schema` gets a clean 0A000 error.
//!
//! Tables get OIDs of their own: 16384 plus their rowid in `sqlite_master`.

use pgproto::SqlState;
use pgproto::server::PgError;
use pgproto::types::oid;
use rusqlite::Connection;

use crate::values::{type_from_decl, type_name};

/// A catalog query's result: columns (name, type) and text rows.
#[derive(Debug)]
pub struct Answer {
    pub columns: Vec<(&'static str, u32)>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// The first OID given to tables.
const FIRST_OID: i64 = 16384;

/// Whether `sql` reads the PostgreSQL catalog (and so is answered here, not by SQLite).
pub fn is_catalog(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.contains("pg_catalog.")
        || lower.contains("information_schema.")
        || lower.contains("pg_class")
}

/// Answers a catalog query, or refuses it with 0A000.
pub fn answer(db: &Connection, sql: &str, user: &str) -> Result<Answer, PgError> {
    let q: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |s: &str| q.contains(s);
    let text = |names: &[&'static str]| names.iter().map(|n| (*n, oid::TEXT)).collect::<Vec<_>>();
    let empty = |names: &[&'static str]| {
        Ok(Answer {
            columns: text(names),
            rows: vec![],
        })
    };
    let relation = relation_oid(&q);

    if has("pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\"")
        && has("FROM pg_catalog.pg_class c")
    {
        // \dt, \d, \dv: the list of relations.
        let kinds = relkinds(&q);
        let pattern = name_pattern(&q);
        let mut rows = Vec::new();
        for (_, name, kind) in relations(db)? {
            let (code, label) = if kind == "view" {
                ("v", "view")
            } else {
                ("r", "table")
            };
            if kinds.iter().any(|k| k == code)
                && pattern.as_ref().is_none_or(|p| matches_pattern(p, &name))
            {
                rows.push(vec![
                    Some("public".into()),
                    Some(name),
                    Some(label.into()),
                    Some(user.into()),
                ]);
            }
        }
        return Ok(Answer {
            columns: text(&["Schema", "Name", "Type", "Owner"]),
            rows,
        });
    }
    if has("SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c") {
        // \d NAME: which relations the name means.
        let pattern = name_pattern(&q);
        let rows = relations(db)?
            .into_iter()
            .filter(|(_, name, _)| pattern.as_ref().is_none_or(|p| matches_pattern(p, name)))
            .map(|(oid, name, _)| vec![Some(oid.to_string()), Some("public".into()), Some(name)])
            .collect();
        return Ok(Answer {
            columns: vec![
                ("oid", oid::OID),
                ("nspname", oid::NAME),
                ("relname", oid::NAME),
            ],
            rows,
        });
    }
    if has("SELECT c.relchecks, c.relkind, c.relhasindex") {
        let table = table_by_oid(db, relation)?;
        let mut rows = Vec::new();
        if let Some((name, kind)) = table {
            let has_index = !indexes(db, &name)?.is_empty();
            // psql looks for foreign keys only when the table "has triggers", as in PostgreSQL.
            let has_fks = !foreign_keys(db, &name)?.is_empty() || referenced(db, &name)?;
            let kind = if kind == "view" { "v" } else { "r" };
            let flag = |v: bool| if v { "t" } else { "f" };
            let row = [
                "0",
                kind,
                flag(has_index),
                "f",
                flag(has_fks),
                "f",
                "f",
                "f",
                "f",
                "",
                "0",
                "",
                "p",
                "d",
                "heap",
            ];
            rows.push(row.iter().map(|v| Some(v.to_string())).collect());
        }
        let names = [
            "relchecks",
            "relkind",
            "relhasindex",
            "relhasrules",
            "relhastriggers",
            "relrowsecurity",
            "relforcerowsecurity",
            "relhasoids",
            "relispartition",
            "?column?",
            "reltablespace",
            "reloftype",
            "relpersistence",
            "relreplident",
            "amname",
        ];
        return Ok(Answer {
            columns: text(&names),
            rows,
        });
    }
    if has("FROM pg_catalog.pg_attribute a") && has("a.attnum > 0") {
        let mut rows = Vec::new();
        if let Some((table, _)) = table_by_oid(db, relation)? {
            for c in table_info(db, &table)? {
                let not_null = c.not_null || c.pk;
                rows.push(vec![
                    Some(c.name),
                    Some(type_name(type_from_decl(c.decl.as_deref())).to_string()),
                    c.default,
                    Some(if not_null { "t" } else { "f" }.into()),
                    None,
                    Some(String::new()),
                    Some(String::new()),
                ]);
            }
        }
        let names = [
            "attname",
            "format_type",
            "pg_get_expr",
            "attnotnull",
            "attcollation",
            "attidentity",
            "attgenerated",
        ];
        return Ok(Answer {
            columns: text(&names),
            rows,
        });
    }
    if has("FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i") {
        let mut rows = Vec::new();
        if let Some((table, _)) = table_by_oid(db, relation)? {
            for ix in indexes(db, &table)? {
                let using = format!("btree ({})", ix.columns.join(", "));
                let unique = if ix.unique { "UNIQUE " } else { "" };
                let def = format!(
                    "CREATE {unique}INDEX {} ON public.{table} USING {using}",
                    ix.name
                );
                let (constraint, contype) = match ix.origin.as_str() {
                    "pk" => (
                        Some(format!("PRIMARY KEY ({})", ix.columns.join(", "))),
                        Some("p"),
                    ),
                    "u" => (
                        Some(format!("UNIQUE ({})", ix.columns.join(", "))),
                        Some("u"),
                    ),
                    _ => (None, None),
                };
                let b = |v: bool| Some(if v { "t" } else { "f" }.to_string());
                rows.push(vec![
                    Some(ix.name.clone()),
                    b(ix.origin == "pk"),
                    b(ix.unique),
                    b(false),
                    b(true),
                    Some(def),
                    constraint,
                    contype.map(str::to_string),
                    b(false),
                    b(false),
                    b(false),
                    Some("0".into()),
                ]);
            }
        }
        let names = [
            "relname",
            "indisprimary",
            "indisunique",
            "indisclustered",
            "indisvalid",
            "pg_get_indexdef",
            "pg_get_constraintdef",
            "contype",
            "condeferrable",
            "condeferred",
            "indisreplident",
            "reltablespace",
        ];
        return Ok(Answer {
            columns: text(&names),
            rows,
        });
    }
    if has("FROM pg_catalog.pg_constraint r") && has("r.contype = 'f'") {
        let mut rows = Vec::new();
        if let Some((table, _)) = table_by_oid(db, relation)? {
            for fk in foreign_keys(db, &table)? {
                rows.push(vec![
                    Some("t".into()),
                    Some(fk.name),
                    Some(fk.definition),
                    Some(table.clone()),
                ]);
            }
        }
        return Ok(Answer {
            columns: text(&["sametable", "conname", "condef", "ontable"]),
            rows,
        });
    }
    if has("FROM pg_catalog.pg_constraint c") && has("confrelid IN") {
        let mut rows = Vec::new();
        if let Some((target, _)) = table_by_oid(db, relation)? {
            for (_, other, _) in relations(db)? {
                for fk in foreign_keys(db, &other)? {
                    if fk.target == target {
                        rows.push(vec![
                            Some(fk.name),
                            Some(other.clone()),
                            Some(fk.definition),
                        ]);
                    }
                }
            }
        }
        return Ok(Answer {
            columns: text(&["conname", "ontable", "condef"]),
            rows,
        });
    }
    // The rest of \d TABLE: features SQLite does not have, so empty.
    if has("FROM pg_catalog.pg_policy pol") {
        return empty(&[
            "polname",
            "polpermissive",
            "array_to_string",
            "pg_get_expr",
            "pg_get_expr",
            "cmd",
        ]);
    }
    if has("FROM pg_catalog.pg_statistic_ext") {
        return empty(&[
            "oid",
            "stxrelid",
            "nsp",
            "stxname",
            "columns",
            "ndist_enabled",
            "deps_enabled",
            "mcv_enabled",
            "stxstattarget",
        ]);
    }
    if has("FROM pg_catalog.pg_publication p") {
        return empty(&["pubname", "?column?", "?column?"]);
    }
    if has("FROM pg_catalog.pg_trigger t") {
        return empty(&[
            "tgname",
            "pg_get_triggerdef",
            "tgenabled",
            "tgisinternal",
            "parent",
        ]);
    }
    if has("FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i") {
        if has("c.oid = i.inhparent AND i.inhrelid") {
            return empty(&["oid"]);
        }
        return empty(&["oid", "relkind", "inhdetachpending", "pg_get_expr"]);
    }
    Err(PgError::new(
        SqlState::FEATURE_NOT_SUPPORTED,
        "this catalog query is not supported by the SQLite server",
    )
    .hint("psql's \\dt, \\d and \\d TABLE are supported"))
}

/// The relation OID psql quotes in its query (`c.oid = '16385'`,
/// `pg_partition_ancestors('16385')`): the first quoted number.
fn relation_oid(q: &str) -> Option<i64> {
    q.split('\'')
        .skip(1)
        .step_by(2)
        .find_map(|lit| lit.parse().ok())
}

/// The relkinds of `c.relkind IN ('r','p','')`.
fn relkinds(q: &str) -> Vec<String> {
    let Some(at) = q.find("c.relkind IN (") else {
        return vec!["r".into()];
    };
    let rest = &q[at + 14..];
    let end = rest.find(')').unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .map(|k| k.trim().trim_matches('\'').to_string())
        .collect()
}

/// The pattern of `c.relname OPERATOR(pg_catalog.~) '^(items)$'`.
fn name_pattern(q: &str) -> Option<String> {
    let at = q.find("OPERATOR(pg_catalog.~) '")? + 24;
    let end = q[at..].find('\'')? + at;
    Some(q[at..end].to_string())
}

/// psql's patterns are `^(NAME)$` with `.*` for `*` and `.` for `?`.
fn matches_pattern(pattern: &str, name: &str) -> bool {
    let inner = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or(pattern);
    glob(inner.as_bytes(), name.as_bytes())
}

/// Matches with `.*` (any run), `.` (any byte), `\c` (c itself) and case-insensitive bytes, in
/// O(pattern x name) steps: the pattern comes from the client, so no backtracking blow-up.
fn glob(p: &[u8], s: &[u8]) -> bool {
    enum Piece {
        Star,
        Any,
        Byte(u8),
    }
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match (p[i], p.get(i + 1)) {
            (b'.', Some(b'*')) => {
                pieces.push(Piece::Star);
                i += 2;
            }
            (b'.', _) => {
                pieces.push(Piece::Any);
                i += 1;
            }
            (b'\\', Some(&c)) => {
                pieces.push(Piece::Byte(c));
                i += 2;
            }
            (c, _) => {
                pieces.push(Piece::Byte(c));
                i += 1;
            }
        }
    }
    // The classic wildcard walk: remember the last star and where it resumed.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match pieces.get(pi) {
            Some(Piece::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(Piece::Any) => (pi, si) = (pi + 1, si + 1),
            Some(Piece::Byte(c)) if c.eq_ignore_ascii_case(&s[si]) => (pi, si) = (pi + 1, si + 1),
            _ => match star {
                Some((sp, ss)) => {
                    star = Some((sp, ss + 1));
                    (pi, si) = (sp + 1, ss + 1);
                }
                None => return false,
            },
        }
    }
    pieces[pi..].iter().all(|p| matches!(p, Piece::Star))
}

fn sqlite_error(e: rusqlite::Error) -> PgError {
    PgError::new(SqlState::INTERNAL_ERROR, e.to_string())
}

/// Tables and views: OID, name, kind.
fn relations(db: &Connection) -> Result<Vec<(i64, String, String)>, PgError> {
    let mut stmt = db
        .prepare_cached(
            "SELECT rowid, name, type FROM sqlite_master \
             WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((FIRST_OID + r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

fn table_by_oid(db: &Connection, oid: Option<i64>) -> Result<Option<(String, String)>, PgError> {
    let Some(oid) = oid else { return Ok(None) };
    Ok(relations(db)?
        .into_iter()
        .find(|(o, _, _)| *o == oid)
        .map(|(_, n, k)| (n, k)))
}

/// One column of `PRAGMA table_info`.
pub struct ColumnInfo {
    pub name: String,
    pub decl: Option<String>,
    pub not_null: bool,
    pub default: Option<String>,
    pub pk: bool,
}

/// The columns of a table, in order.
pub fn table_info(db: &Connection, table: &str) -> Result<Vec<ColumnInfo>, PgError> {
    let mut stmt = db
        .prepare_cached("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")
        .map_err(sqlite_error)?;
    let rows = stmt
        .query_map([table], |r| {
            let decl: Option<String> = r.get(1)?;
            Ok(ColumnInfo {
                name: r.get(0)?,
                decl: decl.filter(|d| !d.is_empty()),
                not_null: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get::<_, i64>(4)? != 0,
            })
        })
        .map_err(sqlite_error)?;
    rows.collect::<Result<_, _>>().map_err(sqlite_error)
}

struct Index {
    name: String,
    unique: bool,
    /// `c` (CREATE INDEX), `u` (UNIQUE constraint), `pk` (PRIMARY KEY).
    origin: String,
    columns: Vec<String>,
}

/// A table's indexes, including its primary key (an INTEGER PRIMARY KEY is the rowid and has
/// no index in SQLite; it is shown as PostgreSQL would show it).
fn indexes(db: &Connection, table: &str) -> Result<Vec<Index>, PgError> {
    let mut out = Vec::new();
    let mut stmt = db
        .prepare_cached("SELECT name, \"unique\", origin FROM pragma_index_list(?1) ORDER BY name")
        .map_err(sqlite_error)?;
    let list: Vec<(String, bool, String)> = stmt
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?))
        })
        .map_err(sqlite_error)?
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    for (name, unique, origin) in list {
        let mut cols = db
            .prepare_cached("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
            .map_err(sqlite_error)?;
        let columns: Vec<String> = cols
            .query_map([&name], |r| r.get::<_, Option<String>>(0))
            .map_err(sqlite_error)?
            .map(|c| c.map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()
            .map_err(sqlite_error)?;
        let name = match origin.as_str() {
            "pk" => format!("{table}_pkey"),
            "u" => format!("{table}_{}_key", columns.join("_")),
            _ => name,
        };
        out.push(Index {
            name,
            unique,
            origin,
            columns,
        });
    }
    if !out.iter().any(|i| i.origin == "pk") {
        let pk: Vec<String> = table_info(db, table)?
            .into_iter()
            .filter(|c| c.pk)
            .map(|c| c.name)
            .collect();
        if !pk.is_empty() {
            out.push(Index {
                name: format!("{table}_pkey"),
                unique: true,
                origin: "pk".into(),
                columns: pk,
            });
        }
    }
    out.sort_by(|a, b| {
        (b.origin == "pk")
            .cmp(&(a.origin == "pk"))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

/// Whether another table's foreign key references `table`.
fn referenced(db: &Connection, table: &str) -> Result<bool, PgError> {
    for (_, other, _) in relations(db)? {
        if foreign_keys(db, &other)?
            .iter()
            .any(|fk| fk.target == table)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

struct ForeignKey {
    name: String,
    target: String,
    definition: String,
}

fn foreign_keys(db: &Connection, table: &str) -> Result<Vec<ForeignKey>, PgError> {
    let mut stmt = db
        .prepare_cached("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
        .map_err(sqlite_error)?;
    let rows: Vec<(i64, String, String, Option<String>)> = stmt
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(sqlite_error)?
        .collect::<Result<_, _>>()
        .map_err(sqlite_error)?;
    let mut out: Vec<(i64, String, Vec<String>, Vec<String>)> = Vec::new();
    for (id, target, from, to) in rows {
        match out.last_mut() {
            Some(last) if last.0 == id => {
                last.2.push(from);
                last.3.push(to.unwrap_or_default());
            }
            _ => out.push((id, target, vec![from], vec![to.unwrap_or_default()])),
        }
    }
    Ok(out
        .into_iter()
        .map(|(_, target, from, to)| ForeignKey {
            name: format!("{table}_{}_fkey", from.join("_")),
            definition: format!(
                "FOREIGN KEY ({}) REFERENCES {target}({})",
                from.join(", "),
                to.join(", ")
            ),
            target,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn patterns_match_like_psql_regexes_without_blowing_up() {
        assert!(matches_pattern("^(items)$", "items"));
        assert!(matches_pattern("^(it.*)$", "Items"));
        assert!(matches_pattern("^(i.e.s)$", "items"));
        assert!(!matches_pattern("^(items)$", "items2"));
        assert!(matches_pattern("^(a\\.b)$", "a.b"));
        assert!(!matches_pattern("^(a\\.b)$", "axb"));
        // 40 stars against a long name that fails at the end: instant, not 2^40.
        let pattern = format!("^({}z)$", ".*".repeat(40));
        assert!(!matches_pattern(&pattern, &"a".repeat(60)));
        assert!(matches_pattern(&pattern, &format!("{}z", "a".repeat(60))));
    }
}
