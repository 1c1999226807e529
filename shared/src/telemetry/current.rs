//! The trace context of the request being handled, set once where a component reads its
//! request (`spin::read_request`) and read where its writes are stored, so the outbox and
//! the provider call carry it without every function passing it on. A component instance
//! serves one request, so one value per thread is exact.

use super::TraceParent;
use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<Option<TraceParent>> = const { Cell::new(None) };
}

/// Runs `f` with `context` as the current trace context, restoring the previous one after.
pub fn within<T>(context: Option<TraceParent>, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(context));
    let result = f();
    CURRENT.with(|c| c.set(previous));
    result
}

/// Sets the current trace context for the rest of this instance's request.
pub fn set(context: Option<TraceParent>) {
    CURRENT.with(|c| c.set(context));
}

pub fn get() -> Option<TraceParent> {
    CURRENT.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_restores_what_was_there() {
        let outer = TraceParent::new_root();
        set(Some(outer));
        let inner = TraceParent::new_root();
        assert_eq!(within(Some(inner), get), Some(inner));
        assert_eq!(get(), Some(outer));
        set(None);
    }
}
