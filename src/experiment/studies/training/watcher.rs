//! The observer that measures barriers while a network trains: after each
//! scheduled optimiser step it evaluates the weights as they stand on the
//! test set, on fixed same-class and cross-class real pairs, and on FVO
//! pairs made again from the same noise, before and after free bends.

use std::ops::ControlFlow;

use super::{BarrierSchedule, StepRow, Training};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::inputspace::bypass::bypass_many;
use crate::inputspace::fvo::synthesize;
use crate::inputspace::pairs::linear_barriers;
use crate::nn::eval::evaluate;
use crate::nn::train::{Snapshot, TrainObserver};
use crate::progress::NoProgress;
use crate::rng::{derive_seed, unit_rng};
use crate::stats::quantile;

/// The fixed real pairs of a run and what has been measured so far.
pub(super) struct BarrierWatcher<'a> {
    exp: &'a Training,
    schedule: &'a BarrierSchedule,
    test_set: &'a Dataset,
    seed: u64,
    run: String,
    steps_per_epoch: usize,
    /// Same-class pairs: (A, C, class) flattened.
    real: (Vec<f32>, Vec<f32>, Vec<u32>),
    /// Cross-class pairs: A, C and A's class.
    cross: (Vec<f32>, Vec<f32>, Vec<u32>),
    rows: Vec<StepRow>,
    error: Option<Error>,
}

impl<'a> BarrierWatcher<'a> {
    pub(super) fn new(
        exp: &'a Training,
        schedule: &'a BarrierSchedule,
        test_set: &'a Dataset,
        seed: u64,
        run: &str,
        steps_per_epoch: usize,
    ) -> Result<Self> {
        let classes = exp.classes;
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
        for (i, &l) in test_set.labels().iter().enumerate() {
            by_class[l as usize].push(i);
        }
        let mut rng = unit_rng(seed, &[1]);
        let mut pick = |class: usize| -> Result<usize> {
            let v = &by_class[class];
            if v.is_empty() {
                return Err(Error::invalid(
                    "params.data",
                    test_set.name(),
                    format!("its test split has no image of class {class}"),
                ));
            }
            Ok(v[rand::Rng::random_range(&mut rng, 0..v.len())])
        };
        let mut real = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..schedule.real_pairs {
            let class = j % classes;
            let i = pick(class)?;
            let mut k = pick(class)?;
            // A second draw of the same image would make a zero-length path.
            for _ in 0..16 {
                if k != i {
                    break;
                }
                k = pick(class)?;
            }
            real.0.extend(test_set.item(i));
            real.1.extend(test_set.item(k));
            real.2.push(class as u32);
        }
        let mut cross = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..schedule.cross_pairs {
            let class = j % classes;
            let other = (class + 1 + j / classes % (classes - 1)) % classes;
            cross.0.extend(test_set.item(pick(class)?));
            cross.1.extend(test_set.item(pick(other)?));
            cross.2.push(class as u32);
        }
        Ok(BarrierWatcher {
            exp,
            schedule,
            test_set,
            seed,
            run: run.to_string(),
            steps_per_epoch,
            real,
            cross,
            rows: Vec::new(),
            error: None,
        })
    }

    fn measure(&self, model: &Snapshot<'_>) -> Result<StepRow> {
        let net = model.network()?;
        let b = self.schedule;
        let eval = evaluate(&net, self.test_set, 500, &NoProgress)?;
        let median = |v: Vec<f64>| (!v.is_empty()).then(|| quantile(&v, 0.5));
        let batch = 256;
        let (mut real_max, mut real_gap, mut real_end) = (Vec::new(), Vec::new(), Vec::new());
        if b.real_pairs > 0 {
            let (a, c, t) = &self.real;
            for m in linear_barriers(&net, a, c, t, b.points, batch)? {
                real_max.push(m.max);
                real_gap.push(m.gap);
                real_end.extend(m.endpoint_losses);
            }
        }
        let mut cross_max = Vec::new();
        if b.cross_pairs > 0 {
            let (a, c, t) = &self.cross;
            cross_max = linear_barriers(&net, a, c, t, b.points, batch)?
                .iter()
                .map(|m| m.max)
                .collect();
        }
        let (mut fvo_loss, mut fvo_conv, mut fvo_lin, mut fvo_bent) =
            (None, None, Vec::new(), Vec::new());
        if b.fvo_pairs > 0 {
            let classes = self.exp.classes;
            let targets: Vec<u32> = (0..b.fvo_pairs)
                .flat_map(|j| [(j % classes) as u32; 2])
                .collect();
            // The same noise at every step: only the weights change.
            let seeds: Vec<u64> = (0..2 * b.fvo_pairs)
                .map(|i| derive_seed(self.seed, &[2, i as u64]))
                .collect();
            let fvo = synthesize(&net, &targets, &seeds, &self.exp.params.fvo)?;
            fvo_loss = Some(fvo.losses.iter().map(|&l| l as f64).fold(0.0, f64::max));
            fvo_conv = Some(
                fvo.converged.iter().filter(|&&c| c).count() as f64 / fvo.converged.len() as f64,
            );
            let len = self.exp.item_shape.iter().product::<usize>();
            let (mut starts, mut ends) = (Vec::new(), Vec::new());
            for j in 0..b.fvo_pairs {
                starts.extend_from_slice(&fvo.inputs[2 * j * len..(2 * j + 1) * len]);
                ends.extend_from_slice(&fvo.inputs[(2 * j + 1) * len..(2 * j + 2) * len]);
            }
            let pair_targets: Vec<u32> = targets.iter().step_by(2).copied().collect();
            let reports = bypass_many(
                &net,
                &starts,
                &ends,
                &pair_targets,
                &self.exp.params.bypass,
                &self.exp.params.rounds,
            )?;
            for r in &reports {
                fvo_lin.push(r.rounds[0].barrier.max);
                fvo_bent.push(r.rounds.last().expect("round 0").barrier.max);
            }
        }
        Ok(StepRow {
            run: self.run.clone(),
            step: model.step(),
            epoch: model.step() as f64 / self.steps_per_epoch as f64,
            test_accuracy: eval.accuracy,
            test_loss: eval.mean_loss,
            real_barrier_max: median(real_max),
            real_barrier_gap: median(real_gap),
            real_endpoint_loss: median(real_end),
            cross_barrier_max: median(cross_max),
            fvo_max_loss: fvo_loss,
            fvo_converged: fvo_conv,
            fvo_linear_barrier_max: median(fvo_lin),
            fvo_bent_barrier_max: median(fvo_bent),
        })
    }

    pub(super) fn finish(self) -> Result<Vec<StepRow>> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.rows),
        }
    }
}

impl TrainObserver for BarrierWatcher<'_> {
    fn after_step(&mut self, model: &Snapshot<'_>) -> ControlFlow<()> {
        if self.schedule.steps.binary_search(&model.step()).is_err() {
            return ControlFlow::Continue(());
        }
        match self.measure(model) {
            Ok(row) => {
                self.rows.push(row);
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}
