//! When CI asks for the interop tests (PGPROTO_INTEROP=1) they must actually be compiled in:
//! a run without `--features interop` would otherwise pass while testing nothing real.

#[test]
fn interop_requested_means_interop_enabled() {
    let requested = std::env::var("PGPROTO_INTEROP").as_deref() == Ok("1");
    let enabled = cfg!(feature = "interop");
    assert!(
        !requested || enabled,
        "PGPROTO_INTEROP=1 but the `interop` feature is off: run `cargo test --features interop` (or --all-features)"
    );
}
