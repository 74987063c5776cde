//! Search results of the sonar family as [`crate::plot`] lines and panels (feature `plot`):
//! mean accuracy against dropout rate.

use super::Config;
use crate::plot::{Line, Panel};
use crate::selection::TuningResult;

/// A line through the results that `rate` maps to a dropout rate (the others are left out), at
/// their mean accuracy in percent. When several results map to the same rate, the best mean is
/// drawn. Diverged results (NaN means) are left out.
pub fn results_line(
    label: impl Into<String>,
    results: &[TuningResult<Config>],
    rate: impl Fn(&Config) -> Option<f32>,
) -> Line {
    let points = results
        .iter()
        .filter_map(|r| rate(&r.config).map(|x| (f64::from(x), r.mean * 100.0)));
    Line::best_per_x(label, points)
}

/// A panel of one line per max-norm setting (`none` first, then ascending) through the results
/// that `rate` selects, as [`results_line`]; lines are labelled `max-norm none`, `max-norm 3`,
/// ... Settings whose lines coincide point for point (a constraint that never binds) share one
/// line, labelled `max-norm 3 = 4 = 5`.
pub fn max_norm_panel(
    title: impl Into<String>,
    results: &[TuningResult<Config>],
    rate: impl Fn(&Config) -> Option<f32>,
) -> Panel {
    let mut settings: Vec<Option<f32>> = Vec::new();
    for r in results {
        if rate(&r.config).is_some() && !settings.contains(&r.config.max_norm) {
            settings.push(r.config.max_norm);
        }
    }
    settings.sort_by(|a, b| match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(a), Some(b)) => a.total_cmp(b),
    });
    let mut panel = Panel::new(title);
    for m in settings {
        let name = m.map_or("none".to_owned(), |c| c.to_string());
        let line = results_line(format!("max-norm {name}"), results, |c| {
            if c.max_norm == m { rate(c) } else { None }
        });
        // Settings under which the constraint never binds score the same: one line.
        match panel.lines.iter_mut().find(|l| l.points == line.points) {
            Some(same) => same.label = format!("{} = {name}", same.label),
            None => panel.lines.push(line),
        }
    }
    panel
}
