//! Invariants of the ROC metrics, on random samples with many ties.

use proptest::prelude::*;
use rareml_metrics::{roc_auc_score, roc_curve, significance};

/// Labels and small-integer scores (many ties), with both classes present and two distinct scores.
fn sample() -> impl Strategy<Value = (Vec<u8>, Vec<f64>)> {
    prop::collection::vec((0u8..2, -5i32..6), 2..200)
        .prop_map(|v| {
            (
                v.iter().map(|p| p.0).collect::<Vec<u8>>(),
                v.iter().map(|p| p.1 as f64 * 0.25).collect::<Vec<f64>>(),
            )
        })
        .prop_filter("both classes, two distinct scores", |(y, s)| {
            y.contains(&0) && y.contains(&1) && s.iter().any(|&x| x != s[0])
        })
}

/// AUC as the probability that a signal item outscores a background item, ties counting half.
fn brute_auc(y: &[u8], s: &[f64]) -> f64 {
    let (mut num, mut pairs) = (0.0, 0.0);
    for (i, &yi) in y.iter().enumerate() {
        for (j, &yj) in y.iter().enumerate() {
            if yi == 1 && yj == 0 {
                pairs += 1.0;
                num += if s[i] > s[j] {
                    1.0
                } else if s[i] == s[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    num / pairs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn auc_is_the_pairwise_win_probability_with_ties((y, s) in sample()) {
        let auc = roc_auc_score(&y, &s).unwrap();
        prop_assert!((auc - brute_auc(&y, &s)).abs() < 1e-12, "{} vs {}", auc, brute_auc(&y, &s));
    }

    #[test]
    fn every_point_counts_the_selection_exactly((y, s) in sample()) {
        let roc = roc_curve(&y, &s, false).unwrap();
        for (i, &t) in roc.thresholds.iter().enumerate() {
            let tp = y.iter().zip(&s).filter(|(&l, &x)| l == 1 && x >= t).count() as u64;
            let fp = y.iter().zip(&s).filter(|(&l, &x)| l == 0 && x >= t).count() as u64;
            prop_assert_eq!((roc.tps[i], roc.fps[i]), (tp, fp));
        }
        let mut distinct = s.clone();
        distinct.sort_by(|a, b| b.total_cmp(a));
        distinct.dedup();
        prop_assert_eq!(&roc.thresholds[1..], &distinct[..]);
    }

    #[test]
    fn reversing_the_score_gives_one_minus_auc((y, s) in sample()) {
        let rev: Vec<f64> = s.iter().map(|x| -x).collect();
        let (a, b) = (roc_auc_score(&y, &s).unwrap(), roc_auc_score(&y, &rev).unwrap());
        prop_assert!((a + b - 1.0).abs() < 1e-12, "{} + {}", a, b);
    }

    #[test]
    fn increasing_transforms_change_nothing((y, s) in sample(), scale in 0.1f64..10.0, shift in -3.0f64..3.0) {
        let t: Vec<f64> = s.iter().map(|x| (scale * x + shift).atan()).collect();
        for drop in [false, true] {
            let (r1, r2) = (roc_curve(&y, &s, drop).unwrap(), roc_curve(&y, &t, drop).unwrap());
            prop_assert_eq!(&r1.fpr, &r2.fpr);
            prop_assert_eq!(&r1.tpr, &r2.tpr);
        }
        prop_assert_eq!(roc_auc_score(&y, &s).unwrap(), roc_auc_score(&y, &t).unwrap());
        let (x1, x2) = (significance(&y, &s).unwrap(), significance(&y, &t).unwrap());
        prop_assert_eq!((x1.xi, x1.index), (x2.xi, x2.index));
    }

    #[test]
    fn dropped_curve_is_a_subset_with_the_same_area((y, s) in sample()) {
        let (full, dropped) = (roc_curve(&y, &s, false).unwrap(), roc_curve(&y, &s, true).unwrap());
        prop_assert!(dropped.len() <= full.len());
        prop_assert!(dropped.thresholds.iter().all(|t| full.thresholds.contains(t)));
        prop_assert!((full.auc() - dropped.auc()).abs() < 1e-12);
    }
}
