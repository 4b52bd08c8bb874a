//! The `stream!` DSL's compile-time behaviour, tested with trybuild: every
//! static check has a compile-fail case under `tests/ui/fail` whose `.stderr`
//! is the text a user sees, and every example pipeline a pass case under
//! `tests/ui/pass`. Regenerate the snapshots with `TRYBUILD=overwrite`.
