//! Parked worker threads, started once per process and reused by every parallel call
//! ([`crate::kernels::threads::run_queue`]: split matrix products and optimizer updates, cross-validation
//! folds, Monte-Carlo tasks), so that a call starts no thread and allocates nothing.
//!
//! [`broadcast`] hands the workers a borrowed closure, which is why this lives with the
//! crate's other `unsafe` code: the closure's lifetime is erased to store it in the shared
//! state, and [`broadcast`] does not return (nor unwind) before every worker that took the
//! closure has finished with it.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

/// A job as the workers see it: a pointer to the caller's closure, valid while the round that
/// published it runs (see [`broadcast`]).
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn() + Sync));

// SAFETY: the pointee is `Sync`, so calling it from another thread is sound; the pointer is
// only dereferenced while `broadcast` keeps the closure alive (see there).
unsafe impl Send for Job {}

struct State {
    /// The current round's job; `None` between rounds, so `Some` means the pool is busy.
    job: Option<Job>,
    /// Incremented for each round, so that a worker takes a round at most once.
    round: u64,
    /// Workers still to take the current round (0 once the caller stops waiting for more).
    wanted: usize,
    /// Workers running the current round's job.
    running: usize,
    /// Threads started so far (they never exit).
    threads: usize,
    /// The first panic of a worker in the current round.
    panic: Option<Box<dyn Any + Send>>,
}

struct Pool {
    state: Mutex<State>,
    /// Signals a new round to the workers.
    wake: Condvar,
    /// Signals the caller that the last running worker finished.
    done: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State {
            job: None,
            round: 0,
            wanted: 0,
            running: 0,
            threads: 0,
            panic: None,
        }),
        wake: Condvar::new(),
        done: Condvar::new(),
    })
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker: waits for a round it has not taken while workers are wanted, runs its job,
    /// reports the end.
    fn work(&'static self) {
        let mut seen = 0;
        loop {
            let mut state = self.lock();
            while !(state.round != seen && state.wanted > 0) {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            seen = state.round;
            state.wanted -= 1;
            state.running += 1;
            let job = state.job.expect("a round with wanted workers has a job");
            drop(state);
            // SAFETY: `broadcast` published `job` for this round and does not return before
            // `running` is back to 0, which happens only after this call has returned (or
            // unwound) and the decrement below; the closure is alive all that time.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job.0)() }));
            let mut state = self.lock();
            if let Err(panic) = result {
                state.panic.get_or_insert(panic);
            }
            state.running -= 1;
            if state.running == 0 {
                self.done.notify_all();
            }
        }
    }
}

/// Runs `job` on the calling thread and on up to `helpers` parked worker threads at once
/// (starting workers the first time more are asked for than exist), and returns when all have
/// finished. Each worker runs `job` at most once; a worker that did not take it before the
/// calling thread finished its own call is not waited for, so `job` must be work-sharing (take
/// its work from a shared queue), not a fixed share per thread. A panic in any call is resumed
/// on the calling thread once every call has ended.
///
/// Returns `false`, without running anything, when the pool is running another round (a
/// parallel call from inside a parallel call, or from another thread at the same time): the
/// caller then runs the work some other way.
pub(crate) fn broadcast(helpers: usize, job: &(dyn Fn() + Sync)) -> bool {
    let pool = pool();
    let mut state = pool.lock();
    if state.job.is_some() {
        return false;
    }
    while state.threads < helpers {
        let started = std::thread::Builder::new()
            .name(format!("ndnet-worker-{}", state.threads + 1))
            .spawn(move || pool.work());
        if started.is_err() {
            // Fewer helpers then; the calling thread and the others share the work.
            break;
        }
        state.threads += 1;
    }
    let ptr: *const (dyn Fn() + Sync + '_) = job;
    // SAFETY: this only erases the lifetime of the pointer's trait object; the pointer is
    // dereferenced by workers only during this round, and this function waits below until no
    // worker runs it any more (`running == 0` with `wanted == 0`) before it clears `job` and
    // returns, on every path, panics included (they are caught).
    let erased = unsafe {
        std::mem::transmute::<*const (dyn Fn() + Sync + '_), *const (dyn Fn() + Sync + 'static)>(
            ptr,
        )
    };
    state.job = Some(Job(erased));
    state.round += 1;
    state.wanted = helpers.min(state.threads);
    pool.wake.notify_all();
    drop(state);

    let own = catch_unwind(AssertUnwindSafe(job));

    let mut state = pool.lock();
    state.wanted = 0;
    while state.running > 0 {
        state = pool
            .done
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner);
    }
    state.job = None;
    let worker_panic = state.panic.take();
    drop(state);
    if let Err(panic) = own {
        resume_unwind(panic);
    }
    if let Some(panic) = worker_panic {
        resume_unwind(panic);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_round_shares_a_queue_and_returns_after_every_call() {
        for _ in 0..50 {
            let next = AtomicUsize::new(0);
            let sum = AtomicUsize::new(0);
            let job = || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= 1000 {
                        break;
                    }
                    sum.fetch_add(i, Ordering::SeqCst);
                }
            };
            // Another test may hold the pool (nothing runs then): retry until a round runs.
            while !broadcast(2, &job) {
                std::thread::yield_now();
            }
            assert_eq!(sum.load(Ordering::SeqCst), 499_500);
        }
    }

    #[test]
    fn a_panic_in_the_job_reaches_the_caller_and_the_pool_keeps_working() {
        let calls = AtomicUsize::new(0);
        let job = || {
            calls.fetch_add(1, Ordering::SeqCst);
            panic!("job failed");
        };
        let caught = catch_unwind(AssertUnwindSafe(|| broadcast(1, &job)));
        if let Err(panic) = caught {
            assert_eq!(panic.downcast_ref::<&str>(), Some(&"job failed"));
        }
        let ran = AtomicUsize::new(0);
        let job = || {
            ran.fetch_add(1, Ordering::SeqCst);
        };
        // Another test may hold the pool: retry until a round runs.
        while !broadcast(1, &job) {
            std::thread::yield_now();
        }
        assert!((1..=2).contains(&ran.load(Ordering::SeqCst)));
    }

    #[test]
    fn a_round_inside_a_round_is_refused() {
        let inner = AtomicUsize::new(0);
        let job = || {
            if !broadcast(1, &|| {}) {
                inner.fetch_add(1, Ordering::SeqCst);
            }
        };
        while !broadcast(1, &job) {
            std::thread::yield_now();
        }
        assert!(inner.load(Ordering::SeqCst) >= 1);
    }
}
