//! What the examples share: command-line parsing (with `lexopt`) and a one-line progress
//! display on standard error.

#![allow(dead_code)] // Each example uses a part.

use std::io::{IsTerminal, Write};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Parses the command line. `help` is printed for `-h`/`--help`; `--version` prints the
/// example's name and ndnet's version. Every other `--name` goes to `option`, which reads its
/// value (if any) from the parser and returns `Ok(false)` for a name it does not know. On an
/// error the message and a hint to `--help` go to standard error and the program exits with
/// status 2.
pub fn parse_args(
    name: &str,
    help: &str,
    mut option: impl FnMut(&str, &mut lexopt::Parser) -> Result<bool, lexopt::Error>,
) {
    use lexopt::Arg::{Long, Short};
    let mut parser = lexopt::Parser::from_env();
    let result = (|| -> Result<(), lexopt::Error> {
        while let Some(arg) = parser.next()? {
            match arg {
                Short('h') | Long("help") => {
                    print!("{help}");
                    std::process::exit(0);
                }
                Short('V') | Long("version") => {
                    println!("{name} (ndnet {})", env!("CARGO_PKG_VERSION"));
                    std::process::exit(0);
                }
                Long(flag) => {
                    let flag = flag.to_owned();
                    if !option(&flag, &mut parser)? {
                        return Err(Long(&flag).unexpected());
                    }
                }
                other => return Err(other.unexpected()),
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("error: {e}\n\nRun with --help for the options.");
        std::process::exit(2);
    }
}

/// The value of the current option, parsed as `T`.
pub fn value<T>(parser: &mut lexopt::Parser) -> Result<T, lexopt::Error>
where
    T: FromStr,
    T::Err: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    use lexopt::ValueExt;
    parser.value()?.parse()
}

/// A progress line on standard error (`label done/total unit, elapsed`), drawn only when
/// standard error is a terminal. Safe to update from several threads.
pub struct Progress {
    total: usize,
    unit: &'static str,
    done: AtomicUsize,
    label: Mutex<String>,
    start: Instant,
    enabled: bool,
}

impl Progress {
    /// A line for `total` steps called `unit` ("folds", "trainings").
    pub fn new(total: usize, unit: &'static str, label: &str) -> Self {
        Progress {
            total,
            unit,
            done: AtomicUsize::new(0),
            label: Mutex::new(label.to_owned()),
            start: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Changes the label in front of the counts.
    pub fn set_label(&self, label: &str) {
        if let Ok(mut l) = self.label.lock() {
            label.clone_into(&mut l);
        }
        self.draw();
    }

    /// One more step done.
    pub fn inc(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.draw();
    }

    fn draw(&self) {
        if !self.enabled {
            return;
        }
        let done = self.done.load(Ordering::Relaxed);
        let secs = self.start.elapsed().as_secs_f64();
        let eta = if done > 0 && done < self.total {
            format!(
                ", about {:.0} s left",
                secs / done as f64 * (self.total - done) as f64
            )
        } else {
            String::new()
        };
        if let Ok(label) = self.label.lock() {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K{label} {done}/{} {}, {secs:.0} s{eta}",
                self.total, self.unit
            );
            let _ = err.flush();
        }
    }

    /// Erases the line (before printing results, or at the end).
    pub fn clear(&self) {
        if self.enabled {
            let _guard = self.label.lock();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
