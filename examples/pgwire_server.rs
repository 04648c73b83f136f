//! The benchmark partner of examples/tokio.rs: the same two queries answered by a server built
//! on pgwire 0.42 (its handler API on tokio, no authentication, no TLS), so that
//! scripts/bench-e2e.sh can send the same pgbench load to both.
//!
//! ```text
//! cargo run --release --example pgwire_server -- --listen 127.0.0.1:5434
//! psql -h 127.0.0.1 -p 5434 -U postgres -c 'SELECT * FROM bench_rows(3)'
//! ```
//!
//! | SQL | result |
//! |---|---|
//! | `SELECT 1` | one int4 column `?column?` |
//! | `SELECT * FROM bench_rows(n)` | the rows of examples/common/catalog.rs's `bench_rows(n)`, byte for byte in text format |
//!
//! Both work in the simple and the extended protocol (text or binary results). Each value goes
//! through pgwire's typed `DataRowEncoder`, as examples/tokio.rs writes each one typed with
//! `RowWriter::value`; the rows are made as they are sent, and the row schemas of text results
//! are built once.

use std::fmt::Write;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_lite::{StreamExt, stream};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DataRowEncoder, FieldInfo, QueryResponse, Response};
use pgwire::api::stmt::QueryParser;
use pgwire::api::{ClientInfo, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::tokio::process_socket;
use tokio::net::TcpListener;

/// A statement this server knows.
#[derive(Debug, Clone, Copy)]
enum Query {
    /// `SELECT 1`.
    One,
    /// `SELECT * FROM bench_rows(n)`.
    BenchRows(i32),
}

impl Query {
    /// Recognises a statement (one, with an optional `;`), ignoring case and extra spaces.
    fn parse(sql: &str) -> PgWireResult<Query> {
        let words: Vec<&str> = sql
            .trim()
            .trim_end_matches(';')
            .split_whitespace()
            .collect();
        let sql = words.join(" ").to_ascii_lowercase();
        if sql == "select 1" {
            return Ok(Query::One);
        }
        let n = sql
            .strip_prefix("select * from bench_rows(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|n| n.trim().parse().ok());
        match n {
            Some(n) => Ok(Query::BenchRows(n)),
            None => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "ERROR".into(),
                "42601".into(),
                format!("unsupported statement: {sql}"),
            )))),
        }
    }
}

/// The handlers, shared by every connection.
struct Handler {
    /// The all-text row schemas of `SELECT 1` and `bench_rows`, built once.
    one_text: Arc<Vec<FieldInfo>>,
    bench_text: Arc<Vec<FieldInfo>>,
}

/// `bench_rows`' first timestamp, 2024-01-01 00:00:00.123457+00, in microseconds since 1970.
const BENCH_EPOCH_UNIX: i64 = 1_704_067_200_123_457;

impl Handler {
    fn new() -> Handler {
        Handler {
            one_text: Arc::new(Handler::fields(Query::One, &Format::UnifiedText)),
            bench_text: Arc::new(Handler::fields(Query::BenchRows(0), &Format::UnifiedText)),
        }
    }

    /// The result columns of `query` in `formats`, with PostgreSQL's type sizes.
    fn fields(query: Query, formats: &Format) -> Vec<FieldInfo> {
        let columns: &[(&str, Type, i16)] = match query {
            Query::One => &[("?column?", Type::INT4, 4)],
            Query::BenchRows(_) => &[
                ("id", Type::INT4, 4),
                ("big", Type::INT8, 8),
                ("label", Type::TEXT, -1),
                ("ratio", Type::FLOAT8, 8),
                ("even", Type::BOOL, 1),
                ("ts", Type::TIMESTAMPTZ, 8),
            ],
        };
        columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty, size))| {
                let format = formats.format_for(i);
                FieldInfo::new(name.to_string(), None, None, ty.clone(), format)
                    .with_type_size(*size)
            })
            .collect()
    }

    /// The schema for `query` in `formats`: the prebuilt one for text.
    fn schema(&self, query: Query, formats: &Format) -> Arc<Vec<FieldInfo>> {
        match (query, formats) {
            (Query::One, Format::UnifiedText) => self.one_text.clone(),
            (Query::BenchRows(_), Format::UnifiedText) => self.bench_text.clone(),
            _ => Arc::new(Handler::fields(query, formats)),
        }
    }

    /// Runs `query`: its rows, encoded as they are taken.
    fn run(&self, query: Query, schema: Arc<Vec<FieldInfo>>) -> QueryResponse {
        let mut encoder = DataRowEncoder::new(schema.clone());
        match query {
            Query::One => {
                let row = encoder.encode_field(&1i32).map(|()| encoder.take_row());
                QueryResponse::new(schema, stream::once(row))
            }
            Query::BenchRows(n) => {
                let mut label = String::new();
                let rows = stream::iter(1..=n).map(move |g| {
                    bench_row(&mut encoder, &mut label, g)?;
                    Ok(encoder.take_row())
                });
                QueryResponse::new(schema, rows)
            }
        }
    }
}

/// Encodes row `g` of `bench_rows(n)`, each value typed.
fn bench_row(encoder: &mut DataRowEncoder, label: &mut String, g: i32) -> PgWireResult<()> {
    label.clear();
    let _ = write!(label, "row {g}");
    let micros = BENCH_EPOCH_UNIX + i64::from(g) * 1_000_000;
    let ts: DateTime<Utc> = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| PgWireError::ApiError("timestamp out of range".into()))?;
    encoder.encode_field(&g)?;
    encoder.encode_field(&(i64::from(g) * 7))?;
    encoder.encode_field(&label.as_str())?;
    encoder.encode_field(&(f64::from(g) + 0.5))?;
    encoder.encode_field(&(g % 2 == 0))?;
    encoder.encode_field(&ts)
}

#[async_trait]
impl SimpleQueryHandler for Handler {
    async fn do_query<C>(&self, _client: &mut C, sql: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let query = Query::parse(sql)?;
        let schema = self.schema(query, &Format::UnifiedText);
        Ok(vec![Response::Query(self.run(query, schema))])
    }
}

/// Parse: recognises the statement; Describe: its columns.
struct Parser;

#[async_trait]
impl QueryParser for Parser {
    type Statement = Query;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Query>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Query::parse(sql).map(Some)
    }

    fn get_parameter_types(&self, _query: &Query) -> PgWireResult<Vec<Type>> {
        Ok(Vec::new())
    }

    fn get_result_schema(
        &self,
        query: &Query,
        formats: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(Handler::fields(
            *query,
            formats.unwrap_or(&Format::UnifiedText),
        ))
    }
}

#[async_trait]
impl ExtendedQueryHandler for Handler {
    type Statement = Query;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        Arc::new(Parser)
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Query>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        // pgwire's portal takes the rows up to Execute's limit and keeps the rest.
        let query = portal.statement.statement;
        let schema = self.schema(query, &portal.result_column_format);
        Ok(Response::Query(self.run(query, schema)))
    }
}

/// What pgwire asks for per connection: the same handler for both protocols; startup is
/// pgwire's default (no authentication).
struct Handlers(Arc<Handler>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.0.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.0.clone()
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut listen = "127.0.0.1:5434".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(addr)) => listen = addr,
            _ => {
                eprintln!("usage: pgwire_server [--listen ADDR]");
                std::process::exit(2);
            }
        }
    }
    let handlers = Arc::new(Handlers(Arc::new(Handler::new())));
    let listener = TcpListener::bind(&listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let handlers = handlers.clone();
                tokio::spawn(async move { process_socket(socket, None, handlers).await });
            }
            Err(e) => eprintln!("accept: {e}"),
        }
    }
}
