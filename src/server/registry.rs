//! Prepared statements and portals, with PostgreSQL's lifetimes, and the application's data
//! attached to each.

use std::collections::HashMap;

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
    /// The statement's name.
    pub statement: PgStr,
    /// The Bind message: parameter values and formats, kept as received.
    pub bind: Bind,
    /// Result columns with the formats the client asked for (`None`: no rows).
    pub columns: Option<Vec<(Column, Format)>>,
    /// The application's data (for example a cursor kept between Executes).
    pub data: Option<P>,
}

impl<P> Portal<P> {
    /// The format the client asked for column `i`.
    pub fn column_format(&self, i: usize) -> Format {
        self.columns
            .as_ref()
            .and_then(|c| c.get(i))
            .map_or(Format::Text, |c| c.1)
    }
}

/// Statements and portals of one session.
#[derive(Debug)]
pub(crate) struct Registry<S, P> {
    pub(crate) statements: HashMap<PgStr, Statement<S>>,
    pub(crate) portals: HashMap<PgStr, Portal<P>>,
}

impl<S, P> Default for Registry<S, P> {
    fn default() -> Registry<S, P> {
        Registry {
            statements: HashMap::new(),
            portals: HashMap::new(),
        }
    }
}
