//! Replication slots, shared by every connection: what CREATE_, READ_, ALTER_ and
//! DROP_REPLICATION_SLOT change and START_REPLICATION streams from. Each refusal is the
//! ErrorResponse PostgreSQL 18's walsender gives in the same case.

use std::collections::BTreeMap;

use pgproto::SqlState;
use pgproto::replication::Lsn;
use pgproto::server::PgError;

/// PostgreSQL's default `max_replication_slots`.
pub const MAX_SLOTS: usize = 10;

/// The longest slot name (NAMEDATALEN - 1 bytes); longer names are truncated, with a notice.
pub const MAX_NAME: usize = 63;

/// A SQLSTATE the `SqlState` constants do not name.
pub fn code(text: &str) -> SqlState {
    SqlState::from_bytes(text.as_bytes()).unwrap_or(SqlState::INTERNAL_ERROR)
}

/// What a slot streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Decoded changes of `database`, through `plugin`.
    Logical { plugin: String, database: String },
    /// WAL, kept from `restart` (reserved by RESERVE_WAL; `None` until a standby connects).
    Physical { restart: Option<Lsn> },
}

/// One slot.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Logical or physical.
    pub kind: Kind,
    /// The session that owns a temporary slot (its process id); `None` for a permanent one.
    pub temporary_for: Option<i32>,
    /// The session using it: the one streaming from it, and always the owner of a temporary
    /// slot (as in PostgreSQL, where other sessions see it active for the owner's PID).
    pub active: Option<i32>,
    /// The position the consumer confirmed: a stream from `0/0` starts here.
    pub confirmed: Lsn,
    /// CREATE_/ALTER_REPLICATION_SLOT's TWO_PHASE (kept, not used: the feed prepares nothing).
    pub two_phase: bool,
    /// ALTER_REPLICATION_SLOT's FAILOVER (kept, not used).
    pub failover: bool,
}

/// Every slot, by name.
#[derive(Default)]
pub struct Slots(BTreeMap<String, Slot>);

fn not_found(name: &str) -> PgError {
    PgError::new(
        SqlState::UNDEFINED_OBJECT,
        format!("replication slot \"{name}\" does not exist"),
    )
}

fn in_use(name: &str, pid: i32) -> PgError {
    PgError::new(
        code("55006"),
        format!("replication slot \"{name}\" is active for PID {pid}"),
    )
}

/// Checks a slot name as PostgreSQL does (42602: empty, or a character other than a lower
/// case letter, a digit or `_`).
pub fn validate_name(name: &str) -> Result<(), PgError> {
    if name.is_empty() {
        return Err(PgError::new(
            code("42602"),
            format!("replication slot name \"{name}\" is too short"),
        ));
    }
    if name.len() > MAX_NAME {
        return Err(PgError::new(
            code("42622"),
            format!("replication slot name \"{name}\" is too long"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(PgError::new(
            code("42602"),
            format!("replication slot name \"{name}\" contains invalid character"),
        )
        .hint(
            "Replication slot names may only contain lower case letters, numbers, and the \
             underscore character.",
        ));
    }
    Ok(())
}

impl Slots {
    /// The slot called `name`.
    pub fn get(&self, name: &str) -> Option<&Slot> {
        self.0.get(name)
    }

    /// Adds a slot: 42710 if the name is taken, 53400 when all slots are in use.
    pub fn create(&mut self, name: &str, slot: Slot) -> Result<(), PgError> {
        if self.0.contains_key(name) {
            return Err(PgError::new(
                code("42710"),
                format!("replication slot \"{name}\" already exists"),
            ));
        }
        if self.0.len() >= MAX_SLOTS {
            return Err(
                PgError::new(code("53400"), "all replication slots are in use")
                    .hint("Free one or increase \"max_replication_slots\"."),
            );
        }
        self.0.insert(name.to_string(), slot);
        Ok(())
    }

    /// Removes a slot for session `pid`: 42704 if there is none, 55006 while another session
    /// uses it (`Ok(false)` then instead when `wait` is set: try again later).
    pub fn drop_slot(&mut self, name: &str, pid: i32, wait: bool) -> Result<bool, PgError> {
        let slot = self.0.get(name).ok_or_else(|| not_found(name))?;
        match slot.active {
            Some(other) if other != pid && wait => Ok(false),
            Some(other) if other != pid => Err(in_use(name, other)),
            _ => {
                self.0.remove(name);
                Ok(true)
            }
        }
    }

    /// Marks a logical slot as streamed by session `pid`, for a connection to `database`, and
    /// returns its confirmed position.
    pub fn acquire_logical(
        &mut self,
        name: &str,
        database: &str,
        pid: i32,
    ) -> Result<(Lsn, String), PgError> {
        let slot = self.0.get_mut(name).ok_or_else(|| not_found(name))?;
        let plugin = match &slot.kind {
            Kind::Physical { .. } => {
                return Err(PgError::new(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "cannot use physical replication slot for logical decoding",
                ));
            }
            Kind::Logical { database: db, .. } if db != database => {
                return Err(PgError::new(
                    SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
                    format!("replication slot \"{name}\" was not created in this database"),
                ));
            }
            Kind::Logical { plugin, .. } => plugin.clone(),
        };
        if let Some(other) = slot.active.filter(|&p| p != pid) {
            return Err(in_use(name, other));
        }
        slot.active = Some(pid);
        Ok((slot.confirmed, plugin))
    }

    /// Session `pid` stops streaming from `name`. A temporary slot stays its session's.
    pub fn release(&mut self, name: &str, pid: i32) {
        if let Some(slot) = self.0.get_mut(name)
            && slot.active == Some(pid)
            && slot.temporary_for.is_none()
        {
            slot.active = None;
        }
    }

    /// Moves a slot's confirmed position forward to `lsn`; returns whether it moved.
    pub fn confirm(&mut self, name: &str, lsn: Lsn) -> bool {
        match self.0.get_mut(name) {
            Some(slot) if lsn > slot.confirmed => {
                slot.confirmed = lsn;
                true
            }
            _ => false,
        }
    }

    /// ALTER_REPLICATION_SLOT: 42704 without the slot, 0A000 for a physical one, 55006
    /// while another session streams from it.
    pub fn alter(
        &mut self,
        name: &str,
        pid: i32,
        two_phase: Option<bool>,
        failover: Option<bool>,
    ) -> Result<(), PgError> {
        let slot = self.0.get_mut(name).ok_or_else(|| not_found(name))?;
        if matches!(slot.kind, Kind::Physical { .. }) {
            return Err(PgError::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot use ALTER_REPLICATION_SLOT with a physical replication slot",
            ));
        }
        if let Some(other) = slot.active.filter(|&p| p != pid) {
            return Err(in_use(name, other));
        }
        if let Some(v) = two_phase {
            slot.two_phase = v;
        }
        if let Some(v) = failover {
            slot.failover = v;
        }
        Ok(())
    }

    /// Drops the temporary slots of session `pid` (its session ended, or one of its commands
    /// failed) and releases the slot it streamed from. Returns the names dropped.
    pub fn cleanup(&mut self, pid: i32) -> Vec<String> {
        let gone: Vec<String> = self
            .0
            .iter()
            .filter(|(_, s)| s.temporary_for == Some(pid))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &gone {
            self.0.remove(name);
        }
        for slot in self.0.values_mut() {
            if slot.active == Some(pid) {
                slot.active = None;
            }
        }
        gone
    }
}
