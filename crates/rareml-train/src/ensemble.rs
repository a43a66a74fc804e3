//! Which epochs' checkpoints make a network's ensemble: the last K (the default), or the
//! PandaX-III paper's rule (Xia et al., "Optimization of convolutional neural networks for
//! background suppression in the PandaX-III experiment", Sec. 4: the score of a training is the
//! mean prediction of the first three epochs, among those whose validation accuracy is within
//! δ = 0.001 of the best, with the smallest validation losses).

use crate::error::{config_err, Error, Result};
use crate::trainer::EpochRecord;
use serde::{Deserialize, Serialize};

/// Slack on accuracy comparisons: accuracies are ratios of counts, so "within δ" must not lose
/// an epoch that sits exactly δ below the best to rounding.
const ACCURACY_SLACK: f64 = 1e-9;

/// How the K = `keep_last` checkpoints of an ensemble are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum EnsembleRule {
    /// The last K epochs.
    #[default]
    Last,
    /// Among the epochs whose validation accuracy is within `delta` of the best epoch's, the K
    /// with the smallest validation losses (ties: the earlier epoch). Needs a validation set and
    /// a classification task. The PandaX-III paper: δ = 0.001, K = 3.
    BestValidation {
        /// Accuracy margin δ below the best (a fraction, 0.001 = 0.1 %).
        delta: f64,
    },
}

impl EnsembleRule {
    /// The PandaX-III paper's margin δ on validation accuracy (a fraction).
    pub const PAPER_DELTA: f64 = 0.001;

    /// The PandaX-III paper's rule: [`BestValidation`](Self::BestValidation) with δ = 0.001.
    pub fn paper() -> Self {
        Self::BestValidation {
            delta: Self::PAPER_DELTA,
        }
    }

    /// Checks the rule: δ finite and in [0, 1].
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::Last => Ok(()),
            Self::BestValidation { delta } if (0.0..=1.0).contains(&delta) => Ok(()),
            Self::BestValidation { delta } => Err(config_err(
                "ensemble.delta",
                delta,
                "an accuracy margin in [0, 1]",
            )),
        }
    }

    /// The epochs (ascending) whose checkpoints make the ensemble of a training with this
    /// `history`, `k` of them at most.
    ///
    /// # Errors
    /// [`BestValidation`](Self::BestValidation) on a history without a finite validation
    /// accuracy (no validation events, or a regression task).
    ///
    /// # Examples
    /// ```
    /// use rareml_train::{EnsembleRule, EpochRecord};
    /// let rec = |epoch, val_loss, val_accuracy| EpochRecord {
    ///     epoch, lr: 1e-3, weight_decay: 0.0, train_loss: 0.5, val_loss, val_accuracy,
    ///     events_per_s: 100.0,
    /// };
    /// let h = [rec(0, 0.40, 0.900), rec(1, 0.30, 0.9195), rec(2, 0.35, 0.920), rec(3, 0.20, 0.910)];
    /// // Best accuracy 0.920; epochs 1 and 2 are within 0.001 of it; epoch 3's loss is the
    /// // lowest but its accuracy is not.
    /// assert_eq!(EnsembleRule::paper().select(&h, 3).unwrap(), vec![1, 2]);
    /// assert_eq!(EnsembleRule::Last.select(&h, 3).unwrap(), vec![1, 2, 3]);
    /// ```
    pub fn select(&self, history: &[EpochRecord], k: usize) -> Result<Vec<usize>> {
        let mut epochs: Vec<usize> = match *self {
            Self::Last => {
                let from = history.len().saturating_sub(k);
                history[from..].iter().map(|r| r.epoch).collect()
            }
            Self::BestValidation { delta } => {
                let best = best_accuracy(history).ok_or_else(|| {
                    Error::Data(
                        "the best-validation ensemble needs a validation accuracy per epoch \
                         (validation events and a classification task); none is finite"
                            .into(),
                    )
                })?;
                let mut cands: Vec<&EpochRecord> = history
                    .iter()
                    .filter(|r| within(r.val_accuracy, best, delta))
                    .collect();
                // Smallest validation loss first, a NaN loss last, ties to the earlier epoch.
                cands.sort_by(|a, b| {
                    let key = |r: &EpochRecord| {
                        if r.val_loss.is_nan() {
                            f64::INFINITY
                        } else {
                            r.val_loss
                        }
                    };
                    key(a).total_cmp(&key(b)).then(a.epoch.cmp(&b.epoch))
                });
                cands.iter().take(k).map(|r| r.epoch).collect()
            }
        };
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// The epochs whose weights a training must keep on disk after the last epoch of `history`
    /// so that [`select`](Self::select) can still be served whatever the later epochs bring: the
    /// last `k` ([`Last`](Self::Last)); every epoch within δ of the best accuracy so far, since
    /// the best can only rise ([`BestValidation`](Self::BestValidation)).
    pub fn retained(&self, history: &[EpochRecord], k: usize) -> Vec<usize> {
        match *self {
            Self::Last => self.select(history, k).unwrap_or_default(),
            Self::BestValidation { delta } => match best_accuracy(history) {
                Some(best) => history
                    .iter()
                    .filter(|r| within(r.val_accuracy, best, delta))
                    .map(|r| r.epoch)
                    .collect(),
                None => history.iter().map(|r| r.epoch).collect(),
            },
        }
    }
}

fn best_accuracy(history: &[EpochRecord]) -> Option<f64> {
    history
        .iter()
        .map(|r| r.val_accuracy)
        .filter(|a| a.is_finite())
        .reduce(f64::max)
}

fn within(accuracy: f64, best: f64, delta: f64) -> bool {
    accuracy.is_finite() && accuracy >= best - delta - ACCURACY_SLACK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: usize, val_loss: f64, val_accuracy: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            lr: 1e-3,
            weight_decay: 0.0,
            train_loss: 0.5,
            val_loss,
            val_accuracy,
            events_per_s: 1.0,
        }
    }

    /// A hand-made ten-epoch history: the best accuracy 0.8125 is reached at epoch 6; epochs 4,
    /// 6, 7 and 9 lie within 0.001 of it (epoch 4 exactly 0.001 below); their validation losses
    /// rank 9 < 4 < 7 < 6, so the paper's three are 4, 7 and 9. Epoch 2 has the lowest loss of
    /// all but is 0.0125 below the best.
    fn history() -> Vec<EpochRecord> {
        vec![
            rec(0, 0.60, 0.7000),
            rec(1, 0.50, 0.7500),
            rec(2, 0.30, 0.8000),
            rec(3, 0.45, 0.8100),
            rec(4, 0.36, 0.8115),
            rec(5, 0.40, 0.8050),
            rec(6, 0.44, 0.8125),
            rec(7, 0.38, 0.8120),
            rec(8, 0.35, 0.8000),
            rec(9, 0.34, 0.8118),
        ]
    }

    #[test]
    fn the_paper_rule_on_a_hand_made_history() {
        let h = history();
        assert_eq!(EnsembleRule::paper().select(&h, 3).unwrap(), vec![4, 7, 9]);
        // K = 1: the smallest loss among the candidates.
        assert_eq!(EnsembleRule::paper().select(&h, 1).unwrap(), vec![9]);
        // More members than candidates: all four.
        assert_eq!(
            EnsembleRule::paper().select(&h, 10).unwrap(),
            vec![4, 6, 7, 9]
        );
        // δ = 0: the best epoch alone.
        let strict = EnsembleRule::BestValidation { delta: 0.0 };
        assert_eq!(strict.select(&h, 3).unwrap(), vec![6]);
        // A wide δ admits epoch 2 and its lowest loss.
        let wide = EnsembleRule::BestValidation { delta: 0.05 };
        assert_eq!(wide.select(&h, 3).unwrap(), vec![2, 8, 9]);
        assert_eq!(EnsembleRule::Last.select(&h, 3).unwrap(), vec![7, 8, 9]);
    }

    #[test]
    fn nan_losses_rank_last_and_nan_accuracies_never_qualify() {
        let h = vec![
            rec(0, f64::NAN, 0.9),
            rec(1, 0.5, 0.9),
            rec(2, 0.1, f64::NAN),
        ];
        assert_eq!(EnsembleRule::paper().select(&h, 1).unwrap(), vec![1]);
        assert_eq!(EnsembleRule::paper().select(&h, 2).unwrap(), vec![0, 1]);
        let none = vec![rec(0, 0.5, f64::NAN)];
        let e = EnsembleRule::paper()
            .select(&none, 3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("validation accuracy"), "{e}");
    }

    /// Whatever epochs follow, the retained set after each epoch holds every epoch the final
    /// selection can name.
    #[test]
    fn retained_epochs_cover_every_later_selection() {
        let h = history();
        let rule = EnsembleRule::paper();
        let final_sel = rule.select(&h, 3).unwrap();
        for end in 1..=h.len() {
            let kept = rule.retained(&h[..end], 3);
            for e in final_sel.iter().filter(|&&e| e < end) {
                assert!(
                    kept.contains(e),
                    "after epoch {}: {e} not in {kept:?}",
                    end - 1
                );
            }
        }
        // After epoch 6 the running best is 0.8125: epochs 0–3 and 5 can go.
        assert_eq!(rule.retained(&h[..7], 3), vec![4, 6]);
        assert_eq!(EnsembleRule::Last.retained(&h[..7], 3), vec![4, 5, 6]);
    }

    #[test]
    fn delta_rule() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = EnsembleRule::BestValidation { delta: bad }
                .validate()
                .unwrap_err()
                .to_string();
            assert!(e.contains("ensemble.delta"), "{e}");
        }
        assert!(EnsembleRule::paper().validate().is_ok());
    }

    #[test]
    fn rules_read_from_json() {
        let r: EnsembleRule =
            serde_json::from_str(r#"{"rule": "best_validation", "delta": 0.001}"#).unwrap();
        assert_eq!(r, EnsembleRule::paper());
        let l: EnsembleRule = serde_json::from_str(r#"{"rule": "last"}"#).unwrap();
        assert_eq!(l, EnsembleRule::Last);
    }
}
