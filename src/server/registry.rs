//! Prepared statements and portals, with PostgreSQL's lifetimes, and the application's data
//! attached to each.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::message::{Bind, FieldDescription, Format, PgStr};
use crate::types::oid;

/// A result column, as the application describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type OID.
    pub type_oid: u32,
    /// `typlen` (-1 variable).
    pub type_size: i16,
    /// Type modifier (-1 none).
    pub type_modifier: i32,
    /// Source table OID (0 none).
    pub table_oid: u32,
    /// Source column number (0 none).
    pub column_id: i16,
}

impl Column {
    /// A column of a built-in type, not from a table.
    pub fn new(name: impl Into<String>, type_oid: u32) -> Column {
        Column {
            name: name.into(),
            type_oid,
            type_size: oid::lookup(type_oid).map_or(-1, |t| t.size),
            type_modifier: -1,
            table_oid: 0,
            column_id: 0,
        }
    }

    pub(crate) fn field(&self, format: i16) -> FieldDescription<'_> {
        FieldDescription {
            name: self.name.as_bytes(),
            table_oid: self.table_oid,
            column_id: self.column_id,
            type_oid: self.type_oid,
            type_size: self.type_size,
            type_modifier: self.type_modifier,
            format,
        }
    }
}

/// A prepared statement.
#[derive(Debug)]
pub struct Statement<S> {
    /// The query text.
    pub query: PgStr,
    /// Parameter types, one per parameter.
    pub param_types: Vec<u32>,
    /// Result columns, `None` when the statement returns no rows.
    pub columns: Option<Vec<Column>>,
    /// The application's data.
    pub data: S,
}

/// A portal: a statement bound to parameter values.
#[derive(Debug)]
pub struct Portal<P> {
    /// The name of the statement it was bound to (the statement itself stays available through
    /// [`Connection::portal_statement`](super::Connection::portal_statement) even after it is
    /// closed or, for the unnamed statement, replaced).
    pub statement: PgStr,
    /// The Bind message: parameter values and formats, kept as received.
    pub bind: Bind,
    /// The format code of each result column as the client asked (codes other than 0 and 1
    /// fail at Execute, as in PostgreSQL).
    pub formats: Vec<i16>,
    /// The application's data (for example a cursor kept between Executes).
    pub data: Option<P>,
    pub(crate) statement_id: u64,
}

impl<P> Portal<P> {
    /// The format the client asked for column `i`.
    pub fn column_format(&self, i: usize) -> Format {
        self.formats
            .get(i)
            .and_then(|&c| Format::from_code(c))
            .unwrap_or(Format::Text)
    }
}

/// Statements and portals of one session. A statement lives while its name or any portal
/// refers to it.
#[derive(Debug)]
/// Hashes the statement ids this registry hands out (sequential, never chosen by a client), so
/// they need no keyed hash: one multiplication spreads them over the table.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Statements<S> = HashMap<u64, (Statement<S>, usize), BuildHasherDefault<IdHasher>>;

pub(crate) struct Registry<S, P> {
    names: HashMap<PgStr, u64>,
    statements: Statements<S>,
    next_id: u64,
    pub(crate) portals: HashMap<PgStr, Portal<P>>,
    /// The format list of a dropped portal, kept for the next Bind (a Bind/Execute/Sync loop
    /// then allocates nothing per query).
    pub(crate) spare_formats: Vec<i16>,
}

impl<S, P> Default for Registry<S, P> {
    fn default() -> Registry<S, P> {
        Registry {
            names: HashMap::new(),
            statements: Statements::default(),
            next_id: 0,
            spare_formats: Vec::new(),
            portals: HashMap::new(),
        }
    }
}

impl<S, P> Registry<S, P> {
    /// How many statements have names.
    pub(crate) fn statement_count(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn has_statement(&self, name: &[u8]) -> bool {
        self.names.contains_key(name)
    }

    pub(crate) fn statement(&self, name: &[u8]) -> Option<&Statement<S>> {
        self.names
            .get(name)
            .and_then(|id| self.statements.get(id))
            .map(|(s, _)| s)
    }

    pub(crate) fn statement_id(&self, name: &[u8]) -> Option<u64> {
        self.names.get(name).copied()
    }

    pub(crate) fn by_id(&self, id: u64) -> Option<&Statement<S>> {
        self.statements.get(&id).map(|(s, _)| s)
    }

    /// Names a new statement (replacing, for the unnamed one, the previous).
    pub(crate) fn insert_statement(&mut self, name: PgStr, statement: Statement<S>) {
        self.remove_statement(name.as_bytes());
        let id = self.next_id;
        self.next_id += 1;
        self.statements.insert(id, (statement, 1));
        self.names.insert(name, id);
    }

    /// Drops a statement's name; the statement itself lives on while portals use it.
    pub(crate) fn remove_statement(&mut self, name: &[u8]) {
        if let Some(id) = self.names.remove(name) {
            self.release(id);
        }
    }

    pub(crate) fn insert_portal(&mut self, name: PgStr, portal: Portal<P>) {
        self.remove_portal(name.as_bytes());
        if let Some(entry) = self.statements.get_mut(&portal.statement_id) {
            entry.1 += 1;
        }
        self.portals.insert(name, portal);
    }

    pub(crate) fn remove_portal(&mut self, name: &[u8]) {
        if let Some(p) = self.take_portal(name)
            && p.formats.capacity() > self.spare_formats.capacity()
        {
            self.spare_formats = p.formats;
        }
    }

    /// Removes a portal and returns it (its statement released).
    pub(crate) fn take_portal(&mut self, name: &[u8]) -> Option<Portal<P>> {
        let p = self.portals.remove(name)?;
        self.release(p.statement_id);
        Some(p)
    }

    /// A format list for a new portal: the spare one, emptied.
    pub(crate) fn formats_vec(&mut self) -> Vec<i16> {
        let mut v = std::mem::take(&mut self.spare_formats);
        v.clear();
        v
    }

    /// Drops every portal (the end of a transaction).
    pub(crate) fn clear_portals(&mut self) {
        for (_, p) in self.portals.drain() {
            release(&mut self.statements, p.statement_id);
            if p.formats.capacity() > self.spare_formats.capacity() {
                self.spare_formats = p.formats;
            }
        }
    }

    fn release(&mut self, id: u64) {
        release(&mut self.statements, id);
    }
}

fn release<S>(statements: &mut Statements<S>, id: u64) {
    if let Some(entry) = statements.get_mut(&id) {
        entry.1 -= 1;
        if entry.1 == 0 {
            statements.remove(&id);
        }
    }
}
