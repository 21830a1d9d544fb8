//! The one progress bar every long command shows on standard error.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` units with `template`'s text (indicatif's template language); a bad
/// template falls back to the plain bar rather than failing the command.
fn bar(len: u64, template: &str) -> ProgressBar {
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// Training steps with the current loss as the message.
pub fn steps(len: usize) -> ProgressBar {
    bar(
        len as u64,
        "{bar:40} {pos}/{len} steps, loss {msg} [{elapsed}]",
    )
}

/// Training steps across many runs, with the run as the message and the time left.
pub fn runs(len: usize) -> ProgressBar {
    bar(
        len as u64,
        "{bar:40} {pos}/{len} steps, {msg} [{elapsed}/{eta}]",
    )
}

/// A computation in stages (the stage as the message, its own length per stage).
pub fn stages() -> ProgressBar {
    bar(1, "{msg:>10} [{bar:40}] {percent:>3}% {elapsed}")
}
