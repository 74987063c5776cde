//! Work sharing over worker threads (the `parallel` feature): split matrix products and
//! optimizer updates, cross-validation folds, tuning runs and Monte-Carlo dropout tasks.
//!
//! Tasks are taken from one shared queue in order, one at a time, so runs of unequal length
//! balance over the threads; the calling thread is one of the workers. The others are the
//! process's parked workers ([`super::pool`]), started once; a parallel call made while the
//! pool is busy (from inside another, or from another thread at the same time) starts scoped
//! threads of its own instead. What a task computes never depends on the thread that ran it,
//! so callers that combine results in task order get the same bits for any number of threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

static PRODUCT_THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets how many threads a large matrix product may use (with the `parallel` feature; 0: all
/// cores; the default is 1), for every model in the process, as `torch.set_num_threads` does.
///
/// A product of at least 2²¹ multiply-adds (`m·k·n`; e.g. a 784 → 1024 `Dense` layer on a batch
/// of 128, forward or backward) is split into blocks of at least 64 columns of its result, one
/// per thread, the calling thread included; smaller products, such as the sonar networks', run
/// on the calling thread as before. So is the update of a parameter of at least 2¹⁸ weights by
/// an optimizer with state (SGD with momentum, RMSprop, Adam), in blocks of weights. The
/// results are bitwise the same for any number of
/// threads: every element is summed in the same order whichever thread computes it. The threads
/// are started once and then parked between calls, so a split product neither starts a thread
/// nor allocates (the packing buffers are the layer's, kept between calls); only a split product
/// run while the workers are busy with another parallel call (e.g. inside a cross-validation
/// fold running on them) starts threads of its own for the call.
///
/// Threads over folds ([`CrossValidation::threads`](crate::selection::CrossValidation::threads))
/// and product threads multiply: on a machine with few cores use one or the other.
///
/// ```
/// ndnet::set_product_threads(2);
/// assert_eq!(ndnet::product_threads(), if cfg!(feature = "parallel") { 2 } else { 1 });
/// ndnet::set_product_threads(1);
/// ```
pub fn set_product_threads(threads: usize) {
    PRODUCT_THREADS.store(resolve(threads), Ordering::Relaxed);
}

/// The threads a large matrix product may use (see [`set_product_threads`]); always 1 without
/// the `parallel` feature.
pub fn product_threads() -> usize {
    if cfg!(feature = "parallel") {
        PRODUCT_THREADS.load(Ordering::Relaxed)
    } else {
        1
    }
}

/// `threads`, with 0 standing for the cores the process may use
/// (`std::thread::available_parallelism`, 1 when that is unknown).
fn resolve(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    }
}

/// How many workers run `tasks` tasks when `threads` are asked for (0: all cores): never more
/// than one per task, at least one.
/// Without the `parallel` feature: always one, the calling thread.
pub(crate) fn workers(threads: usize, tasks: usize) -> usize {
    if !cfg!(feature = "parallel") {
        return 1;
    }
    resolve(threads).min(tasks).max(1)
}

/// Runs `task(&mut state, item)` for every item of `items` on [`workers`]`(threads, n)` threads
/// (`n` being the number of items), the calling thread included. Each worker makes its state
/// with `init` when it takes its first item.
///
/// After a task fails no further item is started; the error returned is the one of the
/// earliest failing item in the order of `items` (items are taken in that order, so every
/// item before it ran), which does not depend on the thread count. Without a failure every item
/// runs exactly once: a thread that cannot be started leaves its share to the others.
///
/// # Errors
/// The earliest task's error.
pub(crate) fn run_queue<I, S>(
    threads: usize,
    items: I,
    init: impl Fn() -> S + Sync,
    task: impl Fn(&mut S, I::Item) -> Result<()> + Sync,
) -> Result<()>
where
    I: ExactSizeIterator + Send,
{
    let workers = workers(threads, items.len());
    if workers == 1 {
        let mut state = None;
        for item in items {
            task(state.get_or_insert_with(&init), item)?;
        }
        return Ok(());
    }
    let queue = Mutex::new(items.enumerate());
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    let work = || {
        let mut state = None;
        while !failed.load(Ordering::Relaxed) {
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((index, item)) = next else {
                break;
            };
            if let Err(e) = task(state.get_or_insert_with(&init), item) {
                failed.store(true, Ordering::Relaxed);
                let mut slot = first_error.lock().unwrap_or_else(PoisonError::into_inner);
                if slot.as_ref().is_none_or(|(first, _)| index < *first) {
                    *slot = Some((index, e));
                }
            }
        }
    };
    if super::pool::broadcast(workers - 1, &work) {
        return first_error_of(first_error);
    }
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers - 1);
        for i in 1..workers {
            let builder = std::thread::Builder::new().name(format!("ndnet-worker-{i}"));
            match builder.spawn_scoped(scope, work) {
                Ok(handle) => handles.push(handle),
                // The threads that did start, and this one, take its share.
                Err(_) => break,
            }
        }
        work();
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    first_error_of(first_error)
}

/// The error [`run_queue`] recorded, if any.
fn first_error_of(first_error: Mutex<Option<(usize, Error)>>) -> Result<()> {
    match first_error
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// [`run_queue`] for tasks that cannot fail: `task(item)` for every item of `items`.
pub(crate) fn for_each<I>(threads: usize, items: I, task: impl Fn(I::Item) + Sync)
where
    I: ExactSizeIterator + Send,
{
    let infallible = |(): &mut (), item| {
        task(item);
        Ok(())
    };
    // Only a task's error is returned, and these have none.
    let _ = run_queue(threads, items, || (), infallible);
}

/// `run(0), ..., run(n - 1)`, in order of index, on [`workers`]`(threads, n)` threads, one
/// index per task.
///
/// # Errors
/// The error of the smallest failing index (see [`run_queue`]).
pub(crate) fn map_indexed<T, R>(n: usize, threads: usize, run: R) -> Result<Vec<T>>
where
    T: Send + Default,
    R: Fn(usize) -> Result<T> + Sync,
{
    let mut out: Vec<T> = (0..n).map(|_| T::default()).collect();
    run_queue(
        threads,
        out.iter_mut().enumerate(),
        || (),
        |(), (i, slot)| {
            *slot = run(i)?;
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_index_order_for_any_thread_count() {
        let serial: Vec<usize> = (0..37).map(|i| i * i).collect();
        for threads in [0, 1, 2, 3, 8, 100] {
            let got = map_indexed(37, threads, |i| Ok(i * i)).unwrap();
            assert_eq!(got, serial, "threads = {threads}");
        }
        assert!(map_indexed(0, 4, Ok::<usize, Error>).unwrap().is_empty());
    }

    #[test]
    fn tasks_really_run_on_several_threads() {
        // Each of two tasks waits until both have started: with one worker this would hang,
        // so the test passes only when two threads run at once.
        let started = std::sync::atomic::AtomicUsize::new(0);
        let ids = map_indexed(2, 2, |_| {
            started.fetch_add(1, Ordering::SeqCst);
            while started.load(Ordering::SeqCst) < 2 {
                std::thread::yield_now();
            }
            Ok(format!("{:?}", std::thread::current().id()))
        })
        .unwrap();
        assert_ne!(ids[0], ids[1]);
    }

    #[test]
    fn the_earliest_failing_index_is_reported() {
        for threads in [1, 2, 4] {
            let err = map_indexed(40, threads, |i| {
                if i % 7 == 5 {
                    Err(Error::InvalidState(format!("task {i}")))
                } else {
                    Ok(i)
                }
            })
            .unwrap_err();
            assert!(
                err.to_string().contains("task 5"),
                "threads = {threads}: {err}"
            );
        }
    }

    #[test]
    fn no_task_starts_after_a_failure_on_one_thread() {
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let err = map_indexed(10, 1, |i| {
            ran.fetch_add(1, Ordering::SeqCst);
            if i == 2 {
                Err(Error::InvalidState("stop".into()))
            } else {
                Ok(())
            }
        });
        assert!(err.is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn each_worker_makes_its_state_once() {
        let made = std::sync::atomic::AtomicUsize::new(0);
        let sum = Mutex::new(0usize);
        run_queue(
            2,
            0..100usize,
            || made.fetch_add(1, Ordering::SeqCst),
            |_, i| {
                *sum.lock().unwrap() += i;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(*sum.lock().unwrap(), 4950);
        assert!((1..=2).contains(&made.load(Ordering::SeqCst)));
    }
}
