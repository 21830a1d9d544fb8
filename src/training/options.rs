//! The training options, with `mixlab train`'s defaults: the usual ones in view, the rest in
//! an "advanced" fold. A value that is not a number is refused with the field's name and the
//! previous value stays; ranges are checked (by the core) when training starts.

use leptos::prelude::*;
use mixlab_core::bundle::LossKind;
use mixlab_core::train_setup::{
    AUTO_DEFAULT_MATERIALS, AUTO_DEFAULT_ROWS, Compute, TRY_WEBGPU_ABOVE_S, TrainOptions,
};

use super::TrainJob;
use crate::scoring::section::grouped;

/// A number field bound to one option.
fn field<T>(
    job: TrainJob,
    id: &'static str,
    label: &'static str,
    title: &'static str,
    get: fn(&TrainOptions) -> T,
    set: fn(&mut TrainOptions, T),
) -> impl IntoView
where
    T: std::str::FromStr + ToString + Send + Sync + 'static,
{
    view! {
        <label title=title>{label}
            <input id=id type="text" inputmode="decimal" size="8"
                prop:value=move || job.setup.with(|s| get(&s.options).to_string())
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    match text.trim().parse::<T>() {
                        Ok(v) => {
                            job.problem.set(None);
                            job.setup.update(|s| set(&mut s.options, v));
                        }
                        Err(_) => {
                            job.problem.set(Some(format!("{label}: {text:?} is not a number of the right kind; it stays {}.", job.setup.with_untracked(|s| get(&s.options).to_string()))));
                            // Show the value still in force.
                            job.setup.update(|_| {});
                        }
                    }
                }/>
        </label>
    }
}

/// A checkbox bound to one option.
fn checkbox(
    job: TrainJob,
    id: &'static str,
    label: &'static str,
    title: impl Into<String>,
    get: fn(&TrainOptions) -> bool,
    set: fn(&mut TrainOptions, bool),
) -> impl IntoView {
    view! {
        <label title=title.into()>
            <input id=id type="checkbox" prop:checked=move || job.setup.with(|s| get(&s.options))
                on:change=move |ev| { let on = event_target_checked(&ev); job.setup.update(|s| set(&mut s.options, on)); }/>
            " " {label}
        </label>
    }
}

#[component]
pub fn Options() -> impl IntoView {
    let job = expect_context::<TrainJob>();
    let hidden_text = move || {
        job.setup.with(|s| {
            (s.options.hidden.iter().map(usize::to_string))
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    view! {
        <div id="train-options" class="controls wrap">
            <label>"Model name"
                <input id="train-name" type="text" size="24" prop:value=move || job.setup.with(|s| s.name.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); job.setup.update(|s| s.name = v); }/>
            </label>
            {field(job, "train-code-dim", "Code length", "Numbers per material code (2 draws the codes as they are)", |o| o.code_dim, |o, v| o.code_dim = v)}
            <label title="Widths of the regressor's hidden layers, comma separated">"Hidden widths"
                <input id="train-hidden" type="text" size="10" prop:value=hidden_text
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        let widths: Result<Vec<usize>, _> = text.split(',').map(|w| w.trim().parse::<usize>()).collect();
                        match widths {
                            Ok(w) if !w.is_empty() => { job.problem.set(None); job.setup.update(|s| s.options.hidden = w); }
                            _ => {
                                job.problem.set(Some(format!("Hidden widths: {text:?} is not a list of whole numbers such as 64,64; it stays {}.", hidden_text())));
                                job.setup.update(|_| {});
                            }
                        }
                    }/>
            </label>
            {field(job, "train-steps", "Steps", "Optimiser steps per ensemble member", |o| o.steps, |o, v| o.steps = v)}
            {field(job, "train-members", "Members", "Ensemble size: members differ by seed; their spread is the uncertainty", |o| o.members, |o, v| o.members = v)}
            {field(job, "train-dropout", "Dropout", "Dropout rate on the hidden layers while training (0 = off)", |o| o.dropout, |o, v| o.dropout = v)}
            {field(job, "train-validation", "Validation share", "Share of the rows held out for the validation curve (and early stopping)", |o| o.validation_fraction, |o, v| o.validation_fraction = v)}
            {field(job, "train-seed", "Seed", "The same file, options and seed give the same model (as mixlab train)", |o| o.seed, |o, v| o.seed = v)}
            {checkbox(job, "train-auto", "choose automatically", format!("Try code length, widths, dropout, steps, dose scale, log-dose block and loss one at a time on held-out rows of this file (3-fold up to 600 rows, else 80/20), from the options below, and train the best; as mixlab train --auto. On by default for files up to {} rows and {} materials (about a dozen short trainings)", grouped(AUTO_DEFAULT_ROWS), grouped(AUTO_DEFAULT_MATERIALS)), |o| o.auto, |o, v| o.auto = v)}
            <details id="train-advanced">
                <summary>"Advanced"</summary>
                <div class="controls wrap">
                    {field(job, "train-batch", "Batch size", "Rows per step", |o| o.batch_size, |o, v| o.batch_size = v)}
                    {field(job, "train-lr", "Learning rate", "Adam's base rate (cosine decay to 10 %)", |o| o.learning_rate, |o, v| o.learning_rate = v)}
                    {field(job, "train-weight-decay", "Weight decay", "Decoupled decay of the regressor's weights (0 = off)", |o| o.weight_decay, |o, v| o.weight_decay = v)}
                    {field(job, "train-snapshots", "Snapshots", "Code snapshots kept for the explorer's learning-dynamics animation", |o| o.snapshots, |o, v| o.snapshots = v)}
                    <label title="Stop when the validation loss has not improved for this many checks (one every 50 steps); blank = train every step">"Early stopping"
                        <input id="train-early-stopping" type="text" size="6"
                            prop:value=move || job.setup.with(|s| s.options.early_stopping.map(|n| n.to_string()).unwrap_or_default())
                            on:change=move |ev| {
                                let text = event_target_value(&ev);
                                match text.trim() {
                                    "" => job.setup.update(|s| s.options.early_stopping = None),
                                    t => match t.parse::<usize>() {
                                        Ok(n) => job.setup.update(|s| s.options.early_stopping = Some(n)),
                                        Err(_) => {
                                            job.problem.set(Some(format!("Early stopping: {text:?} is not a whole number of checks.")));
                                            job.setup.update(|_| {});
                                        }
                                    },
                                }
                            }/>
                    </label>
                    <label title="The regression loss on standardised targets">"Loss"
                        <select id="train-loss" on:change=move |ev| {
                            let loss = match event_target_value(&ev).as_str() { "l1" => LossKind::L1, "huber" => LossKind::Huber, _ => LossKind::Mse };
                            job.setup.update(|s| s.options.loss = loss);
                        }>
                            {[("mse", LossKind::Mse, "squared error"), ("l1", LossKind::L1, "absolute error (L1)"), ("huber", LossKind::Huber, "Huber")].into_iter().map(|(key, kind, text)| view! {
                                <option value=key selected=move || job.setup.with(|s| s.options.loss == kind)>{text}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {checkbox(job, "train-dose-scale", "dose scale", "Pool each material's fraction divided by its spread in the training data, so low-dose materials count", |o| o.dose_scale, |o, v| o.dose_scale = v)}
                    {checkbox(job, "train-log-dose", "log-dose block", "A second code block pooled with the log of each dose (ln(1 + dose / median dose)), so effects can saturate and low doses are told apart", |o| o.log_dose, |o, v| o.log_dose = v)}
                    <label title="Element materials (columns named by element symbol: Fe, Ni, C…): learn each code from the element's Magpie properties plus a penalised offset, so alike elements start alike and one absent from the training rows still gets a code">
                        <input id="train-descriptors" type="checkbox" prop:checked=move || job.setup.with(|s| s.options.descriptors.is_some())
                            on:change=move |ev| { let on = event_target_checked(&ev); job.setup.update(|s| s.options.descriptors = on.then(|| "magpie".to_string())); }/>
                        " element descriptors (Magpie)"
                    </label>
                    {field(job, "train-offset-penalty", "Offset penalty", "With element descriptors: the penalty on a material's departure from its descriptors' code", |o| o.offset_penalty, |o, v| o.offset_penalty = v)}
                    <label title=format!("Where the model trains. Automatic times a few steps of this model on the CPU and, for trainings over {TRY_WEBGPU_ABOVE_S:.0} s there, on WebGPU, and takes the faster. The CPU gives the same weights as mixlab train; WebGPU's differ in the last digits")>"Train on"
                        <select id="train-compute-choice" on:change=move |ev| {
                            let compute = match event_target_value(&ev).as_str() { "cpu" => Compute::Cpu, "webgpu" => Compute::Webgpu, _ => Compute::Auto };
                            job.setup.update(|s| s.compute = compute);
                        }>
                            {[("auto", Compute::Auto, "the faster (measured)"), ("cpu", Compute::Cpu, "the CPU"), ("webgpu", Compute::Webgpu, "WebGPU")].into_iter().map(|(key, compute, text)| view! {
                                <option value=key selected=move || job.setup.with(|s| s.compute == compute)>{text}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {checkbox(job, "train-residual", "residual", "Skip connections around hidden layers of equal width", |o| o.residual, |o, v| o.residual = v)}
                </div>
            </details>
        </div>
    }
}
